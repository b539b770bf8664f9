//! Configuration from the environment, checked all at once: a broken deploy
//! shows every missing or malformed variable in one message.

use time::Duration;

use crate::domain::{DuePolicy, Grouping};

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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tables: TableNames::default(),
            state_machine_arn: None,
            policy: DuePolicy::default(),
            grouping: Grouping::default(),
            change_lease: Duration::days(14),
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
pub const ENV_VARS: [(&str, &str); 7] = [
    ("KEYTURN_CONNECTORS_TABLE", "connectors table name (default keyturn-connectors)"),
    ("KEYTURN_CHANGES_TABLE", "changes table name (default keyturn-changes)"),
    ("KEYTURN_AUDIT_TABLE", "audit table name (default keyturn-audit)"),
    ("KEYTURN_STATE_MACHINE_ARN", "rotation state machine ARN (required to start workflows)"),
    ("KEYTURN_DUE_WITHIN_DAYS", "keys expiring within this many days are due (default 45)"),
    ("KEYTURN_GROUPING", "connector | org | window: how due keys are batched into changes (default org)"),
    ("KEYTURN_CHANGE_LEASE_HOURS", "how long a change holds its connectors (default 336 = 14 days)"),
];

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads from any lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut cfg = Config::default();
        let mut problems = Vec::new();
        let non_empty = |k: &str| get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

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
