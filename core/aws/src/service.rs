//! Services wired to AWS: what a Lambda main (or the CLI) builds once.

use time::OffsetDateTime;

use crate::{sdk_config, DynamoAuditLog, DynamoChangeStore, DynamoInventory, SfnWorkflow};
use keyturn_app::adapters::Adapters;
use keyturn_app::config::{Config, ConfigError};
use keyturn_app::ports::StoreError;
use keyturn_app::scanner::{self, ScanReport, ScanSettings};

/// How long a scan may hold the scan lock before another may take it (a
/// scan that died leaves it behind this long at most).
const SCAN_LOCK_HOLD: time::Duration = time::Duration::minutes(10);

/// The scanner with its adapters, built once per Lambda sandbox.
pub struct Scanner {
    a: AwsAdapters,
    settings: ScanSettings,
    watch: keyturn_app::watch::WatchSettings,
    keys: keyturn_app::watch::KeySchedule,
}

/// Why a scan could not run at all (a per-change failure is in the report instead).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("KEYTURN_STATE_MACHINE_ARN is not set; it is needed to start workflows (a dry run does without)")]
    NoStateMachine,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Scanner {
    /// Restricts scans to connectors whose id starts with `prefix`.
    pub fn only(mut self, prefix: Option<String>) -> Self {
        self.settings.only = prefix;
        self
    }

    pub fn new(sdk: &aws_config::SdkConfig, cfg: &Config) -> Self {
        Self {
            a: AwsAdapters::new(sdk, cfg),
            settings: ScanSettings::from(cfg),
            watch: keyturn_app::watch::WatchSettings::from(cfg),
            keys: keyturn_app::watch::KeySchedule::from(cfg),
        }
    }

    /// For the Lambda: every configuration problem at once, state machine required.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let cfg = Config::from_env()?;
        if cfg.state_machine_arn.is_none() {
            return Err(ConfigError { problems: vec!["KEYTURN_STATE_MACHINE_ARN: required by the scanner".into()] });
        }
        Ok(Self::new(&sdk_config().await, &cfg))
    }

    /// One scan at `now`: writes audit events and starts workflows.
    /// Scans of one scope (all, or one `--only` prefix) are serialised by a
    /// lock item; a scan that finds another one running does nothing and
    /// says so (`busy`).
    pub async fn scan(&self, now: OffsetDateTime) -> Result<ScanReport, ScanError> {
        if self.a.workflow.is_none() {
            return Err(ScanError::NoStateMachine);
        }
        let scope = self.settings.only.clone().unwrap_or_else(|| "*".into());
        let Some(token) = self.a.changes.lock_scan(&scope, SCAN_LOCK_HOLD).await? else {
            return Ok(ScanReport::busy(now));
        };
        let result = async {
            // Read once: the scanner checks approver groups against it and
            // the watch sends reminders, alerts and digests through it.
            let routing = keyturn_app::ports::RoutingSource::routing(&self.a.routing).await;
            let (routed, routing_error) = routed(&routing);
            let (plan, mut report) = scanner::run(&self.a, &self.settings, &routed, now).await?;
            report.errors.extend(routing_error);
            let full = self.settings.only.is_none();
            let watched =
                Box::pin(keyturn_app::watch::watch(&self.a, &routing, &self.watch, &plan, &report, full)).await;
            report.errors.extend(watched.errors.iter().cloned());
            report.watch = watched;
            Ok(report)
        }
        .await;
        if let Err(e) = self.a.changes.unlock_scan(&scope, &token).await {
            // It expires on its own after SCAN_LOCK_HOLD.
            tracing::warn!(error = %e, "scan lock not released");
        }
        result
    }

    /// The daily run: a scan, then the signed digests of every finished day
    /// not yet anchored, then keyturn's own signing keys rotated when due
    /// (after the digests, so a retired key's last digest predates its
    /// retirement). A digest or key failure is reported with the scan's
    /// other errors; it never holds up a rotation. (`keyturn scan` scans
    /// only, so rehearsing a future date cannot anchor days that have not
    /// happened, nor rotate keys early.)
    pub async fn scan_and_anchor(&self, now: OffsetDateTime) -> Result<ScanReport, ScanError> {
        let mut report = self.scan(now).await?;
        match keyturn_app::audit::anchor::anchor(&self.a.audit, &self.a.audit_key, now).await {
            Ok(a) => report.anchored = a,
            Err(e) => report.errors.push(format!("audit digest: {e}")),
        }
        let keys = self.rotate_due_keys(now).await;
        report.errors.extend(keys.errors.iter().map(|e| format!("signing key: {e}")));
        report.signing_keys = keys;
        Ok(report)
    }

    /// Rotates the signing keys that are due, under a lock of their own: two
    /// runs rotating the link key at once would push out the previous key
    /// while its links are still live. Another run holding it does this.
    async fn rotate_due_keys(&self, now: OffsetDateTime) -> keyturn_app::watch::KeyRotationReport {
        const SCOPE: &str = "#signing-keys";
        let token = match self.a.changes.lock_scan(SCOPE, SCAN_LOCK_HOLD).await {
            Ok(Some(t)) => t,
            Ok(None) => return keyturn_app::watch::KeyRotationReport::default(),
            Err(e) => {
                return keyturn_app::watch::KeyRotationReport {
                    errors: vec![format!("lock: {e}")],
                    ..Default::default()
                }
            }
        };
        let report =
            keyturn_app::watch::rotate_due_keys(&self.a.keys, &self.a.audit_key, &self.a.audit, &self.keys, now).await;
        if let Err(e) = self.a.changes.unlock_scan(SCOPE, &token).await {
            tracing::warn!(error = %e, "signing-key lock not released");
        }
        report
    }

    /// What a scan at `now` would do; writes nothing.
    pub async fn dry_run(&self, now: OffsetDateTime) -> Result<ScanReport, ScanError> {
        let (routed, routing_error) = routed(&keyturn_app::ports::RoutingSource::routing(&self.a.routing).await);
        let mut plan = scanner::plan(&self.a.inventory, &self.settings, now).await?;
        plan.keep_routed(&routed);
        let mut report = scanner::dry_run_report(&plan);
        report.errors.extend(routing_error);
        Ok(report)
    }
}

/// The approver groups the routing names, or why they are unknown.
fn routed(routing: &Result<keyturn_app::approval::Routing, StoreError>) -> (scanner::Routed, Option<String>) {
    match routing {
        Ok(r) => (scanner::Routed::Groups(r.groups.keys().cloned().collect()), None),
        Err(e) => {
            tracing::warn!(error = %e, "approver routing unreadable; approver groups not checked");
            (scanner::Routed::Unknown, Some(format!("routing (approver groups not checked): {e}")))
        }
    }
}

// ---- approval -----------------------------------------------------------------

use crate::{SecretsRouting, SecretsSigningKeys, SesMailer, SfnTasks};
use keyturn_app::approval::callback::{self, CallbackError, Method, Page};
use keyturn_app::approval::request::{self, RequestError, RequestInput, RequestReport, RequestSettings};
use keyturn_app::lazy::Lazy;
use keyturn_vendors::{Jira, JiraAuth, SlackChat};

/// Reads a JSON secret of keyturn's own credentials.
async fn json_secret(sdk: &aws_config::SdkConfig, var: &str, id: &str) -> Result<serde_json::Value, ConfigError> {
    let problem = |m: String| ConfigError { problems: vec![format!("{var}={id}: {m}")] };
    let out = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| problem(crate::store_error("secretsmanager", "GetSecretValue", e).message))?;
    serde_json::from_str(out.secret_string().unwrap_or_default()).map_err(|_| problem("not JSON".into()))
}

fn field(v: &serde_json::Value, var: &str, k: &str) -> Result<String, ConfigError> {
    v.get(k)
        .and_then(|x| x.as_str())
        .map(str::to_owned)
        .ok_or_else(|| ConfigError { problems: vec![format!("{var}: the secret has no {k:?}")] })
}

/// Every adapter, wired to AWS and the vendors: the one bundle each Lambda
/// builds once at init. Clients are built here without network calls;
/// keyturn's own vendor credentials (Jira, Entra, Okta) are read from their
/// secrets on first use ([`Lazy`]), never at init.
pub struct AwsAdapters {
    inventory: DynamoInventory,
    changes: DynamoChangeStore,
    audit: DynamoAuditLog,
    /// `None` when no state machine is configured (the CLI's dry runs).
    workflow: Option<SfnWorkflow>,
    tasks: SfnTasks,
    secrets: SecretsStore,
    keys: SecretsSigningKeys,
    routing: SecretsRouting,
    audit_key: crate::SecretsAuditKey,
    /// `None` when no sender is configured: email fails, other channels go on.
    mailer: Option<SesMailer>,
    chat: SlackChat,
    jira: Option<Lazy<Jira>>,
    vendor: HttpVendor,
    consumer: HttpConsumer,
    own: keyturn_vendors::HttpOwnCredentials,
    key_ages: crate::SecretsKeyAges,
}

impl AwsAdapters {
    pub fn new(sdk: &aws_config::SdkConfig, cfg: &Config) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        let sm = aws_sdk_secretsmanager::Client::new(sdk);
        let sfn = aws_sdk_sfn::Client::new(sdk);
        let http = keyturn_vendors::client();
        let atlassian = Atlassian::new(http.clone(), &cfg.vendors.atlassian_url);
        // One Graph client (and token) for the identity provider and the app secrets.
        let entra = entra_from(sdk, cfg, &http).map(std::sync::Arc::new);
        let okta = okta_from(sdk, cfg, &http).map(std::sync::Arc::new);
        Self {
            inventory: DynamoInventory::new(dynamodb.clone(), &cfg.tables.connectors),
            changes: DynamoChangeStore::new(dynamodb.clone(), &cfg.tables.changes),
            audit: DynamoAuditLog::new(dynamodb, &cfg.tables.audit),
            workflow: cfg.state_machine_arn.as_ref().map(|arn| SfnWorkflow::new(sfn.clone(), arn)),
            tasks: SfnTasks::new(sfn),
            secrets: SecretsStore::new(sm.clone()),
            keys: SecretsSigningKeys::new(sm.clone(), &cfg.approval.signing_key_secret),
            routing: SecretsRouting::new(sm.clone(), &cfg.approval.routing_secret),
            audit_key: crate::SecretsAuditKey::new(sm.clone(), &cfg.audit_key_secret),
            key_ages: crate::SecretsKeyAges::new(
                SecretsSigningKeys::new(sm.clone(), &cfg.approval.signing_key_secret),
                crate::SecretsAuditKey::new(sm, &cfg.audit_key_secret),
                keyturn_app::watch::KeySchedule::from(cfg),
            ),
            mailer: cfg.approval.email_from.clone().map(|from| SesMailer::new(aws_sdk_sesv2::Client::new(sdk), from)),
            chat: SlackChat::new(http.clone()),
            jira: jira_from(sdk, cfg),
            vendor: HttpVendor {
                atlassian: atlassian.clone(),
                http: http.clone(),
                entra: entra.clone(),
                okta: okta.clone(),
                app_secrets: keyturn_vendors::AppSecretPolicy {
                    lifetime: cfg.vendors.app_secret_lifetime,
                    propagation: std::time::Duration::from_secs(
                        u64::try_from(cfg.vendors.app_secret_propagation.whole_seconds()).unwrap_or(0),
                    ),
                },
            },
            consumer: HttpConsumer { atlassian, entra: entra.clone(), okta: okta.clone() },
            own: keyturn_vendors::HttpOwnCredentials { entra, okta },
        }
    }
}

impl Adapters for AwsAdapters {
    type Inventory = DynamoInventory;
    type Connectors = DynamoInventory;
    type States = DynamoInventory;
    type Changes = DynamoChangeStore;
    type Approvals = DynamoChangeStore;
    type Outcomes = DynamoChangeStore;
    type Notices = DynamoChangeStore;
    type Intake = DynamoChangeStore;
    type Audit = DynamoAuditLog;
    type Digests = DynamoAuditLog;
    type AuditKeys = crate::SecretsAuditKey;
    type Workflow = Option<SfnWorkflow>;
    type Tasks = SfnTasks;
    type Secrets = SecretsStore;
    type Vendor = HttpVendor;
    type Consumer = HttpConsumer;
    type SigningKeys = SecretsSigningKeys;
    type Routing = SecretsRouting;
    type Mailer = Option<SesMailer>;
    type Chat = SlackChat;
    type Tickets = Lazy<Jira>;
    type Own = keyturn_vendors::HttpOwnCredentials;
    type KeyAges = crate::SecretsKeyAges;

    fn inventory(&self) -> &DynamoInventory {
        &self.inventory
    }
    fn connectors(&self) -> &DynamoInventory {
        &self.inventory
    }
    fn states(&self) -> &DynamoInventory {
        &self.inventory
    }
    fn changes(&self) -> &DynamoChangeStore {
        &self.changes
    }
    fn approvals(&self) -> &DynamoChangeStore {
        &self.changes
    }
    fn outcomes(&self) -> &DynamoChangeStore {
        &self.changes
    }
    fn notices(&self) -> &DynamoChangeStore {
        &self.changes
    }
    fn intake(&self) -> &DynamoChangeStore {
        &self.changes
    }
    fn audit(&self) -> &DynamoAuditLog {
        &self.audit
    }
    fn digests(&self) -> &DynamoAuditLog {
        &self.audit
    }
    fn audit_keys(&self) -> &crate::SecretsAuditKey {
        &self.audit_key
    }
    fn workflow(&self) -> &Option<SfnWorkflow> {
        &self.workflow
    }
    fn tasks(&self) -> &SfnTasks {
        &self.tasks
    }
    fn secrets(&self) -> &SecretsStore {
        &self.secrets
    }
    fn vendor(&self) -> &HttpVendor {
        &self.vendor
    }
    fn consumer(&self) -> &HttpConsumer {
        &self.consumer
    }
    fn keys(&self) -> &SecretsSigningKeys {
        &self.keys
    }
    fn routing(&self) -> &SecretsRouting {
        &self.routing
    }
    fn mailer(&self) -> &Option<SesMailer> {
        &self.mailer
    }
    fn chat(&self) -> &SlackChat {
        &self.chat
    }
    fn tickets(&self) -> Option<&Lazy<Jira>> {
        self.jira.as_ref()
    }
    fn own(&self) -> &keyturn_vendors::HttpOwnCredentials {
        &self.own
    }
    fn key_ages(&self) -> &crate::SecretsKeyAges {
        &self.key_ages
    }
}

/// keyturn's own Graph client from `KEYTURN_ENTRA_SECRET`
/// (`{tenant_id, client_id, client_secret}`); the CLI's discovery uses it too.
pub async fn own_entra(
    sdk: &aws_config::SdkConfig,
    vendors: &keyturn_app::config::VendorConfig,
    http: reqwest::Client,
    id: &str,
) -> Result<Entra, String> {
    let v = json_secret(sdk, "KEYTURN_ENTRA_SECRET", id).await.map_err(|e| e.to_string())?;
    let f = |k: &str| field(&v, "KEYTURN_ENTRA_SECRET", k).map_err(|e| e.to_string());
    let creds = EntraCredentials {
        tenant_id: f("tenant_id")?,
        client_id: f("client_id")?,
        client_secret: keyturn_domain::SecretValue::new(f("client_secret")?),
    };
    Ok(Entra::new(http, &vendors.entra_login_url, &vendors.graph_url, creds))
}

/// keyturn's own Okta client from `KEYTURN_OKTA_SECRET` (`{domain, api_token}`).
pub async fn own_okta(sdk: &aws_config::SdkConfig, http: reqwest::Client, id: &str) -> Result<Okta, String> {
    let v = json_secret(sdk, "KEYTURN_OKTA_SECRET", id).await.map_err(|e| e.to_string())?;
    let f = |k: &str| field(&v, "KEYTURN_OKTA_SECRET", k).map_err(|e| e.to_string());
    let token = keyturn_domain::SecretValue::new(f("api_token")?);
    let okta = Okta::new(http, &f("domain")?, token);
    // Optional: without it `keyturn status` cannot read the token's expiry.
    Ok(match v.get("api_token_id").and_then(|id| id.as_str()).filter(|id| !id.is_empty()) {
        Some(id) => okta.with_api_token_id(id),
        None => okta,
    })
}

/// keyturn's own Entra credentials, read on first use (never at init).
fn entra_from(sdk: &aws_config::SdkConfig, cfg: &Config, http: &reqwest::Client) -> Option<Lazy<Entra>> {
    cfg.vendors.entra_secret.clone().map(|id| {
        let (sdk, http, vendors) = (sdk.clone(), http.clone(), cfg.vendors.clone());
        Lazy::new(move || {
            let (sdk, http, vendors, id) = (sdk.clone(), http.clone(), vendors.clone(), id.clone());
            async move { own_entra(&sdk, &vendors, http, &id).await }
        })
    })
}

/// keyturn's own Okta API token, read on first use (never at init).
fn okta_from(sdk: &aws_config::SdkConfig, cfg: &Config, http: &reqwest::Client) -> Option<Lazy<Okta>> {
    cfg.vendors.okta_secret.clone().map(|id| {
        let (sdk, http) = (sdk.clone(), http.clone());
        Lazy::new(move || {
            let (sdk, http, id) = (sdk.clone(), http.clone(), id.clone());
            async move { own_okta(&sdk, http, &id).await }
        })
    })
}

/// Jira for urgent changes, when configured: credentials from their secret,
/// `{"user","token"}` or `{"bearer"}`.
/// Jira, if configured; its credentials are read on first use (see [`Lazy`]).
fn jira_from(sdk: &aws_config::SdkConfig, cfg: &Config) -> Option<Lazy<Jira>> {
    let jira = cfg.approval.jira.clone()?;
    let sdk = sdk.clone();
    Some(Lazy::new(move || {
        let (sdk, jira) = (sdk.clone(), jira.clone());
        async move {
            let secret = &jira.credentials_secret;
            let v = json_secret(&sdk, "KEYTURN_JIRA_SECRET", secret).await.map_err(|e| e.to_string())?;
            let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
            let auth = match (text("user"), text("token"), text("bearer")) {
                (Some(user), Some(token), _) => JiraAuth::Basic { user, token },
                (_, _, Some(b)) => JiraAuth::Bearer(b),
                _ => {
                    return Err(format!(
                        "KEYTURN_JIRA_SECRET={secret}: expected {{\"user\",\"token\"}} or {{\"bearer\"}}"
                    ))
                }
            };
            Ok(Jira::new(keyturn_vendors::client(), &jira.url, &jira.project, auth)
                .with_issue_shape(&jira.issue_type, &jira.labels))
        }
    }))
}

/// The `request-approval` step with its adapters.
pub struct ApprovalRequester {
    a: AwsAdapters,
    settings: RequestSettings,
}

impl ApprovalRequester {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let cfg = Config::from_env()?;
        let mut problems = Vec::new();
        if cfg.approval.url.is_none() {
            problems.push("KEYTURN_APPROVAL_URL: required by request-approval (the approval-callback URL)".to_owned());
        }
        if cfg.approval.email_from.is_none() {
            problems.push("KEYTURN_EMAIL_FROM: required by request-approval (a verified SES sender)".to_owned());
        }
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        let sdk = sdk_config().await;
        Ok(Self {
            a: AwsAdapters::new(&sdk, &cfg),
            settings: RequestSettings {
                approval_url: cfg.approval.url.unwrap_or_default(),
                default_timeout: cfg.approval.timeout,
                link_ttl: cfg.approval.link_ttl,
            },
        })
    }

    pub async fn request(&self, input: &RequestInput, now: OffsetDateTime) -> Result<RequestReport, RequestError> {
        request::request_approval(&self.a, &self.settings, input, now).await
    }
}

/// The `approval-callback` page with its adapters.
pub struct ApprovalCallback {
    a: AwsAdapters,
}

impl ApprovalCallback {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let cfg = Config::from_env()?;
        Ok(Self { a: AwsAdapters::new(&sdk_config().await, &cfg) })
    }

    /// `key`: the pasted key of an intake form's POST.
    pub async fn handle(
        &self,
        method: Method,
        token: Option<&str>,
        key: Option<&keyturn_domain::SecretValue>,
        now: OffsetDateTime,
    ) -> Result<Page, CallbackError> {
        callback::handle(&self.a, method, token, key, now).await
    }
}

/// The `notify` step with its adapters.
pub struct Notifier {
    a: AwsAdapters,
}

impl Notifier {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let cfg = Config::from_env()?;
        Ok(Self { a: AwsAdapters::new(&sdk_config().await, &cfg) })
    }

    pub async fn notify(
        &self,
        input: &keyturn_app::notify::NotifyInput,
        now: OffsetDateTime,
    ) -> Result<keyturn_app::notify::NotifyReport, StoreError> {
        keyturn_app::notify::notify(&self.a, input, now).await
    }
}

// ---- rotation -----------------------------------------------------------------

use crate::SecretsStore;
use keyturn_app::ports::OutcomeLog;
use keyturn_app::rotation::steps;
use keyturn_app::rotation::{Outcome, Rotation, RotationError, StepInput};
use keyturn_vendors::{Atlassian, Entra, EntraCredentials, HttpConsumer, HttpVendor, Okta};

/// The rotation steps with their adapters, built once per sandbox.
pub struct Rotator {
    a: AwsAdapters,
}

impl Rotator {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let cfg = Config::from_env()?;
        Ok(Self { a: AwsAdapters::new(&sdk_config().await, &cfg) })
    }

    pub async fn rotate(&self, input: &StepInput, now: OffsetDateTime) -> Result<Rotation, RotationError> {
        steps::rotate(&self.a, input, now).await
    }

    pub async fn verify(&self, input: &StepInput, now: OffsetDateTime) -> Result<serde_json::Value, RotationError> {
        steps::verify(&self.a, input, now).await
    }

    pub async fn finalize(&self, input: &StepInput, now: OffsetDateTime) -> Result<Outcome, RotationError> {
        steps::finalize(&self.a, input, now).await
    }

    pub async fn rollback(&self, input: &StepInput, now: OffsetDateTime) -> Result<Outcome, RotationError> {
        steps::rollback(&self.a, input, now).await
    }
}

/// Which rotation step a function runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Rotate,
    Verify,
    Finalize,
    Rollback,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Self::Rotate => "rotate",
            Self::Verify => "verify",
            Self::Finalize => "finalize",
            Self::Rollback => "rollback",
        }
    }
}

impl Rotator {
    /// Runs one step: its output as the state machine receives it, and what
    /// the step's vendor calls came to (for its metrics).
    pub async fn run(
        &self,
        step: Step,
        input: &StepInput,
        now: OffsetDateTime,
    ) -> (Result<serde_json::Value, RotationError>, keyturn_app::rotation::calls::CallStats) {
        // Every vendor call the step makes is noted for its audit events.
        // Each step's future is boxed: nested inline, their layouts overflow
        // rustc's query depth in the Lambda main (release builds).
        let (out, stats) = keyturn_app::rotation::calls::recorded(async {
            Ok::<_, RotationError>(match step {
                Step::Rotate => serde_json::to_value(Box::pin(self.rotate(input, now)).await?),
                Step::Verify => Ok(Box::pin(self.verify(input, now)).await?),
                // The same function revokes the old key after the overlap
                // (the state machine's Retire state passes `retire`).
                Step::Finalize if input.retire.is_some() => {
                    let outcome = Box::pin(steps::retire(&self.a, input, now)).await?;
                    Box::pin(self.ended(input, outcome)).await
                }
                Step::Finalize => {
                    let outcome = Box::pin(self.finalize(input, now)).await?;
                    Box::pin(self.ended(input, outcome)).await
                }
                Step::Rollback => {
                    let outcome = Box::pin(self.rollback(input, now)).await?;
                    Box::pin(self.ended(input, outcome)).await
                }
            })
        })
        .await;
        // Plain structs of strings always serialise.
        (out.map(Result::unwrap_or_default), stats)
    }
}

impl Rotator {
    /// A connector's end result goes onto the change record, where notify
    /// reads it: the workflow state carries only the outcome word, so a
    /// batch of thousands stays far below Step Functions' 256 KB.
    async fn ended(&self, input: &StepInput, outcome: Outcome) -> Result<serde_json::Value, serde_json::Error> {
        let entry = keyturn_app::notify::ConnectorOutcome {
            connector_id: outcome.connector_id.clone(),
            outcome: outcome.outcome.clone(),
            detail: outcome.detail.clone(),
        };
        // Never fails the step: the key work is done (failing finalize here
        // would roll back a finished rotation). Notify reports a connector
        // with no recorded outcome as needing a look.
        if let Err(e) = self.a.changes.record_outcome(&input.change_id, &entry).await {
            tracing::error!(change_id = %input.change_id, connector = %input.connector_id,
                outcome = %entry.outcome, error = %e, "outcome not recorded on the change");
        }
        serde_json::to_value(outcome)
    }
}

/// The `request-key` step (owner hands over a vendor-console key).
pub struct KeyRequester {
    a: AwsAdapters,
    approval_url: String,
    timeout: time::Duration,
}

impl KeyRequester {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let cfg = Config::from_env()?;
        let (Some(url), Some(_)) = (cfg.approval.url.clone(), cfg.approval.email_from.as_ref()) else {
            return Err(ConfigError {
                problems: vec!["KEYTURN_APPROVAL_URL and KEYTURN_EMAIL_FROM: both required by request-key".into()],
            });
        };
        Ok(Self {
            a: AwsAdapters::new(&sdk_config().await, &cfg),
            approval_url: url,
            timeout: cfg.approval.intake_timeout,
        })
    }

    pub async fn request(
        &self,
        input: &keyturn_app::approval::intake::KeyRequest,
        now: OffsetDateTime,
    ) -> Result<keyturn_app::approval::intake::KeyRequestReport, keyturn_app::approval::intake::KeyRequestError> {
        keyturn_app::approval::intake::request_key(&self.a, &self.approval_url, self.timeout, input, now).await
    }
}
