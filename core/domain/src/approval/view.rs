//! What an approver is shown. Email, Slack and the confirmation page render
//! the same [`ChangeView`], so they can never disagree about what will change.

use time::OffsetDateTime;

use crate::procedures::{procedure, KeySource};
use crate::timefmt::format_utc;
use crate::{Change, Connector, IdpBinding};

/// One connector line of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorLine {
    pub id: String,
    pub kind: &'static str,
    pub org: String,
    /// `Entra ID (service principal sp-1, job scim.1)`, `Okta (app 0oa1)`, `none`.
    pub consumer: String,
    pub expires_at: String,
    pub expired: bool,
    pub owner: String,
    pub procedure: &'static str,
    /// A human must generate the new key in the vendor console and paste it.
    pub human_step: bool,
    pub rollback: &'static str,
}

/// Everything the approver needs to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeView {
    pub change_id: String,
    pub urgent: bool,
    pub approver_group: String,
    pub org: Option<String>,
    /// `sat 02:00-04:00 UTC (next opens 2026-11-28T02:00:00Z)` or `as soon as approved`.
    pub when: String,
    pub connectors: Vec<ConnectorLine>,
    /// `1 of 2 approvers`, `2 of 3 approvers, not only the owner`.
    pub needs: String,
    pub links_expire_at: String,
}

impl ChangeView {
    /// `connectors` may come in any order; missing ones are simply not shown
    /// (the caller refuses a change whose connectors vanished).
    pub fn new(
        change: &Change,
        connectors: &[Connector],
        approvers: usize,
        rule: &crate::approval::ApprovalRule,
        links_expire_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Self {
        let when = match change.window {
            Some(w) => format!("{w} (next opens {})", format_utc(w.next_open(now))),
            None => "as soon as approved".to_owned(),
        };
        let mut lines: Vec<ConnectorLine> = connectors
            .iter()
            .filter(|c| change.connectors.contains(&c.id))
            .map(|c| {
                let p = procedure(c.kind);
                ConnectorLine {
                    id: c.id.to_string(),
                    kind: c.kind.as_str(),
                    org: c.org.clone(),
                    consumer: consumer(&c.idp),
                    expires_at: format_utc(c.expires_at),
                    expired: c.expires_at <= now,
                    owner: c.owner.clone(),
                    procedure: p.summary,
                    human_step: p.key_source == KeySource::HumanIntake,
                    rollback: p.rollback,
                }
            })
            .collect();
        lines.sort_by(|a, b| a.id.cmp(&b.id));
        let mut needs = format!("{} of {approvers} approver(s)", rule.required);
        if rule.two_person {
            needs.push_str(", and not only a connector owner");
        }
        Self {
            change_id: change.id.to_string(),
            urgent: change.urgent,
            approver_group: change.approver_group.clone(),
            org: change.org.clone(),
            when,
            connectors: lines,
            needs,
            links_expire_at: format_utc(links_expire_at),
        }
    }

    /// `[URGENT] Approve rotation of 2 keys (acme): chg-…`
    pub fn subject(&self) -> String {
        format!(
            "{}Approve rotation of {} key(s){}: {}",
            if self.urgent { "[URGENT] " } else { "" },
            self.connectors.len(),
            self.org.as_ref().map(|o| format!(" ({o})")).unwrap_or_default(),
            self.change_id
        )
    }

    pub fn any_human_step(&self) -> bool {
        self.connectors.iter().any(|c| c.human_step)
    }

    /// The message as plain text (email body, Slack fallback).
    pub fn text(&self) -> String {
        let mut out = String::new();
        if self.urgent {
            out.push_str("URGENT: at least one key has already expired; provisioning is failing now.\n\n");
        }
        out.push_str(&format!("Change {}\nApprover group: {}\n", self.change_id, self.approver_group));
        out.push_str(&format!("When: {}\nNeeds: {}\n\n", self.when, self.needs));
        for c in &self.connectors {
            out.push_str(&format!(
                "* {} ({}, org {}) -> {}\n  expires {}{}; owner {}\n  procedure: {}\n  if verification fails: {}\n",
                c.id,
                c.kind,
                c.org,
                c.consumer,
                c.expires_at,
                if c.expired { " (EXPIRED)" } else { "" },
                c.owner,
                c.procedure,
                c.rollback
            ));
        }
        if self.any_human_step() {
            out.push_str(
                "\nAfter approval, the owner must generate a new key in the vendor console and paste it into \
                 keyturn's intake form (a separate signed link).\n",
            );
        }
        out
    }
}

fn consumer(idp: &IdpBinding) -> String {
    match idp {
        IdpBinding::Entra { service_principal_id, job_id } => {
            format!("Entra ID (service principal {service_principal_id}, job {job_id})")
        }
        IdpBinding::Okta { app_id } => format!("Okta (app {app_id})"),
        IdpBinding::None => "no identity provider (Secrets Manager consumers only)".to_owned(),
    }
}
