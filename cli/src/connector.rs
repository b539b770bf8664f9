//! `keyturn connector …`: day-2 work on one connector.

use anyhow::{bail, Context};
use clap::Subcommand;
use keyturn_app::config::Config;
use keyturn_app::ports::AuditLog;
use keyturn_aws::{sdk_config, DynamoAuditLog, DynamoInventory};
use keyturn_domain::{ConnectorId, EventKind, NewAuditEvent};

#[derive(Subcommand)]
pub enum ConnectorCommand {
    /// Clear needs_manual_intervention after fixing what a failed rotation left
    ///
    /// The connector becomes active again (the next scan picks it up if its
    /// key is still due). Recorded in its audit trail with who did it and why.
    Resolve {
        /// The connector id, e.g. atlassian/acme/admin-api
        id: String,
        /// What was done (required: it goes into the audit trail)
        #[arg(long)]
        note: String,
        /// Who is resolving it (default: $USER)
        #[arg(long, env = "USER", default_value = "unknown")]
        actor: String,
    },
}

pub async fn run(cmd: ConnectorCommand) -> anyhow::Result<()> {
    let ConnectorCommand::Resolve { id, note, actor } = cmd;
    let id = ConnectorId::parse(&id).map_err(|e| anyhow::anyhow!("connector {id:?}: {e}"))?;
    let note = note.trim();
    if note.is_empty() {
        bail!("--note: say what was done; it goes into the audit trail");
    }
    if note.chars().any(char::is_control) || note.len() > 1000 {
        bail!("--note: one line of at most 1000 characters");
    }
    let cfg = Config::from_env()?;
    let sdk = sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let inventory = DynamoInventory::new(dynamodb.clone(), &cfg.tables.connectors);
    let now = time::OffsetDateTime::now_utc();
    if !inventory.resolve_manual(&id, now).await.context("updating the connector")? {
        bail!("{id} is not marked needs_manual_intervention (or does not exist): nothing changed");
    }
    let audit = DynamoAuditLog::new(dynamodb, &cfg.tables.audit);
    let ev = NewAuditEvent::new(id.clone(), EventKind::Resolved, now, format!("cli:{actor}")).detail("note", note);
    audit.append(ev).await.context("writing the audit event (the connector is already active again)")?;
    outln!("{id} is active again; resolution by {actor} recorded in its audit trail");
    Ok(())
}
