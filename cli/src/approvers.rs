//! `keyturn approvers …` and `keyturn links …`: who approves, and the key
//! that signs their links.

use std::path::Path;

use anyhow::Context;
use clap::Subcommand;
use keyturn_app::approval::Routing;
use keyturn_app::config::Config;
use keyturn_aws::{sdk_config, DynamoAuditLog, SecretsRouting, SecretsSigningKeys};

#[derive(Subcommand)]
pub enum ApproversCommand {
    /// Check an approver routing file (YAML or JSON) and store it in Secrets Manager
    ///
    /// The file maps each approver_group used in the inventory to its approvers,
    /// how many must approve (`required`), the two-person rule, email and/or a
    /// Slack incoming webhook, and escalation contacts. See docs/approvals.md.
    /// It is kept as a secret because Slack webhook URLs are credentials.
    Set {
        file: std::path::PathBuf,
        /// Check only; store nothing
        #[arg(long)]
        check: bool,
    },
    /// Print the stored routing (webhook URLs shortened to their host)
    Show,
}

#[derive(Subcommand)]
pub enum LinksCommand {
    /// Make a new link-signing key current now (the daily run does this on
    /// schedule, KEYTURN_SIGNING_KEY_MAX_AGE); links signed with the key it
    /// replaces stay valid until they expire, links of the key before stop working
    RotateKey {
        /// Who is rotating, for the audit trail (default: $USER)
        #[arg(long, env = "USER", default_value = "operator")]
        actor: String,
    },
}

/// An actor for the audit trail: one short line.
pub(crate) fn check_actor(actor: &str) -> anyhow::Result<&str> {
    let actor = actor.trim();
    if actor.is_empty() || actor.len() > 200 || actor.chars().any(|c| c.is_control() || c.is_whitespace()) {
        anyhow::bail!("--actor: who is rotating, one word of at most 200 characters (e.g. an email address)");
    }
    Ok(actor)
}

fn read_routing(file: &Path) -> anyhow::Result<Routing> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let parsed = match file.extension().and_then(|e| e.to_str()) {
        Some("json") => Routing::from_json(&text),
        Some("yaml" | "yml") => Routing::from_yaml(&text),
        _ => anyhow::bail!("{}: use a .yaml, .yml or .json file", file.display()),
    };
    parsed.with_context(|| file.display().to_string())
}

pub async fn run(cmd: ApproversCommand) -> anyhow::Result<()> {
    let cfg = Config::from_env()?;
    match cmd {
        ApproversCommand::Set { file, check } => {
            let routing = read_routing(&file)?;
            let groups = routing.groups.len();
            if check {
                outln!("{}: {groups} approver group(s), valid", file.display());
                return Ok(());
            }
            let store = SecretsRouting::new(
                aws_sdk_secretsmanager::Client::new(&sdk_config().await),
                &cfg.approval.routing_secret,
            );
            store.put(&routing).await.context("storing the approver routing")?;
            outln!("{}: {groups} approver group(s) stored in secret {}", file.display(), store.secret_id());
        }
        ApproversCommand::Show => {
            let store = SecretsRouting::new(
                aws_sdk_secretsmanager::Client::new(&sdk_config().await),
                &cfg.approval.routing_secret,
            );
            let routing = keyturn_app::ports::RoutingSource::routing(&store).await?;
            for (name, g) in &routing.groups {
                outln!("{name}:");
                outln!("  approvers: {}", g.approvers.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", "));
                outln!("  required: {}{}", g.required, if g.two_person { ", two-person rule" } else { "" });
                outln!("  email: {}", if g.email { "yes" } else { "no" });
                if let Some(h) = &g.slack_webhook {
                    outln!("  slack: {}", h.redacted());
                }
                if !g.escalation.is_empty() {
                    let mut to: Vec<String> = g.escalation.email.iter().map(ToString::to_string).collect();
                    to.extend(g.escalation.slack_webhook.as_ref().map(|h| format!("slack {}", h.redacted())));
                    outln!("  escalation: {}", to.join(", "));
                }
            }
        }
    }
    Ok(())
}

pub async fn run_links(cmd: LinksCommand) -> anyhow::Result<()> {
    let cfg = Config::from_env()?;
    match cmd {
        LinksCommand::RotateKey { actor } => {
            let actor = check_actor(&actor)?;
            let sdk = sdk_config().await;
            let keys =
                SecretsSigningKeys::new(aws_sdk_secretsmanager::Client::new(&sdk), &cfg.approval.signing_key_secret);
            let log = DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(&sdk), &cfg.tables.audit);
            let now = time::OffsetDateTime::now_utc();
            let r =
                keyturn_app::watch::signing_keys::rotate_link_key(&keys, &log, &format!("cli:{actor}"), "manual", now)
                    .await
                    .context("rotating the link-signing key")?;
            outln!(
                "link-signing key rotated: new key id {}; links signed with {} stay valid until they expire, links signed before the rotation that made {} no longer work",
                r.current,
                r.previous,
                r.previous
            );
            if let Some(e) = r.audit_error {
                anyhow::bail!("the key was rotated, but its audit event was not written: {e}");
            }
        }
    }
    Ok(())
}
