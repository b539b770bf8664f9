//! Staying power at scale: one approval for a batch of 2,000 connectors runs
//! each connector in a child execution of a Distributed Map, so the parent's
//! history stays a few dozen events whatever the batch size, and every
//! connector ends with exactly one outcome on the change record.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::workflow::*;

/// The batch a large change-advisory board approves at once
/// (`KEYTURN_E2E_BATCH` tries another size).
fn batch() -> usize {
    std::env::var("KEYTURN_E2E_BATCH").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
}
/// Concurrent setup calls (secrets, vendor keys, audit reads).
const SETUP_TASKS: usize = 8;
/// Only a hang fails the test, never a slow machine.
const BATCH_PATIENCE: Duration = Duration::from_secs(3 * 3600);

/// Runs `work` over `items` in a few concurrent tasks; results in item order.
async fn in_parallel<T, R, F, Fut>(items: Vec<T>, work: F) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = R> + Send,
{
    let chunk = items.len().div_ceil(SETUP_TASKS).max(1);
    let mut chunks = Vec::new();
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        chunks.push(items.by_ref().take(chunk).collect::<Vec<T>>());
    }
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|c| {
            let work = work.clone();
            tokio::spawn(async move {
                let mut out = Vec::with_capacity(c.len());
                for item in c {
                    out.push(work(item).await);
                }
                out
            })
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.extend(h.await.unwrap());
    }
    out
}

/// Keys per Atlassian organization: a large company has many orgs with a
/// few API keys each (every rotation lists its org's keys to find leftovers).
const KEYS_PER_ORG: usize = 10;

/// Imports `n` generic-http connectors over `n / KEYS_PER_ORG` orgs,
/// each with a live key at the vendor simulator and in Secrets Manager.
async fn import_batch(f: &Flow, n: usize) -> Vec<String> {
    let org_of = {
        let p = f.stack.prefix.trim_end_matches('-').to_owned();
        move |name: &str| format!("org-{p}-{}", name[1..].parse::<usize>().unwrap_or(0) / KEYS_PER_ORG)
    };
    let sm = aws_sdk_secretsmanager::Client::new(&f.stack.sdk().await);
    let names: Vec<String> = (0..n).map(|i| format!("k{i:05}")).collect();
    let ids = f.ids.clone();
    let arns = in_parallel(names.clone(), {
        let (org_of, sm, ids) = (org_of.clone(), sm.clone(), ids.clone());
        move |name: String| {
            let (org, sm, ids) = (org_of(&name), sm.clone(), ids.clone());
            async move {
                let key = canary(&name);
                let path = format!("/_sim/atlassian/orgs/{org}/keys/k-{name}");
                vendor(Method::PUT, &path, Some(json!({"key": key}))).await;
                let value = json!({"key": key, "key_id": format!("k-{name}")}).to_string();
                let out = sm.create_secret().name(format!("{ids}/{name}")).secret_string(value).send().await.unwrap();
                out.arn().unwrap().to_owned()
            }
        }
    })
    .await;
    let expires = in_days(20);
    // Keys keyturn makes itself (generic-http through the simulator's key
    // API): a batch of 2,000 needs no hand-over per key.
    let template = crate::workflow::key_template().to_string();
    let records: Vec<serde_json::Value> = names
        .iter()
        .zip(&arns)
        .map(|(name, arn)| {
            json!({"id": f.id(name), "kind": "generic-http", "org": org_of(name), "idp": "none",
                   "owner": "owner@e2e.example", "approver_group": "e2e-one", "secret_arn": arn,
                   "expires_at": expires, "http_template": template})
        })
        .collect();
    let file = f.stack.file("batch.json", &serde_json::Value::Array(records).to_string());
    f.stack.ok(&["inventory", "import", &file]);
    names
}

async fn history_len(sfn: &aws_sdk_sfn::Client, change: &str) -> usize {
    let mut pages = sfn.get_execution_history().execution_arn(execution_arn(change)).into_paginator().send();
    let mut n = 0;
    while let Some(page) = pages.next().await {
        n += page.unwrap().events().len();
    }
    n
}

// Minutes of work for the local stack: `make test` runs it on its own, after
// the other tests, so it neither slows them nor is slowed by them.
#[ignore = "the 2,000-connector batch: make test runs it alone (cargo test --test e2e -- --ignored scale::)"]
#[tokio::test(flavor = "multi_thread")]
async fn a_change_of_two_thousand_connectors_runs_one_child_each_and_keeps_the_parent_small() {
    let f = Flow::new("scale");
    let batch = batch();
    let setup = Instant::now();
    let names = import_batch(&f, batch).await;
    let setup = setup.elapsed();

    let start = Instant::now();
    // One change for the whole batch across orgs: the CAB's change window grouping.
    let change = f.scan_one(&[("KEYTURN_GROUPING", "window")]);
    let scanned = start.elapsed();
    f.approve(&change).await;
    let approved = start.elapsed();
    let sfn = f.sfn().await;
    let arn = execution_arn(&change);
    let status = loop {
        let d = sfn.describe_execution().execution_arn(&arn).send().await.unwrap();
        if d.status().as_str() != "RUNNING" {
            break d.status().as_str().to_owned();
        }
        assert!(start.elapsed() < BATCH_PATIENCE, "{change} still running after {BATCH_PATIENCE:?}");
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let wall = start.elapsed();
    assert_eq!(status, "SUCCEEDED", "{}", history_text(&sfn, &change).await.chars().take(4000).collect::<String>());

    // Every connector: exactly one outcome, rotated.
    let outcomes = outcomes(&sfn, &change).await;
    assert_eq!(outcomes.len(), batch, "one outcome per connector");
    let ids: BTreeSet<&str> = outcomes.iter().filter_map(|o| o["connector_id"].as_str()).collect();
    assert_eq!(ids.len(), batch, "no connector counted twice");
    assert!(ids.iter().all(|id| id.starts_with(f.ids.as_str())), "only this change's connectors");
    let not_rotated: Vec<&Value> = outcomes.iter().filter(|o| o["outcome"] != "rotated").collect();
    assert!(not_rotated.is_empty(), "{} did not rotate, e.g. {:?}", not_rotated.len(), not_rotated.first());

    // The parent's history does not grow with the batch.
    let parent_events = history_len(&sfn, &change).await;
    assert!(parent_events <= 60, "parent history: {parent_events} events for {batch} connectors");
    let runs = sfn.list_map_runs().execution_arn(&arn).send().await.unwrap();
    assert_eq!(runs.map_runs().len(), 1, "one map run");
    let run = sfn.describe_map_run().map_run_arn(runs.map_runs()[0].map_run_arn()).send().await.unwrap();
    let counts = run.execution_counts().unwrap();
    assert_eq!((counts.total(), counts.succeeded()), (batch as i64, batch as i64), "one child per connector");
    assert_eq!(run.max_concurrency(), 10, "bounded concurrency");
    let child_events = sim("/_sim/map-runs").await[runs.map_runs()[0].map_run_arn()]["child_events"].as_u64();

    // And the trail agrees: each connector finalized once, notified once.
    let log = keyturn_aws::DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(&f.stack.sdk().await), "keyturn-audit");
    let ids = f.ids.clone();
    let counts = in_parallel(names, move |name: String| {
        let (log, id) = (log.clone(), format!("{ids}/{name}"));
        async move {
            let chain = log.chain(&keyturn_domain::ConnectorId::parse(&id).unwrap()).await.unwrap();
            let n = |kind: &str| chain.iter().filter(|e| e.event == kind).count();
            (name, n("finalized"), n("notified"))
        }
    })
    .await;
    let wrong: Vec<_> = counts.iter().filter(|(_, fin, not)| (*fin, *not) != (1, 1)).collect();
    assert!(
        wrong.is_empty(),
        "{} connectors without exactly one finalized+notified, e.g. {:?}",
        wrong.len(),
        wrong.first()
    );

    eprintln!(
        "scale: {batch} connectors in one change: parent history {parent_events} events; child executions \
         {batch} with {} history events in all ({:.1} per child); setup {:.0} s; scan {:.0} s, approved at {:.0} s, all rotated and notified at {:.0} s",
        child_events.map_or("?".into(), |n| n.to_string()),
        child_events.map_or(f64::NAN, |n| n as f64 / batch as f64),
        setup.as_secs_f64(),
        scanned.as_secs_f64(),
        approved.as_secs_f64(),
        wall.as_secs_f64(),
    );
}
