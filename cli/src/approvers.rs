//! `keyturn approvers …` and `keyturn links …`: who approves, and the key
//! that signs their links.

use std::path::Path;

use anyhow::Context;
use clap::Subcommand;
use keyturn_app::approval::Routing;
use keyturn_app::config::Config;
use keyturn_aws::{sdk_config, SecretsRouting, SecretsSigningKeys};

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
    /// Make a new link-signing key current; links signed with the previous key
    /// stay valid until they expire, older ones stop working
    RotateKey,
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
        LinksCommand::RotateKey => {
            let keys = SecretsSigningKeys::new(
                aws_sdk_secretsmanager::Client::new(&sdk_config().await),
                &cfg.approval.signing_key_secret,
            );
            let kid = keys.rotate().await.context("rotating the link-signing key")?;
            outln!(
                "link-signing key rotated: new key id {kid}; links signed before the previous rotation no longer work"
            );
        }
    }
    Ok(())
}
