//! `keyturn changes …`: the changes keyturn opened, and where each one is.

use anyhow::{bail, Context};
use clap::Subcommand;
use keyturn_app::approval::ChangeRecord;
use keyturn_app::config::Config;
use keyturn_app::ports::Approvals;
use keyturn_aws::{sdk_config, DynamoAuditLog, DynamoChangeStore};
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::{AuditEvent, ChangeId};
use serde::Serialize;

use crate::{render, Format, OutputArgs};

#[derive(Subcommand)]
pub enum ChangesCommand {
    /// Changes with their status and workflow step (open ones only, unless --all)
    List {
        /// Ended changes too (rotated, rejected, expired, failed)
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// One change: connectors, approvers and votes, the workflow's step, its audit events
    Show {
        /// The change id, e.g. chg-20261124-0123456789abcdef
        id: String,
        #[command(flatten)]
        out: OutputArgs,
    },
}

/// Where a change's execution is.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Workflow {
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED; `none` when no execution exists.
    pub status: String,
    /// The state it entered last (e.g. RequestApproval while waiting for approvers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Per connector as finalize/rollback recorded it on the change:
    /// `{connector_id, outcome, detail}` (filled by `changes show`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<serde_json::Value>,
}

/// The execution's status and the state it entered last.
pub async fn workflow(sfn: &aws_sdk_sfn::Client, state_machine: Option<&str>, change: &str) -> Workflow {
    let Some(machine) = state_machine else { return Workflow { status: "unknown".into(), ..Default::default() } };
    let arn = keyturn_aws::sfn::execution_arn(machine, change);
    let Ok(d) = sfn.describe_execution().execution_arn(&arn).send().await else {
        return Workflow { status: "none".into(), ..Default::default() };
    };
    // The newest state entered (by event id: not every implementation honours reverseOrder).
    let mut step: Option<(i64, String)> = None;
    let mut pages = sfn.get_execution_history().execution_arn(&arn).into_paginator().send();
    while let Some(Ok(page)) = pages.next().await {
        for e in page.events() {
            if let Some(s) = e.state_entered_event_details() {
                if step.as_ref().is_none_or(|(id, _)| e.id() > *id) {
                    step = Some((e.id(), s.name().to_owned()));
                }
            }
        }
    }
    let step = step.map(|(_, name)| name);
    Workflow { status: d.status().as_str().to_owned(), step, outcomes: Vec::new() }
}

#[derive(Serialize)]
struct Row {
    change_id: String,
    status: String,
    detected_at: String,
    connectors: Vec<String>,
    workflow: Workflow,
}

pub async fn run(cmd: ChangesCommand) -> anyhow::Result<()> {
    let cfg = Config::from_env()?;
    let sdk = sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let store = DynamoChangeStore::new(dynamodb.clone(), &cfg.tables.changes);
    let machine = cfg.state_machine_arn.as_deref();
    match cmd {
        ChangesCommand::List { all, out } => {
            let changes = if all { store.all_changes().await? } else { store.open_changes().await? };
            let mut rows = Vec::with_capacity(changes.len());
            for c in changes {
                let workflow = workflow(&sfn, machine, &c.change_id).await;
                rows.push(Row {
                    change_id: c.change_id,
                    status: c.status,
                    detected_at: c.detected_at,
                    connectors: c.connectors,
                    workflow,
                });
            }
            if out.format == Format::Json {
                return render::json(&rows);
            }
            if rows.is_empty() {
                outln!("{}", if all { "no changes" } else { "no open changes (--all shows ended ones)" });
                return Ok(());
            }
            let mut t = render::table(&["change", "status", "workflow", "step", "detected", "connectors"]);
            for r in &rows {
                t.add_row(vec![
                    r.change_id.clone(),
                    r.status.clone(),
                    r.workflow.status.clone(),
                    r.workflow.step.clone().unwrap_or_default(),
                    r.detected_at.clone(),
                    r.connectors.join(" "),
                ]);
            }
            outln!("{t}");
            outln!("details: keyturn changes show CHANGE_ID");
            Ok(())
        }
        ChangesCommand::Show { id, out } => {
            let id = ChangeId::parse(&id).map_err(|e| anyhow::anyhow!("change {id:?}: {e}"))?;
            let Some(record) = store.get(&id).await.context("reading the change")? else {
                bail!("no change {id} in {} (ended changes expire after their retention)", cfg.tables.changes);
            };
            let mut wf = workflow(&sfn, machine, id.as_str()).await;
            // Recorded as each connector finished: the workflow state carries only counts.
            wf.outcomes = record.outcomes.iter().filter_map(|o| serde_json::to_value(o).ok()).collect();
            let audit = DynamoAuditLog::new(dynamodb, &cfg.tables.audit);
            let mut events: Vec<AuditEvent> = Vec::new();
            for c in &record.change.connectors {
                let chain = audit.chain(c).await.with_context(|| format!("reading the audit trail of {c}"))?;
                events.extend(chain.into_iter().filter(|e| e.change_id.as_deref() == Some(id.as_str())));
            }
            events.sort_by(|a, b| (&a.at, &a.connector_id, a.seq).cmp(&(&b.at, &b.connector_id, b.seq)));
            let view = view(&record, wf, &events);
            if out.format == Format::Json {
                return render::json(&view);
            }
            print_view(&view);
            Ok(())
        }
    }
}

#[derive(Serialize)]
struct View<'a> {
    change_id: &'a str,
    status: &'a str,
    urgent: bool,
    approver_group: &'a str,
    connectors: Vec<&'a str>,
    earliest_expiry: String,
    detected_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    window: Option<String>,
    approvers: Vec<&'a str>,
    required: u32,
    votes: Vec<VoteLine<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotate_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket: Option<&'a str>,
    workflow: Workflow,
    events: Vec<EventLine<'a>>,
}

#[derive(Serialize)]
struct VoteLine<'a> {
    approver: &'a str,
    decision: &'a str,
    at: String,
}

#[derive(Serialize)]
struct EventLine<'a> {
    at: &'a str,
    connector_id: &'a str,
    event: &'a str,
    actor: &'a str,
}

fn view<'a>(r: &'a ChangeRecord, workflow: Workflow, events: &'a [AuditEvent]) -> View<'a> {
    View {
        change_id: r.change.id.as_str(),
        status: r.status.as_str(),
        urgent: r.change.urgent,
        approver_group: &r.change.approver_group,
        connectors: r.change.connectors.iter().map(|c| c.as_str()).collect(),
        earliest_expiry: format_utc(r.change.earliest_expiry),
        detected_at: format_utc(r.change.detected_at),
        window: r.change.window.as_ref().map(ToString::to_string),
        approvers: r.request.as_ref().map(|q| q.approvers.iter().map(|a| a.as_str()).collect()).unwrap_or_default(),
        required: r.request.as_ref().map_or(0, |q| q.rule.required.get()),
        votes: r
            .votes
            .iter()
            .map(|v| VoteLine { approver: v.approver.as_str(), decision: v.decision.as_str(), at: format_utc(v.at) })
            .collect(),
        rotate_at: r.rotate_at.map(format_utc),
        ticket: r.ticket.as_deref(),
        workflow,
        events: events
            .iter()
            .map(|e| EventLine { at: &e.at, connector_id: e.connector_id.as_str(), event: &e.event, actor: &e.actor })
            .collect(),
    }
}

fn print_view(v: &View<'_>) {
    outln!("change      {}{}", v.change_id, if v.urgent { "  URGENT" } else { "" });
    outln!("status      {}", v.status);
    outln!(
        "workflow    {}{}",
        v.workflow.status,
        v.workflow.step.as_ref().map(|s| format!(" (step {s})")).unwrap_or_default()
    );
    outln!("connectors  {}", v.connectors.join(" "));
    outln!("expiry      earliest {}", v.earliest_expiry);
    outln!("detected    {}", v.detected_at);
    if let Some(w) = &v.window {
        outln!("window      {w}");
    }
    if let Some(t) = &v.rotate_at {
        outln!("rotate at   {t}");
    }
    if let Some(t) = v.ticket {
        outln!("ticket      {t}");
    }
    if v.approvers.is_empty() {
        outln!("approvers   (not asked yet)");
    } else {
        outln!("approvers   {} of {} needed: {}", v.required, v.approvers.len(), v.approvers.join(", "));
    }
    for vote in &v.votes {
        outln!("  vote      {} {} at {}", vote.approver, vote.decision, vote.at);
    }
    if !v.workflow.outcomes.is_empty() {
        let text = |o: &serde_json::Value, k: &str| o.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let mut t = render::table(&["connector", "outcome", "detail"]);
        for o in &v.workflow.outcomes {
            t.add_row(vec![text(o, "connector_id"), text(o, "outcome"), text(o, "detail")]);
        }
        outln!("{t}");
    }
    if !v.events.is_empty() {
        let mut t = render::table(&["at", "connector", "event", "actor"]);
        for e in &v.events {
            t.add_row(vec![e.at, e.connector_id, e.event, e.actor]);
        }
        outln!("{t}");
    }
}
