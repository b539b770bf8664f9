//! Approver routing: for each `approver_group` named in the inventory, who
//! approves, how many must, and where they (and the escalation contacts) hear
//! about it.
//!
//! Kept in Secrets Manager, not DynamoDB or environment variables, because a
//! Slack incoming-webhook URL is a bearer credential: whoever has it can post.
//!
//! ```
//! use keyturn_domain::approval::Routing;
//! let yaml = r#"
//! groups:
//!   it-change:
//!     approvers: [ana@acme.example, bo@acme.example]
//!     required: 1
//!     slack_webhook: https://hooks.slack.com/services/T0/B0/x
//!     escalation: { email: [oncall@acme.example] }
//! "#;
//! let routing = Routing::from_yaml(yaml).unwrap();
//! assert_eq!(routing.group("it-change").unwrap().approvers.len(), 2);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use crate::approval::{ApprovalRule, Approver};
use crate::destination::{Outbound, Purpose};

/// A Slack incoming-webhook URL. Its `Debug`/`Display` hide the path, which is
/// the credential.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SlackWebhook(String);

impl SlackWebhook {
    /// `https://…`, or `http://` to a loopback address (the local simulator),
    /// by the rules every outbound URL follows (`crate::destination`;
    /// where it may go is decided again when it is posted to).
    pub fn parse(raw: &str) -> Result<Self, String> {
        match Outbound::shape_only().check("slack_webhook", raw, Purpose::Request) {
            Ok(_) => Ok(Self(raw.to_owned())),
            Err(e) => Err(format!("{} (must be an https:// URL; http:// only to 127.0.0.1 for local tests)", e.reason)),
        }
    }

    pub fn url(&self) -> &str {
        &self.0
    }

    /// Scheme, host and port only: safe to log (the path is the secret).
    pub fn redacted(&self) -> String {
        match crate::destination::parse("slack_webhook", &self.0) {
            Ok(u) => {
                let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
                format!("{}://{}{port}/…", u.scheme(), u.host_str().unwrap_or(""))
            }
            Err(_) => "<not a URL>".into(),
        }
    }
}

impl TryFrom<String> for SlackWebhook {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<SlackWebhook> for String {
    fn from(w: SlackWebhook) -> String {
        w.0
    }
}

impl fmt::Debug for SlackWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SlackWebhook({})", self.redacted())
    }
}

/// Who hears about a timed-out approval or a failed rotation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    #[serde(default)]
    pub email: Vec<Approver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_webhook: Option<SlackWebhook>,
}

impl Escalation {
    pub fn is_empty(&self) -> bool {
        self.email.is_empty() && self.slack_webhook.is_none()
    }
}

fn yes() -> bool {
    true
}

fn one() -> NonZeroU32 {
    NonZeroU32::MIN
}

/// One approver group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Everyone who may approve; each gets links of their own.
    pub approvers: Vec<Approver>,
    /// How many distinct approvals a change needs (N of M).
    #[serde(default = "one")]
    pub required: NonZeroU32,
    /// The connector owner cannot be the only approver.
    #[serde(default)]
    pub two_person: bool,
    /// Email each approver their own links (SES).
    #[serde(default = "yes")]
    pub email: bool,
    /// Post the approval request to this Slack channel too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_webhook: Option<SlackWebhook>,
    #[serde(default)]
    pub escalation: Escalation,
}

impl Group {
    pub fn rule(&self) -> ApprovalRule {
        ApprovalRule { required: self.required, two_person: self.two_person }
    }
}

/// The whole routing document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    pub groups: BTreeMap<String, Group>,
}

/// A routing document that cannot be used, with every problem listed.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error("approver routing is not valid {format}: {message}")]
    Syntax { format: &'static str, message: String },
    #[error("approver routing:\n  {}", .0.join("\n  "))]
    Invalid(Vec<String>),
    #[error("approver group {0:?} is not in the approver routing")]
    UnknownGroup(String),
}

impl Routing {
    pub fn from_yaml(text: &str) -> Result<Self, RoutingError> {
        let r: Self = serde_yaml_ng::from_str(text)
            .map_err(|e| RoutingError::Syntax { format: "YAML", message: e.to_string() })?;
        r.checked()
    }

    pub fn from_json(text: &str) -> Result<Self, RoutingError> {
        let r: Self =
            serde_json::from_str(text).map_err(|e| RoutingError::Syntax { format: "JSON", message: e.to_string() })?;
        r.checked()
    }

    /// Compact JSON, as stored in the secret.
    pub fn to_json(&self) -> String {
        // A map of plain structs always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn group(&self, name: &str) -> Result<&Group, RoutingError> {
        self.groups.get(name).ok_or_else(|| RoutingError::UnknownGroup(name.to_owned()))
    }

    /// Rules serde cannot express: every group can actually reach a decision
    /// and someone hears about it.
    fn checked(self) -> Result<Self, RoutingError> {
        let mut problems = Vec::new();
        if self.groups.is_empty() {
            problems.push("groups: at least one approver group is needed".to_owned());
        }
        for (name, g) in &self.groups {
            let distinct: std::collections::BTreeSet<_> = g.approvers.iter().collect();
            if distinct.len() != g.approvers.len() {
                problems.push(format!("groups.{name}.approvers: lists someone twice"));
            }
            let needed = g.required.get() as usize + usize::from(g.two_person && g.required.get() == 1);
            if distinct.len() < needed {
                problems.push(format!(
                    "groups.{name}.approvers: {} approver(s) can never reach required = {}{}",
                    distinct.len(),
                    g.required,
                    if g.two_person { " with the two-person rule" } else { "" }
                ));
            }
            if !g.email && g.slack_webhook.is_none() {
                problems.push(format!("groups.{name}: neither email nor slack_webhook: nobody would be asked"));
            }
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(RoutingError::Invalid(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which webhook failed is named by host and port (two local webhooks
    /// differ only by port), never by its secret path.
    #[test]
    fn a_redacted_webhook_keeps_host_and_port_not_path() {
        let local = SlackWebhook::try_from("http://127.0.0.1:4568/slack/T0/B0/secret-path".to_owned()).unwrap();
        assert_eq!(local.redacted(), "http://127.0.0.1:4568/…");
        let real = SlackWebhook::try_from("https://hooks.slack.com/services/T0/B0/secret-path".to_owned()).unwrap();
        assert_eq!(real.redacted(), "https://hooks.slack.com/…");
    }

    #[test]
    fn webhook_urls_never_show_their_path() {
        let w = SlackWebhook::parse("https://hooks.slack.com/services/T0/B0/very-secret").unwrap();
        assert_eq!(format!("{w:?}"), "SlackWebhook(https://hooks.slack.com/…)");
        assert!(!format!("{:?}", Escalation { email: vec![], slack_webhook: Some(w) }).contains("very-secret"));
    }

    #[test]
    fn plain_http_is_only_for_loopback() {
        assert!(SlackWebhook::parse("http://127.0.0.1:4567/slack/x").is_ok());
        assert!(SlackWebhook::parse("http://hooks.slack.com/services/x").is_err());
        assert!(SlackWebhook::parse("ftp://x").is_err());
        for hostile in [
            "http://localhost:@evil.example/services/x",
            "http://127.0.0.1:80@evil.example/services/x",
            "https://hooks.slack.com@evil.example/services/x",
            "https://hooks.slack.com\\@evil.example/x",
            "https://evil.example#@hooks.slack.com/services/x",
            "https://169.254.169.254/latest",
            "HTTP://hooks.slack.com/services/x",
        ] {
            assert!(SlackWebhook::parse(hostile).is_err(), "{hostile}");
        }
    }

    #[test]
    fn every_problem_is_listed() {
        let yaml = r#"
groups:
  a: { approvers: [x@e.example], required: 2 }
  b: { approvers: [y@e.example, y@e.example], email: false }
  c: { approvers: [z@e.example], two_person: true }
"#;
        let RoutingError::Invalid(problems) = Routing::from_yaml(yaml).unwrap_err() else { panic!("not Invalid") };
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with("groups.a.approvers: 1 approver(s) can never reach required = 2"));
        assert!(problems.iter().any(|p| p == "groups.b.approvers: lists someone twice"));
        assert!(problems.iter().any(|p| p.starts_with("groups.b: neither email nor slack_webhook")));
        assert!(problems.iter().any(|p| p.contains("groups.c.approvers") && p.contains("two-person")));
    }

    #[test]
    fn unknown_fields_and_bad_addresses_are_refused() {
        assert!(matches!(
            Routing::from_yaml("groups: { a: { approvers: [x@e.example], aprovers: [] } }"),
            Err(RoutingError::Syntax { .. })
        ));
        assert!(Routing::from_yaml("groups: { a: { approvers: [not-an-email] } }").is_err());
    }

    #[test]
    fn json_round_trip() {
        let r = Routing::from_yaml("groups: { a: { approvers: [X@E.example, y@e.example], required: 2 } }").unwrap();
        let back = Routing::from_json(&r.to_json()).unwrap();
        assert_eq!(r, back);
        assert_eq!(back.group("a").unwrap().approvers[0].to_string(), "x@e.example");
        assert!(matches!(back.group("zz"), Err(RoutingError::UnknownGroup(_))));
    }
}
