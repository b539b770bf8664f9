//! `keyturn audit …`: read a connector's audit trail and check its hash chain.
//! (Exports, Athena and whole-table verification come with the auditor tooling.)

use anyhow::Context;
use clap::Subcommand;
use keyturn_core::aws::{sdk_config, DynamoAuditLog};
use keyturn_core::config::Config;
use keyturn_core::domain::{check_link, ConnectorId};

use crate::{render, Format, Reported};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Print one connector's audit trail, oldest first, and check its hash chain
    ///
    /// Exit status 1 if the chain is broken (an item edited, removed or reordered).
    Show {
        /// The connector id, e.g. atlassian/acme/entra
        connector: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

pub async fn run(cmd: AuditCommand) -> anyhow::Result<()> {
    let AuditCommand::Show { connector, format } = cmd;
    let id = ConnectorId::parse(&connector).map_err(|e| anyhow::anyhow!("connector {connector:?}: {e}"))?;
    let cfg = Config::from_env()?;
    let log = DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(&sdk_config().await), &cfg.tables.audit);
    let events = log.chain(&id).await.context("reading the audit table")?;
    let problems: Vec<String> = events
        .iter()
        .enumerate()
        .flat_map(|(i, ev)| {
            check_link(i.checked_sub(1).map(|p| &events[p]), ev)
                .into_iter()
                .map(move |p| format!("seq {}: {p}", ev.seq))
        })
        .collect();
    match format {
        Format::Json => render::json(
            &serde_json::json!({"connector": id, "events": events, "chain_ok": problems.is_empty(), "problems": problems}),
        )?,
        Format::Table => {
            let mut t = render::table(&["seq", "at", "event", "actor", "change", "detail"]);
            for ev in &events {
                let detail: Vec<String> = ev.detail.iter().map(|(k, v)| format!("{k}={v}")).collect();
                t.add_row(vec![
                    ev.seq.to_string(),
                    ev.at.clone(),
                    ev.event.clone(),
                    ev.actor.clone(),
                    ev.change_id.clone().unwrap_or_default(),
                    detail.join("\n"),
                ]);
            }
            println!("{t}");
            match problems.is_empty() {
                true if events.is_empty() => println!("no audit events for {id}"),
                true => println!(
                    "{} event(s); hash chain intact (head {})",
                    events.len(),
                    &events[events.len() - 1].hash[..16]
                ),
                false => {}
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        for p in &problems {
            eprintln!("chain broken: {p}");
        }
        Err(Reported.into())
    }
}
