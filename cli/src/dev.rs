//! `keyturn dev …`: local stack setup and sample data for tests, demo and benchmarks.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use keyturn_core::aws::{local, sdk_config};
use keyturn_core::config::Config;
use keyturn_core::domain::timefmt::{format_utc, parse_instant};
use time::{Duration, OffsetDateTime};

#[derive(Subcommand)]
pub enum DevCommand {
    /// Create the tables (from infra/tables.json) and the rotation state machine on the local stack
    ///
    /// Idempotent. Refuses to run unless AWS_ENDPOINT_URL points at this machine.
    Setup,
    /// Write a generated inventory (CSV) with a chosen number of due and expired keys
    SampleInventory {
        /// Connectors in total
        #[arg(long, default_value_t = 100)]
        total: usize,
        /// How many expire within the due window (1 to 44 days after --now)
        #[arg(long, default_value_t = 10)]
        due: usize,
        /// How many have already expired at --now
        #[arg(long, default_value_t = 0)]
        expired: usize,
        /// Prefix of every connector id, so several inventories can share a table
        #[arg(long, default_value = "sample")]
        prefix: String,
        /// The reference time (default: now)
        #[arg(long, value_name = "RFC3339")]
        now: Option<String>,
        /// Write here instead of stdout
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
}

pub async fn run(cmd: DevCommand) -> anyhow::Result<()> {
    match cmd {
        DevCommand::Setup => {
            let cfg = Config::from_env()?;
            let sdk = sdk_config().await;
            let report = local::setup(&sdk, &cfg.tables).await.context("setting up the local stack")?;
            for (table, created) in &report.tables {
                println!("table {table}: {}", if *created { "created" } else { "exists" });
            }
            println!("state machine: {}", report.state_machine_arn);
            Ok(())
        }
        DevCommand::SampleInventory { total, due, expired, prefix, now, out } => {
            anyhow::ensure!(
                due + expired <= total,
                "--due plus --expired ({}) is more than --total ({total})",
                due + expired
            );
            let now = match now {
                Some(raw) => parse_instant(&raw).with_context(|| format!("--now {raw:?} is not an RFC 3339 time"))?,
                None => OffsetDateTime::now_utc(),
            };
            let text = sample_csv(total, due, expired, &prefix, now);
            match out {
                Some(path) => std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?,
                None => std::io::stdout().write_all(text.as_bytes())?,
            }
            Ok(())
        }
    }
}

/// A deterministic inventory: the first `expired` records have expired, the
/// next `due` expire within 44 days, the rest between 60 and 400 days out.
fn sample_csv(total: usize, due: usize, expired: usize, prefix: &str, now: OffsetDateTime) -> String {
    let mut out = String::from(
        "id,kind,org,directory_id,idp,idp_app_id,idp_job_id,owner,approver_group,change_window,secret_arn,expires_at\n",
    );
    for i in 0..total {
        let step = i64::try_from(i).unwrap_or(0);
        let expires = if i < expired {
            now - Duration::days(1 + step % 10)
        } else if i < expired + due {
            now + Duration::days(1 + step % 44)
        } else {
            now + Duration::days(60 + step % 340)
        };
        let org = format!("org-{:02}", i % 25);
        let (kind, dir, idp, app, job) = match i % 3 {
            0 => ("atlassian-scim", format!("dir-{i}"), "entra", format!("sp-{i}"), format!("scim.job{i}")),
            1 => ("atlassian-scim", format!("dir-{i}"), "okta", format!("0oa{i}"), String::new()),
            _ => ("atlassian-api-key", String::new(), "none", String::new(), String::new()),
        };
        let window = if i % 2 == 0 { "sat 02:00-04:00" } else { "" };
        out.push_str(&format!(
            "{prefix}/{org}/key-{i:06},{kind},{org},{dir},{idp},{app},{job},owner{}@{org}.example,it-change,{window},arn:aws:secretsmanager:us-east-1:123456789012:secret:keyturn/{prefix}/{i},{}\n",
            i % 7,
            format_utc(expires)
        ));
    }
    out
}
