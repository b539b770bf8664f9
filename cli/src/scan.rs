//! `keyturn scan`: the scanner's logic, run from the command line.

use anyhow::Context;
use keyturn_app::config::Config;
use keyturn_app::scanner::{ChangeOutcome, ScanReport};
use keyturn_aws::sdk_config;
use keyturn_aws::service::Scanner;
use time::OffsetDateTime;

use crate::{render, Format, Reported};

pub async fn run(dry_run: bool, only: Option<String>, format: Format, now: OffsetDateTime) -> anyhow::Result<()> {
    let cfg = Config::from_env()?;
    let scanner = Scanner::new(&sdk_config().await, &cfg).only(only);
    let report = if dry_run { scanner.dry_run(now).await } else { scanner.scan(now).await }.context("scan failed")?;
    match format {
        Format::Json => render::json(&report)?,
        Format::Table => print_table(&report),
    }
    if report.is_complete() {
        Ok(())
    } else {
        for e in &report.errors {
            eprintln!("error: {e}");
        }
        eprintln!("scan incomplete: see the failed changes and errors above");
        Err(Reported.into())
    }
}

fn print_table(r: &ScanReport) {
    let mode = if r.dry_run { " (dry run: nothing written, nothing started)" } else { "" };
    outln!("scan at {}{mode}", r.now);
    if r.busy {
        outln!("another scan is running: this one did nothing (scans take turns; the next one picks up anything left)");
        return;
    }
    outln!(
        "read {} item(s) in {} page(s): {} due ({} already expired), {} invalid, {} skipped",
        r.items_read,
        r.pages,
        r.due,
        r.urgent,
        r.invalid,
        r.skipped
    );
    if !r.changes.is_empty() {
        let mut t = render::table(&["change", "connectors", "urgent", "org", "window", "earliest expiry", "outcome"]);
        for c in &r.changes {
            let names: Vec<&str> = c.connector_ids.iter().take(3).map(|i| i.as_str()).collect();
            let more = c.connector_ids.len().saturating_sub(3);
            let list = if more > 0 { format!("{} (+{more})", names.join(", ")) } else { names.join(", ") };
            let outcome = match c.outcome {
                ChangeOutcome::Planned => "would start".to_owned(),
                ChangeOutcome::Started => "started".to_owned(),
                ChangeOutcome::AlreadyRunning => "already running".to_owned(),
                ChangeOutcome::EndedToday => "ended today".to_owned(),
                ChangeOutcome::Failed => format!("FAILED: {}", c.error.as_deref().unwrap_or("?")),
            };
            t.add_row(vec![
                c.change_id.clone(),
                list,
                if c.urgent { "URGENT".into() } else { String::new() },
                c.org.clone().unwrap_or_default(),
                c.window.clone().unwrap_or_else(|| "as soon as approved".into()),
                c.earliest_expiry.clone(),
                outcome,
            ]);
        }
        outln!("{t}");
    }
    for bad in &r.invalid_records {
        outln!("invalid {}: {}", bad.connector_id, bad.errors.join("; "));
    }
    for w in &r.repaired {
        outln!(
            "repaired {}: was {} under {} whose execution is {}; active again",
            w.connector_id,
            w.was,
            w.change_id,
            w.execution
        );
    }
    for s in &r.skipped_records {
        outln!("skipped {}: {}", s.connector_id, s.reason);
    }
    let h = &r.health;
    if h != &Default::default() {
        outln!(
            "attention: {} need manual intervention, {} expiring within 7 days with no change running, {} approvals overdue",
            h.needs_manual_intervention, h.expiring_unhandled, h.approvals_overdue
        );
    }
}
