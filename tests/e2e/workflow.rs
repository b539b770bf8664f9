//! Shared setup for tests that run the real workflow: the state machine on
//! moto calls the real function binaries under `cargo lambda watch`, which use
//! the default tables. So these tests share the default tables and keep apart
//! by connector id prefix (`keyturn scan --only`).

use std::process::Command;
use std::time::{Duration, Instant};

use keyturn_app::config::TableNames;
use keyturn_aws::DynamoAuditLog;
use keyturn_domain::{AuditEvent, ConnectorId};
use serde_json::Value;

use crate::harness::{Stack, STATE_MACHINE_ARN};

/// The simulators (`KEYTURN_SIM_URL`, exported by the Makefile).
pub fn sim_url() -> String {
    std::env::var("KEYTURN_SIM_URL").unwrap_or_else(|_| "http://127.0.0.1:4567".into())
}

/// The approval-callback Function URL under `cargo lambda watch`.
pub fn callback() -> String {
    std::env::var("KEYTURN_APPROVAL_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:9000/lambda-url/approval-callback".into())
}
/// Long enough that only a hang fails a test, never a slow machine.
pub const PATIENCE: Duration = Duration::from_secs(240);

/// One workflow test's connectors in the shared default tables.
pub struct Flow {
    pub stack: Stack,
    /// Connector ids of this test start with it.
    pub ids: String,
}

impl Flow {
    pub fn new(test: &str) -> Self {
        let mut stack = Stack::new(test);
        stack.tables = TableNames::default();
        let ids = format!("e2e/{}", stack.prefix.trim_end_matches('-'));
        Self { stack, ids }
    }

    /// A connector id of this test.
    pub fn id(&self, name: &str) -> String {
        format!("{}/{name}", self.ids)
    }

    /// Imports connectors given as (name, group, owner, expires_at,
    /// change_window): `generic-http` keys keyturn makes itself through
    /// [`key_template`] (no owner hand-over), each with a live current key in
    /// Secrets Manager and at the vendor simulator, so approved changes rotate
    /// for real.
    pub async fn import(&self, rows: &[(&str, &str, &str, &str, &str)]) {
        let org = format!("org-{}", self.stack.prefix.trim_end_matches('-'));
        let mut records = Vec::new();
        for (name, group, owner, expires, window) in rows {
            let key = canary(name);
            let body = serde_json::json!({"key": key});
            vendor(reqwest::Method::PUT, &format!("/_sim/atlassian/orgs/{org}/keys/k-{name}"), Some(body)).await;
            let arn =
                self.secret(name, &serde_json::json!({"key": key, "key_id": format!("k-{name}")}).to_string()).await;
            let mut r = serde_json::json!({
                "id": self.id(name), "kind": "generic-http", "org": org, "idp": "none", "owner": owner,
                "approver_group": group, "secret_arn": arn, "expires_at": expires,
                "http_template": key_template().to_string(),
            });
            if !window.is_empty() {
                r["change_window"] = (*window).into();
            }
            records.push(r);
        }
        let file = self.stack.file("inventory.json", &Value::Array(records).to_string());
        self.stack.ok(&["inventory", "import", &file]);
    }

    /// Scans this test's connectors (real clock) with extra env; returns the report.
    pub fn scan(&self, env: &[(&str, &str)]) -> Value {
        let out = self.stack.keyturn_env(&["scan", "--only", &self.ids, "--format", "json"], env);
        assert!(out.status.success(), "scan failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Scans this test's connectors as if it were `now` (RFC 3339).
    pub fn scan_at(&self, env: &[(&str, &str)], now: &str) -> Value {
        let out = self.stack.keyturn_env(&["scan", "--only", &self.ids, "--now", now, "--format", "json"], env);
        assert!(out.status.success(), "scan at {now} failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The single change a scan started.
    pub fn scan_one(&self, env: &[(&str, &str)]) -> String {
        let report = self.scan(env);
        let changes = report["changes"].as_array().unwrap();
        assert_eq!(changes.len(), 1, "{report:#}");
        assert_eq!(changes[0]["outcome"], "started", "{report:#}");
        changes[0]["change_id"].as_str().unwrap().to_owned()
    }

    pub async fn audit(&self, name: &str) -> Vec<AuditEvent> {
        let log = DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(&self.stack.sdk().await), "keyturn-audit");
        log.chain(&ConnectorId::parse(&self.id(name)).unwrap()).await.unwrap()
    }

    pub async fn events(&self, name: &str) -> Vec<String> {
        self.audit(name).await.into_iter().map(|e| e.event).collect()
    }

    pub async fn sfn(&self) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::new(&self.stack.sdk().await)
    }

    pub async fn change_item(
        &self,
        change: &str,
    ) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
        let ddb = aws_sdk_dynamodb::Client::new(&self.stack.sdk().await);
        let out = ddb
            .get_item()
            .table_name("keyturn-changes")
            .key("change_id", aws_sdk_dynamodb::types::AttributeValue::S(change.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        out.item.unwrap_or_default()
    }
}

/// A vendor's key API as data: the simulator's generic key API
/// (`/generic/v1/orgs/{org}/…`, docs/rotation.md's template example) as a
/// `generic-http` template. keyturn creates, probes and revokes keys through
/// it; the keys live with the org's keys at the simulator.
pub fn key_template() -> Value {
    serde_json::json!({
        "base": vendor_url(),
        "create": {"method": "POST", "path": "/generic/v1/orgs/{org}/keys", "body": {"name": "{label}"},
                   "key": "/data/secret", "key_id": "/data/id", "expires_at": "/data/expires"},
        "revoke": {"method": "DELETE", "path": "/generic/v1/orgs/{org}/keys/{key_id}"},
        "probe": {"method": "GET", "path": "/generic/v1/orgs/{org}/me"},
    })
}

pub fn execution_arn(change: &str) -> String {
    format!("{}:{change}", STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:"))
}

/// Waits until `check` returns Some, polling.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < PATIENCE, "gave up waiting for {what} after {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The execution's status once it is no longer RUNNING.
pub async fn finished(
    sfn: &aws_sdk_sfn::Client,
    change: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let arn = execution_arn(change);
    eventually(&format!("execution {change} to finish"), || async {
        let d = sfn.describe_execution().execution_arn(&arn).send().await.ok()?;
        (d.status().as_str() != "RUNNING").then_some(d)
    })
    .await
}

/// How many task-token callbacks (approvals, key hand-overs) the execution received.
pub async fn callbacks_received(sfn: &aws_sdk_sfn::Client, change: &str) -> usize {
    let history = sfn.get_execution_history().execution_arn(execution_arn(change)).send().await.unwrap();
    history
        .events()
        .iter()
        .filter_map(|e| e.task_succeeded_event_details())
        .filter(|d| d.resource() == "invoke.waitForTaskToken")
        .count()
}

/// Every input, output, parameter, error and cause in the execution's
/// history. (The SDK's `Debug` redacts them all, so grepping `{:?}` of the
/// history would find nothing.)
pub async fn history_text(sfn: &aws_sdk_sfn::Client, change: &str) -> String {
    let history =
        sfn.get_execution_history().execution_arn(execution_arn(change)).max_results(1000).send().await.unwrap();
    let mut out = String::new();
    for e in history.events() {
        let fields: [Option<&str>; 2] = if let Some(d) = e.execution_started_event_details() {
            [d.input(), None]
        } else if let Some(d) = e.execution_succeeded_event_details() {
            [d.output(), None]
        } else if let Some(d) = e.execution_failed_event_details() {
            [d.error(), d.cause()]
        } else if let Some(d) = e.state_entered_event_details() {
            [d.input(), None]
        } else if let Some(d) = e.state_exited_event_details() {
            [d.output(), None]
        } else if let Some(d) = e.task_scheduled_event_details() {
            [Some(d.parameters()), None]
        } else if let Some(d) = e.task_succeeded_event_details() {
            [d.output(), None]
        } else if let Some(d) = e.task_failed_event_details() {
            [d.error(), d.cause()]
        } else if let Some(d) = e.task_timed_out_event_details() {
            [d.error(), d.cause()]
        } else if let Some(d) = e.lambda_function_scheduled_event_details() {
            [d.input(), None]
        } else if let Some(d) = e.lambda_function_succeeded_event_details() {
            [d.output(), None]
        } else if let Some(d) = e.lambda_function_failed_event_details() {
            [d.error(), d.cause()]
        } else {
            [None, None]
        };
        out.push_str(&format!("{:?} ", e.r#type()));
        for f in fields.into_iter().flatten() {
            out.push_str(f);
            out.push('\n');
        }
    }
    out
}

/// Names of the states the execution entered, in order.
pub async fn states_entered(sfn: &aws_sdk_sfn::Client, change: &str) -> Vec<String> {
    let history =
        sfn.get_execution_history().execution_arn(execution_arn(change)).max_results(1000).send().await.unwrap();
    history.events().iter().filter_map(|e| e.state_entered_event_details().map(|d| d.name().to_owned())).collect()
}

pub async fn sim(path: &str) -> Value {
    // Email and map runs are captured next to moto (they read moto's
    // memory); Slack and Jira live in the Rust simulator with the vendors.
    let base = if matches!(path, "/_sim/ses" | "/_sim/map-runs") { sim_url() } else { vendor_url() };
    reqwest::get(format!("{base}{path}")).await.unwrap().json().await.unwrap()
}

/// Waits until `n` `.waitForTaskToken` tasks of the execution were submitted
/// (their Lambda returned). On this stack a `SendTaskSuccess` that arrived
/// while that Lambda was still running was acknowledged but never resumed the
/// execution (seen under load; a bare moto reproduction did not lose it, so
/// the cause is not pinned down). AWS accepts it. A person never clicks that
/// fast; a test does, so tests answer once the workflow is waiting.
pub async fn paused(change: &str, n: usize) {
    let sfn = aws_sdk_sfn::Client::new(&crate::harness::sdk_config().await);
    let arn = execution_arn(change);
    eventually(&format!("{change} to wait on its task token"), || async {
        let h = sfn.get_execution_history().execution_arn(&arn).max_results(1000).send().await.ok()?;
        let submitted = h
            .events()
            .iter()
            .filter(|e| e.r#type().as_str() == "TaskSubmitted")
            .filter(|e| e.task_submitted_event_details().is_some_and(|d| d.resource() == "invoke.waitForTaskToken"))
            .count();
        // Key hand-overs wait in the connectors' child executions.
        let runs = sfn.list_map_runs().execution_arn(&arn).send().await.ok()?;
        let captured = if runs.map_runs().is_empty() { Value::Null } else { sim("/_sim/map-runs").await };
        let in_children: u64 =
            runs.map_runs().iter().filter_map(|r| captured[r.map_run_arn()]["child_waits_submitted"].as_u64()).sum();
        (submitted + in_children as usize >= n).then_some(())
    })
    .await
}

/// The approval email(s) for `change`, once request-approval sent them (and
/// the workflow is waiting for the answer): (to, body).
pub async fn emails_for(change: &str, expected: usize) -> Vec<(String, String)> {
    paused(change, 1).await;
    eventually(&format!("{expected} email(s) about {change}"), || async {
        let all = sim("/_sim/ses").await;
        let found: Vec<(String, String)> = all
            .as_array()?
            .iter()
            .filter(|m| m["subject"].as_str().is_some_and(|s| s.contains(change)))
            .map(|m| {
                (
                    m["destinations"]["ToAddresses"][0].as_str().unwrap_or("").to_owned(),
                    m["body"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        (found.len() >= expected).then_some(found)
    })
    .await
}

/// The approve / reject link in an approval email body.
pub fn link(body: &str, decision: &str) -> String {
    let links: Vec<String> = body
        .split("href=\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .map(|l| l.replace("&amp;", "&"))
        .filter(|l| l.starts_with(&callback()))
        .collect();
    assert_eq!(links.len(), 2, "an approval email holds one approve and one reject link");
    links[if decision == "approve" { 0 } else { 1 }].clone()
}

pub fn token(link: &str) -> String {
    link.split("t=").nth(1).unwrap().to_owned()
}

/// POSTs the form the confirmation page's button sends: (status, body).
pub async fn post(token: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(callback())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("t={token}&decision=x"))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

pub async fn get(link: &str) -> (u16, String) {
    let resp = reqwest::get(link).await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Opens `url` in headless Chromium (tests/browser/approve.mjs) and clicks.
pub fn browser(url: &str, click: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/browser/approve.mjs");
    let out = Command::new("node").args([script, "--url", url, "--click", click]).output().expect("run node");
    assert!(out.status.success(), "browser failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A date `d` days from today, as inventories write it.
pub fn in_days(d: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::days(d);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// The vendor simulators (`KEYTURN_DEV_VENDOR_URL`).
pub fn vendor_url() -> String {
    std::env::var("KEYTURN_DEV_VENDOR_URL").unwrap_or_else(|_| "http://127.0.0.1:4568".into())
}

pub async fn vendor(method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", vendor_url()));
    if path.starts_with("/graph/") {
        req = req.bearer_auth("sim-graph-token");
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A fault at the vendor simulator for the next `times` matching requests.
pub async fn fault(path_prefix: &str, kind: &str, status: u16, times: u32, retry_after: Option<u64>) {
    let mut f = serde_json::json!({"path_prefix": path_prefix, "kind": kind, "status": status, "times": times});
    if let Some(r) = retry_after {
        f["retry_after"] = r.into();
    }
    vendor(reqwest::Method::POST, "/_sim/faults", Some(f)).await;
}

/// A key value nobody could mistake for anything else, to grep for.
pub fn canary(tag: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("canary-{tag}-{nanos:x}-do-not-log")
}

pub fn sha(v: &str) -> String {
    keyturn_domain::fingerprint(v.as_bytes())
}

impl Flow {
    /// Creates the connector's secret with `value` as its current key; returns its ARN.
    pub async fn secret(&self, name: &str, value: &str) -> String {
        let sm = aws_sdk_secretsmanager::Client::new(&self.stack.sdk().await);
        let out = sm.create_secret().name(format!("{}/{name}", self.ids)).secret_string(value).send().await.unwrap();
        out.arn().unwrap().to_owned()
    }

    /// Imports one connector row with full control over its fields.
    pub fn import_row(&self, row: &str) {
        let csv = format!(
            "id,kind,org,directory_id,idp,idp_app_id,idp_job_id,owner,approver_group,change_window,secret_arn,expires_at\n{row}\n"
        );
        let file = self.stack.file("rows.csv", &csv);
        self.stack.ok(&["inventory", "import", &file]);
    }

    /// Approves the single change through Ana's approve link.
    pub async fn approve(&self, change: &str) {
        let mails = emails_for(change, 1).await;
        let (_, body) = mails.iter().find(|(t, _)| t == "ana@e2e.example").unwrap();
        let (code, page) = post(&token(&link(body, "approve"))).await;
        assert_eq!(code, 200, "{page}");
    }

    /// The secret's value at a staging label.
    pub async fn secret_at(&self, arn: &str, stage: &str) -> Option<String> {
        let sm = aws_sdk_secretsmanager::Client::new(&self.stack.sdk().await);
        let out = sm.get_secret_value().secret_id(arn).version_stage(stage).send().await.ok()?;
        out.secret_string().map(str::to_owned)
    }

    pub async fn versions(&self, arn: &str) -> Vec<(String, Vec<String>)> {
        let sm = aws_sdk_secretsmanager::Client::new(&self.stack.sdk().await);
        let out = sm.list_secret_version_ids().secret_id(arn).send().await.unwrap();
        out.versions().iter().map(|v| (v.version_id().unwrap_or("").to_owned(), v.version_stages().to_vec())).collect()
    }

    pub async fn connector_field(&self, name: &str, field: &str) -> Option<String> {
        let ddb = aws_sdk_dynamodb::Client::new(&self.stack.sdk().await);
        let item = ddb
            .get_item()
            .table_name("keyturn-connectors")
            .key("connector_id", aws_sdk_dynamodb::types::AttributeValue::S(self.id(name)))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item?;
        item.get(field).and_then(|v| v.as_s().ok()).cloned()
    }
}

/// The failure events of the execution's child executions (one per
/// connector, Distributed Map), as the local stack recorded them.
pub async fn child_failures(sfn: &aws_sdk_sfn::Client, change: &str) -> Vec<Value> {
    let runs = sfn.list_map_runs().execution_arn(execution_arn(change)).send().await.unwrap();
    let all = sim("/_sim/map-runs").await;
    runs.map_runs()
        .iter()
        .flat_map(|r| all[r.map_run_arn()]["child_failures"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// Each connector's outcome as finalize/rollback recorded it on the change
/// (the workflow state carries only the outcome words).
pub async fn outcomes(_sfn: &aws_sdk_sfn::Client, change: &str) -> Vec<Value> {
    use keyturn_app::ports::Approvals;
    let store = keyturn_aws::DynamoChangeStore::new(
        aws_sdk_dynamodb::Client::new(&crate::harness::sdk_config().await),
        "keyturn-changes",
    );
    let id = keyturn_domain::ChangeId::from_trusted(change);
    let record = store.get(&id).await.unwrap().unwrap_or_else(|| panic!("no change record for {change}"));
    record.outcomes.iter().map(|o| serde_json::to_value(o).unwrap()).collect()
}

/// Everything keyturn wrote or said about `change`, as text: execution
/// history, audit items, captured email/Slack/Jira, function logs.
/// None of `keys` (planted canaries) appears anywhere [`every_output`] looks
/// for the connector `k1` of `change`.
pub async fn assert_never_leaked(f: &Flow, change: &str, keys: &[&str]) {
    let everything = every_output(f, change, &["k1"]).await;
    for (i, key) in keys.iter().enumerate() {
        // The message names the key by position: printing it would leak it.
        assert!(!everything.contains(key), "key #{i} leaked into logs, history, audit items or messages");
    }
}

pub async fn every_output(f: &Flow, change: &str, names: &[&str]) -> String {
    let sfn = f.sfn().await;
    let mut all = history_text(&sfn, change).await;
    assert!(all.contains(&format!("\"{change}\"")), "the history's inputs and outputs are in the text searched");
    // The connectors' steps ran in child executions, whose histories are their own.
    let runs = sfn.list_map_runs().execution_arn(execution_arn(change)).send().await.unwrap();
    let captured = sim("/_sim/map-runs").await;
    for r in runs.map_runs() {
        let text = captured[r.map_run_arn()]["child_history"].as_str().unwrap_or_default();
        assert!(text.contains("connector_id"), "the child executions' inputs and outputs are in the text searched");
        all.push_str(text);
    }
    for name in names {
        all.push_str(&format!("{:?}", f.audit(name).await));
    }
    for path in ["/_sim/ses", "/_sim/slack", "/_sim/jira"] {
        all.push_str(&sim(path).await.to_string());
    }
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/");
    for log in ["functions.log", "moto.log", "vendors.log", "scim.log"] {
        all.push_str(&std::fs::read_to_string(format!("{root}{log}")).unwrap_or_default());
    }
    all
}
