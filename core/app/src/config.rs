//! Configuration from the environment, checked all at once: a broken deploy
//! shows every missing or malformed variable in one message.

use time::Duration;

use keyturn_domain::destination::{Outbound, Purpose};
use keyturn_domain::{DuePolicy, Grouping};

/// The default reminder marks, in days before the earliest expiry.
pub const REMINDER_DAYS: [u32; 4] = [30, 14, 7, 1];

/// DynamoDB table names. Defaults match the local stack and the infra defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub connectors: String,
    pub changes: String,
    pub audit: String,
}

impl TableNames {
    /// `<prefix>connectors`, `<prefix>changes`, `<prefix>audit`.
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            connectors: format!("{prefix}connectors"),
            changes: format!("{prefix}changes"),
            audit: format!("{prefix}audit"),
        }
    }
}

impl Default for TableNames {
    fn default() -> Self {
        Self::with_prefix("keyturn-")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub tables: TableNames,
    /// Needed to start workflows; a dry-run scan does without.
    pub state_machine_arn: Option<String>,
    pub policy: DuePolicy,
    pub grouping: Grouping,
    /// How long a change holds its connectors before another change may take
    /// them (covers approval wait + change window + rotation).
    pub change_lease: Duration,
    /// An approval waiting longer than this counts in the scanner's
    /// `ApprovalsOverdue` metric (an alarm).
    pub approval_overdue: Duration,
    /// The secret holding the Ed25519 seed that signs audit digests.
    pub audit_key_secret: String,
    /// The daily run rotates the audit-signing key once it is this old.
    pub audit_key_max_age: Duration,
    pub approval: ApprovalConfig,
    pub vendors: VendorConfig,
    /// Days before the earliest expiry at which approvers of a waiting change
    /// are reminded (fresh links); the smallest also escalates.
    pub reminder_days: Vec<u32>,
    /// A change whose execution still runs this long after it was opened is
    /// stuck: alerted daily, counted in the `StuckExecutions` metric.
    pub stuck_after: Duration,
    /// Connectors of one change rotated at once (vendor rate limits are the
    /// bound, not Step Functions).
    pub map_concurrency: u32,
}

/// Where the vendor and identity-provider APIs are, and keyturn's own
/// credentials for the identity providers (names of secrets, never values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorConfig {
    pub atlassian_url: String,
    pub graph_url: String,
    pub entra_login_url: String,
    /// Secret with `{"tenant_id","client_id","client_secret"}`.
    pub entra_secret: Option<String>,
    /// Secret with `{"domain","api_token"}`, and optionally `"api_token_id"`
    /// (the token's `00T…` id: how Okta reports its expiry).
    pub okta_secret: Option<String>,
    /// A new app client secret's lifetime (its `endDateTime`).
    pub app_secret_lifetime: Duration,
    /// How long a new app client secret may be refused as not yet
    /// replicated before its verification fails.
    pub app_secret_propagation: Duration,
}

impl Default for VendorConfig {
    fn default() -> Self {
        Self {
            atlassian_url: "https://api.atlassian.com".into(),
            graph_url: "https://graph.microsoft.com/v1.0".into(),
            entra_login_url: "https://login.microsoftonline.com".into(),
            entra_secret: None,
            okta_secret: None,
            // Microsoft recommends client secrets of under 12 months.
            app_secret_lifetime: Duration::days(180),
            app_secret_propagation: Duration::seconds(90),
        }
    }
}

/// Settings of the approval steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalConfig {
    /// How long approvers have; the links expire with it unless `link_ttl`
    /// is shorter.
    pub timeout: Duration,
    /// How long an approval link stays valid, when shorter than `timeout`.
    pub link_ttl: Option<Duration>,
    /// The same for urgent (already expired) keys: provisioning is broken now.
    pub urgent_timeout: Duration,
    /// How long a key's owner has to paste a key only the vendor console makes.
    pub intake_timeout: Duration,
    /// The approval-callback Function URL (required by request-approval).
    pub url: Option<String>,
    /// Verified SES sender (required by request-approval when a group uses email).
    pub email_from: Option<String>,
    pub signing_key_secret: String,
    /// The daily run rotates the link-signing key once it is this old; longer
    /// than every link's lifetime (see [`ApprovalConfig::longest_link`]).
    pub signing_key_max_age: Duration,
    pub routing_secret: String,
    /// Where urgent changes open a ticket; `None`: no tickets.
    pub jira: Option<JiraConfig>,
}

/// Jira for urgent changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraConfig {
    pub url: String,
    pub project: String,
    /// Secret holding `{"user": "...", "token": "..."}` or `{"bearer": "..."}`.
    pub credentials_secret: String,
    /// The issue type urgent tickets are opened as (must exist in the project).
    pub issue_type: String,
    /// Labels set on them (the project's create screen must offer `labels`; empty: none).
    pub labels: Vec<String>,
}

impl ApprovalConfig {
    /// The longest a signed link can stay valid: an approval link (the
    /// approval timeout, or the link TTL when shorter; urgent changes have
    /// less) or a hand-over link (the intake timeout). Reminders resend links
    /// with the first link's expiry, never a later one.
    pub fn longest_link(&self) -> Duration {
        let approval = self.link_ttl.map_or(self.timeout, |ttl| ttl.min(self.timeout));
        approval.max(self.intake_timeout)
    }
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::hours(72),
            link_ttl: None,
            urgent_timeout: Duration::hours(4),
            intake_timeout: Duration::hours(24),
            url: None,
            email_from: None,
            signing_key_secret: "keyturn/link-signing-key".into(),
            signing_key_max_age: keyturn_domain::signing_keys::LINK_KEY_MAX_AGE,
            routing_secret: "keyturn/approver-routing".into(),
            jira: None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tables: TableNames::default(),
            state_machine_arn: None,
            policy: DuePolicy::default(),
            grouping: Grouping::default(),
            change_lease: Duration::days(14),
            approval_overdue: Duration::hours(48),
            audit_key_secret: "keyturn/audit-signing-key".into(),
            audit_key_max_age: keyturn_domain::signing_keys::AUDIT_KEY_MAX_AGE,
            approval: ApprovalConfig::default(),
            vendors: VendorConfig::default(),
            reminder_days: REMINDER_DAYS.to_vec(),
            stuck_after: Duration::days(14),
            map_concurrency: 10,
        }
    }
}

/// Every variable that was wrong, by name.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  {}", .problems.join("\n  "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// The variables keyturn reads, for `--help` texts and docs.
pub const ENV_VARS: [(&str, &str); 35] = [
    ("KEYTURN_CONNECTORS_TABLE", "connectors table name (default keyturn-connectors)"),
    ("KEYTURN_CHANGES_TABLE", "changes table name (default keyturn-changes)"),
    ("KEYTURN_AUDIT_TABLE", "audit table name (default keyturn-audit)"),
    ("KEYTURN_STATE_MACHINE_ARN", "rotation state machine ARN (required to start workflows)"),
    ("KEYTURN_DUE_WITHIN_DAYS", "keys expiring within this many days are due (default 45)"),
    ("KEYTURN_GROUPING", "connector | org | window: how due keys are batched into changes (default org)"),
    ("KEYTURN_CHANGE_LEASE_HOURS", "how long a change holds its connectors (default 336 = 14 days)"),
    ("KEYTURN_APPROVAL_OVERDUE_HOURS", "alarm (metric ApprovalsOverdue) when an approval waited longer (default 48)"),
    ("KEYTURN_APPROVAL_TIMEOUT", "how long approvers have, e.g. 72h (default), 30m, 2d"),
    (
        "KEYTURN_REMINDER_DAYS",
        "remind approvers this many days before the earliest expiry (default 30,14,7,1; the last escalates)",
    ),
    (
        "KEYTURN_STUCK_AFTER",
        "alert (metric StuckExecutions) on a change still running this long after it opened (default 14d)",
    ),
    ("KEYTURN_URGENT_APPROVAL_TIMEOUT", "the same for already-expired keys (default 4h)"),
    ("KEYTURN_INTAKE_TIMEOUT", "how long an owner has to paste a vendor-console key (default 24h)"),
    ("KEYTURN_LINK_TTL", "how long approval links stay valid, at most the approval timeout (default: that timeout)"),
    ("KEYTURN_MAP_CONCURRENCY", "connectors of one change rotated at once, 1 to 1000 (default 10)"),
    ("KEYTURN_APPROVAL_URL", "the approval-callback Function URL that links point to"),
    ("KEYTURN_EMAIL_FROM", "verified SES sender address for approval email"),
    ("KEYTURN_SIGNING_KEY_SECRET", "secret holding the link-signing key (default keyturn/link-signing-key)"),
    (
        "KEYTURN_ALLOWED_HOSTS",
        "comma-separated host names, .suffixes or IP addresses that vendor, IdP, Slack and Jira calls may reach (default: any public host)",
    ),
    (
        "KEYTURN_AUDIT_KEY_SECRET",
        "secret holding the Ed25519 seed that signs audit digests (default keyturn/audit-signing-key)",
    ),
    (
        "KEYTURN_SIGNING_KEY_MAX_AGE",
        "the daily run rotates the link-signing key once it is this old, e.g. 30d (default; 1d to 365d, longer than every link)",
    ),
    (
        "KEYTURN_AUDIT_KEY_MAX_AGE",
        "the daily run rotates the audit-signing key once it is this old, e.g. 90d (default; 1d to 365d)",
    ),
    ("KEYTURN_ROUTING_SECRET", "secret holding the approver routing (default keyturn/approver-routing)"),
    ("KEYTURN_JIRA_URL", "Jira base URL for urgent tickets (optional)"),
    ("KEYTURN_JIRA_PROJECT", "Jira project key (required with KEYTURN_JIRA_URL)"),
    ("KEYTURN_JIRA_SECRET", "secret with Jira credentials (required with KEYTURN_JIRA_URL)"),
    ("KEYTURN_JIRA_ISSUE_TYPE", "issue type of urgent tickets (default Task; must exist in the project)"),
    ("KEYTURN_JIRA_LABELS", "comma-separated labels of urgent tickets (default keyturn,urgent-rotation; empty: none)"),
    ("KEYTURN_ATLASSIAN_URL", "Atlassian API base (default https://api.atlassian.com)"),
    ("KEYTURN_GRAPH_URL", "Microsoft Graph base (default https://graph.microsoft.com/v1.0)"),
    ("KEYTURN_ENTRA_LOGIN_URL", "Entra token endpoint base (default https://login.microsoftonline.com)"),
    ("KEYTURN_ENTRA_SECRET", "secret with keyturn's Graph app credentials {tenant_id, client_id, client_secret}"),
    (
        "KEYTURN_OKTA_SECRET",
        "secret with keyturn's Okta API access {domain, api_token, api_token_id (optional: its expiry in keyturn status)}",
    ),
    ("KEYTURN_APP_SECRET_LIFETIME", "lifetime of a new Entra app client secret, e.g. 180d (default; 1d to 730d)"),
    (
        "KEYTURN_APP_SECRET_PROPAGATION",
        "how long a new app client secret may be refused as not yet replicated, e.g. 90s (default; 0s to 100s)",
    ),
];

/// `90s`, `30m`, `72h`, `2d`.
///
/// ```
/// use keyturn_app::config::parse_duration;
/// assert_eq!(parse_duration("72h"), Some(time::Duration::hours(72)));
/// assert_eq!(parse_duration("72"), None);
/// ```
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let unit = raw.chars().last()?;
    let n: i64 = raw[..raw.len() - unit.len_utf8()].parse().ok()?;
    match unit {
        's' => Some(Duration::seconds(n)),
        'm' => Some(Duration::minutes(n)),
        'h' => Some(Duration::hours(n)),
        'd' => Some(Duration::days(n)),
        _ => None,
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads from any lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut cfg = Config::default();
        let non_empty = |k: &str| get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        // Every URL setting is checked by the rules requests are sent under
        // (keyturn_domain::destination), so a bad one stops the function at start.
        let (outbound, mut problems) = Outbound::from_lookup(&get);

        if let Some(v) = non_empty("KEYTURN_APPROVAL_OVERDUE_HOURS") {
            match v.parse::<i64>() {
                Ok(h) if (1..=24 * 90).contains(&h) => cfg.approval_overdue = Duration::hours(h),
                _ => problems
                    .push(format!("KEYTURN_APPROVAL_OVERDUE_HOURS={v:?}: expected a whole number of hours, 1 to 2160")),
            }
        }
        for (var, slot) in [
            ("KEYTURN_CONNECTORS_TABLE", &mut cfg.tables.connectors),
            ("KEYTURN_CHANGES_TABLE", &mut cfg.tables.changes),
            ("KEYTURN_AUDIT_TABLE", &mut cfg.tables.audit),
        ] {
            if let Some(v) = non_empty(var) {
                if v.len() < 3 || v.len() > 255 || !v.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
                    problems.push(format!("{var}={v:?}: not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)"));
                } else {
                    *slot = v;
                }
            }
        }
        if let Some(v) = non_empty("KEYTURN_STATE_MACHINE_ARN") {
            if v.starts_with("arn:") && v.contains(":states:") && v.contains(":stateMachine:") {
                cfg.state_machine_arn = Some(v);
            } else {
                problems.push(format!("KEYTURN_STATE_MACHINE_ARN={v:?}: not a state machine ARN"));
            }
        }
        if let Some(v) = non_empty("KEYTURN_DUE_WITHIN_DAYS") {
            match v.parse::<i64>() {
                Ok(d) if (1..=365).contains(&d) => cfg.policy.due_within = Duration::days(d),
                _ => problems.push(format!("KEYTURN_DUE_WITHIN_DAYS={v:?}: expected a whole number of days, 1 to 365")),
            }
        }
        if let Some(v) = non_empty("KEYTURN_GROUPING") {
            match Grouping::parse(&v) {
                Some(g) => cfg.grouping = g,
                None => problems.push(format!("KEYTURN_GROUPING={v:?}: expected connector, org or window")),
            }
        }
        if let Some(v) = non_empty("KEYTURN_CHANGE_LEASE_HOURS") {
            match v.parse::<i64>() {
                Ok(h) if (1..=24 * 90).contains(&h) => cfg.change_lease = Duration::hours(h),
                _ => problems
                    .push(format!("KEYTURN_CHANGE_LEASE_HOURS={v:?}: expected a whole number of hours, 1 to 2160")),
            }
        }
        for (var, slot) in [
            ("KEYTURN_APPROVAL_TIMEOUT", &mut cfg.approval.timeout),
            ("KEYTURN_URGENT_APPROVAL_TIMEOUT", &mut cfg.approval.urgent_timeout),
            ("KEYTURN_INTAKE_TIMEOUT", &mut cfg.approval.intake_timeout),
        ] {
            if let Some(v) = non_empty(var) {
                match parse_duration(&v) {
                    // A month is plenty for a human; Step Functions allows up to a year.
                    Some(d) if d >= Duration::seconds(1) && d <= Duration::days(30) => *slot = d,
                    _ => problems.push(format!("{var}={v:?}: expected a duration such as 72h, 30m or 2d (1s to 30d)")),
                }
            }
        }
        if let Some(v) = non_empty("KEYTURN_LINK_TTL") {
            match parse_duration(&v) {
                Some(d) if d >= Duration::minutes(1) && d <= Duration::days(30) => cfg.approval.link_ttl = Some(d),
                _ => {
                    problems.push(format!("KEYTURN_LINK_TTL={v:?}: expected a duration such as 24h or 30m (1m to 30d)"))
                }
            }
        }
        if let Some(v) = non_empty("KEYTURN_MAP_CONCURRENCY") {
            match v.parse::<u32>() {
                Ok(n) if (1..=1000).contains(&n) => cfg.map_concurrency = n,
                _ => problems.push(format!("KEYTURN_MAP_CONCURRENCY={v:?}: expected a whole number, 1 to 1000")),
            }
        }
        if let Some(v) = non_empty("KEYTURN_REMINDER_DAYS") {
            let days: Option<Vec<u32>> =
                v.split(',').map(|d| d.trim().parse().ok().filter(|d| (1..=365).contains(d))).collect();
            match days {
                Some(mut d) if !d.is_empty() => {
                    d.sort_unstable_by(|a, b| b.cmp(a));
                    d.dedup();
                    cfg.reminder_days = d;
                }
                _ => problems.push(format!(
                    "KEYTURN_REMINDER_DAYS={v:?}: expected whole days 1 to 365, comma-separated, e.g. 30,14,7,1"
                )),
            }
        }
        if let Some(v) = non_empty("KEYTURN_STUCK_AFTER") {
            match parse_duration(&v) {
                Some(d) if d >= Duration::hours(1) && d <= Duration::days(365) => cfg.stuck_after = d,
                _ => problems
                    .push(format!("KEYTURN_STUCK_AFTER={v:?}: expected a duration such as 14d or 36h (1h to 365d)")),
            }
        }
        if let Some(v) = non_empty("KEYTURN_APP_SECRET_LIFETIME") {
            match parse_duration(&v) {
                // Graph's default and most policies' maximum is two years.
                Some(d) if d >= Duration::days(1) && d <= Duration::days(730) => cfg.vendors.app_secret_lifetime = d,
                _ => problems.push(format!(
                    "KEYTURN_APP_SECRET_LIFETIME={v:?}: expected a duration such as 180d or 365d (1d to 730d)"
                )),
            }
        }
        if let Some(v) = non_empty("KEYTURN_APP_SECRET_PROPAGATION") {
            match parse_duration(&v) {
                // The pre-flight runs in the rotate function, whose timeout is 120 s.
                Some(d) if d >= Duration::ZERO && d <= Duration::seconds(100) => cfg.vendors.app_secret_propagation = d,
                _ => problems.push(format!(
                    "KEYTURN_APP_SECRET_PROPAGATION={v:?}: expected a duration such as 90s or 1m (0s to 100s)"
                )),
            }
        }
        let max_age = |var: &str, problems: &mut Vec<String>| {
            let v = non_empty(var)?;
            match parse_duration(&v) {
                Some(d) if d >= Duration::days(1) && d <= Duration::days(365) => Some(d),
                _ => {
                    problems.push(format!("{var}={v:?}: expected a duration such as 30d or 2160h (1d to 365d)"));
                    None
                }
            }
        };
        if let Some(d) = max_age("KEYTURN_AUDIT_KEY_MAX_AGE", &mut problems) {
            cfg.audit_key_max_age = d;
        }
        let longest_link = cfg.approval.longest_link();
        match max_age("KEYTURN_SIGNING_KEY_MAX_AGE", &mut problems) {
            Some(d) => {
                cfg.approval.signing_key_max_age = d;
                if let Err(e) = keyturn_domain::signing_keys::check_link_key_age(d, longest_link) {
                    problems.push(format!("KEYTURN_SIGNING_KEY_MAX_AGE={}d {e}", d.whole_days()));
                }
            }
            // Unset: the default, or a day longer than links live when they
            // may live that long (a 30-day approval timeout is allowed).
            None => {
                let fitting = (longest_link + Duration::days(1)).max(cfg.approval.signing_key_max_age);
                cfg.approval.signing_key_max_age = fitting;
            }
        }
        if cfg.approval.urgent_timeout > cfg.approval.timeout {
            problems.push("KEYTURN_URGENT_APPROVAL_TIMEOUT: must not be longer than KEYTURN_APPROVAL_TIMEOUT".into());
        }
        if let Some(v) = non_empty("KEYTURN_APPROVAL_URL") {
            match outbound.check("KEYTURN_APPROVAL_URL", &v, Purpose::Link) {
                Ok(_) => cfg.approval.url = Some(v),
                Err(e) => problems.push(format!("{e} (expected an https:// URL; http:// only to 127.0.0.1)")),
            }
        }
        if let Some(v) = non_empty("KEYTURN_EMAIL_FROM") {
            match keyturn_domain::approval::Approver::parse(&v) {
                Ok(_) => cfg.approval.email_from = Some(v),
                Err(e) => problems.push(format!("KEYTURN_EMAIL_FROM={v:?}: {e}")),
            }
        }
        for (var, slot) in [
            ("KEYTURN_SIGNING_KEY_SECRET", &mut cfg.approval.signing_key_secret),
            ("KEYTURN_ROUTING_SECRET", &mut cfg.approval.routing_secret),
            ("KEYTURN_AUDIT_KEY_SECRET", &mut cfg.audit_key_secret),
        ] {
            if let Some(v) = non_empty(var) {
                *slot = v;
            }
        }
        match (non_empty("KEYTURN_JIRA_URL"), non_empty("KEYTURN_JIRA_PROJECT"), non_empty("KEYTURN_JIRA_SECRET")) {
            (None, None, None) => {}
            (Some(url), Some(project), Some(credentials_secret)) => {
                let issue_type = non_empty("KEYTURN_JIRA_ISSUE_TYPE").unwrap_or_else(|| "Task".into());
                // Set but empty means "no labels"; unset means keyturn's two.
                let labels = match std::env::var("KEYTURN_JIRA_LABELS") {
                    Ok(v) => v.split(',').map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
                    Err(_) => vec!["keyturn".to_owned(), "urgent-rotation".to_owned()],
                };
                if let Some(bad) = labels.iter().find(|l| l.contains(char::is_whitespace)) {
                    problems.push(format!("KEYTURN_JIRA_LABELS: Jira labels cannot contain spaces ({bad:?})"));
                }
                match outbound.check("KEYTURN_JIRA_URL", &url, Purpose::Request) {
                    Ok(_) => {
                        cfg.approval.jira = Some(JiraConfig { url, project, credentials_secret, issue_type, labels })
                    }
                    Err(e) => problems.push(format!("{e} (expected an https:// URL; http:// only to 127.0.0.1)")),
                }
            }
            (url, project, secret) => {
                let missing: Vec<&str> =
                    [("KEYTURN_JIRA_URL", url), ("KEYTURN_JIRA_PROJECT", project), ("KEYTURN_JIRA_SECRET", secret)]
                        .into_iter()
                        .filter(|(_, v)| v.is_none())
                        .map(|(k, _)| k)
                        .collect();
                problems.push(format!("Jira tickets need all three variables; missing {}", missing.join(", ")));
            }
        }
        for (var, slot) in [
            ("KEYTURN_ATLASSIAN_URL", &mut cfg.vendors.atlassian_url),
            ("KEYTURN_GRAPH_URL", &mut cfg.vendors.graph_url),
            ("KEYTURN_ENTRA_LOGIN_URL", &mut cfg.vendors.entra_login_url),
        ] {
            if let Some(v) = non_empty(var) {
                // Keys travel in these requests.
                match outbound.check(var, &v, Purpose::Request) {
                    Ok(_) => *slot = v,
                    Err(e) => problems.push(format!("{e} (expected an https:// URL; http:// only to 127.0.0.1)")),
                }
            }
        }
        cfg.vendors.entra_secret = non_empty("KEYTURN_ENTRA_SECRET");
        cfg.vendors.okta_secret = non_empty("KEYTURN_OKTA_SECRET");
        if problems.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigError { problems })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn the_configuration_page_documents_every_variable() {
        let page = include_str!("../../../docs/configuration.md");
        let missing: Vec<&str> =
            ENV_VARS.iter().map(|(v, _)| *v).filter(|v| !page.contains(&format!("`{v}`"))).collect();
        assert!(missing.is_empty(), "docs/configuration.md does not document {missing:?}");
    }

    #[test]
    fn defaults_fit_the_local_stack() {
        let cfg = from(&[]).unwrap();
        assert_eq!(cfg.tables.connectors, "keyturn-connectors");
        assert_eq!(cfg.policy.due_within, Duration::days(45));
        assert_eq!(cfg.grouping, Grouping::Org);
    }

    #[test]
    fn every_bad_variable_is_reported_at_once() {
        let err = from(&[
            ("KEYTURN_DUE_WITHIN_DAYS", "soon"),
            ("KEYTURN_GROUPING", "team"),
            ("KEYTURN_AUDIT_TABLE", "a b"),
            ("KEYTURN_STATE_MACHINE_ARN", "nope"),
        ])
        .unwrap_err();
        assert_eq!(err.problems.len(), 4, "{err}");
        for var in ["KEYTURN_DUE_WITHIN_DAYS", "KEYTURN_GROUPING", "KEYTURN_AUDIT_TABLE", "KEYTURN_STATE_MACHINE_ARN"] {
            assert!(err.to_string().contains(var));
        }
    }

    #[test]
    fn approval_timeouts_take_units_and_stay_sane() {
        let cfg = from(&[("KEYTURN_APPROVAL_TIMEOUT", "90m"), ("KEYTURN_URGENT_APPROVAL_TIMEOUT", "4s")]).unwrap();
        assert_eq!(cfg.approval.timeout, Duration::minutes(90));
        assert_eq!(cfg.approval.urgent_timeout, Duration::seconds(4));
        let err = from(&[("KEYTURN_APPROVAL_TIMEOUT", "72"), ("KEYTURN_URGENT_APPROVAL_TIMEOUT", "31d")]).unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        let err = from(&[("KEYTURN_APPROVAL_TIMEOUT", "1h"), ("KEYTURN_URGENT_APPROVAL_TIMEOUT", "2h")]).unwrap_err();
        assert!(err.to_string().contains("must not be longer"), "{err}");
        let err = from(&[("KEYTURN_JIRA_URL", "https://acme.atlassian.net")]).unwrap_err();
        assert!(err.to_string().contains("KEYTURN_JIRA_PROJECT, KEYTURN_JIRA_SECRET"), "{err}");
    }

    #[test]
    fn the_link_key_outlives_every_link_or_the_configuration_is_refused() {
        let cfg = from(&[]).unwrap();
        assert_eq!((cfg.approval.signing_key_max_age, cfg.audit_key_max_age), (Duration::days(30), Duration::days(90)));
        let cfg = from(&[("KEYTURN_SIGNING_KEY_MAX_AGE", "7d"), ("KEYTURN_AUDIT_KEY_MAX_AGE", "365d")]).unwrap();
        assert_eq!((cfg.approval.signing_key_max_age, cfg.audit_key_max_age), (Duration::days(7), Duration::days(365)));
        for (pairs, why) in [
            (&[("KEYTURN_SIGNING_KEY_MAX_AGE", "3d")][..], "72 h"),
            (&[("KEYTURN_SIGNING_KEY_MAX_AGE", "3d"), ("KEYTURN_INTAKE_TIMEOUT", "4d")][..], "96 h"),
            (&[("KEYTURN_SIGNING_KEY_MAX_AGE", "10d"), ("KEYTURN_APPROVAL_TIMEOUT", "10d")][..], "240 h"),
            (&[("KEYTURN_SIGNING_KEY_MAX_AGE", "2d"), ("KEYTURN_INTAKE_TIMEOUT", "3d")][..], "72 h"),
        ] {
            let err = from(pairs).unwrap_err().to_string();
            assert!(err.contains("KEYTURN_SIGNING_KEY_MAX_AGE") && err.contains("longest link lifetime"), "{err}");
            assert!(err.contains(why), "{pairs:?}: {err}");
        }
        // A short link TTL makes a short key age possible.
        let cfg = from(&[("KEYTURN_SIGNING_KEY_MAX_AGE", "2d"), ("KEYTURN_LINK_TTL", "24h")]).unwrap();
        assert_eq!(cfg.approval.longest_link(), Duration::hours(24));
        // Unset, the default moves past links that may live 30 days.
        let cfg = from(&[("KEYTURN_APPROVAL_TIMEOUT", "30d")]).unwrap();
        assert_eq!(cfg.approval.signing_key_max_age, Duration::days(31));
        for bad in ["0d", "366d", "soon"] {
            assert!(from(&[("KEYTURN_AUDIT_KEY_MAX_AGE", bad)]).unwrap_err().to_string().contains("1d to 365d"));
        }
    }

    #[test]
    fn url_settings_are_checked_on_the_parsed_url() {
        for var in ["KEYTURN_APPROVAL_URL", "KEYTURN_ATLASSIAN_URL", "KEYTURN_GRAPH_URL", "KEYTURN_ENTRA_LOGIN_URL"] {
            for bad in [
                "http://localhost:@evil.example",
                "http://127.0.0.1:80@evil.example",
                "https://user:hunter2@api.example",
                "https://169.254.169.254/latest",
                "https://[::ffff:169.254.169.254]/",
                "https://2130706433/",
                "http://api.example",
                "https://evil.example#@good.example",
                "https://good.example\\@evil.example",
            ] {
                let err = from(&[(var, bad)]).unwrap_err().to_string();
                assert!(err.contains(var), "{var}={bad}: {err}");
                assert!(!err.contains("hunter2"), "{err}");
            }
        }
        let jira = [("KEYTURN_JIRA_PROJECT", "KT"), ("KEYTURN_JIRA_SECRET", "s")];
        let err = from(&[("KEYTURN_JIRA_URL", "http://localhost:@evil.example"), jira[0], jira[1]]).unwrap_err();
        assert!(err.to_string().contains("KEYTURN_JIRA_URL"), "{err}");
        assert!(from(&[("KEYTURN_JIRA_URL", "https://acme.atlassian.net"), jira[0], jira[1]]).is_ok());
        // Loopback and plain http only on the local stack.
        let local = ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566");
        let link = ("KEYTURN_APPROVAL_URL", "http://127.0.0.1:9000/lambda-url/approval-callback");
        assert!(from(&[local, link, ("KEYTURN_ATLASSIAN_URL", "http://127.0.0.1:4568")]).is_ok());
        assert!(from(&[link]).unwrap_err().to_string().contains("loopback"));
        let err = from(&[("KEYTURN_ALLOWED_HOSTS", "api.atlassian.com,https://hooks.slack.com/")]).unwrap_err();
        assert!(err.to_string().contains("KEYTURN_ALLOWED_HOSTS"), "{err}");
    }

    #[test]
    fn values_are_applied() {
        let cfg = from(&[
            ("KEYTURN_DUE_WITHIN_DAYS", "30"),
            ("KEYTURN_GROUPING", "window"),
            ("KEYTURN_CHANGE_LEASE_HOURS", "48"),
        ])
        .unwrap();
        assert_eq!(cfg.policy.due_within, Duration::days(30));
        assert_eq!(cfg.grouping, Grouping::Window);
        assert_eq!(cfg.change_lease, Duration::hours(48));
    }
}
