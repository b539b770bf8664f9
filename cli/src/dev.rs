//! `keyturn dev …`: local stack setup and sample data for tests, demo and benchmarks.

use std::io::Write;
use std::path::PathBuf;

use crate::local;
use anyhow::Context;
use clap::Subcommand;
use keyturn_app::config::Config;
use keyturn_aws::sdk_config;
use keyturn_domain::timefmt::{format_utc, parse_instant};
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
    /// Give every connector of an inventory a current key on the local stack
    ///
    /// Creates each connector's secret (named after its secret_arn) with a
    /// random key and registers that key with the vendor and identity-provider
    /// simulators (SCIM directory, org API key, Entra, Okta). Local stack only.
    SeedVendors {
        file: PathBuf,
        /// The vendor simulators (tests/simulators)
        #[arg(long, env = "KEYTURN_DEV_VENDOR_URL", default_value = "http://127.0.0.1:4568")]
        vendor: String,
    },
    /// Write a synthetic audit-table export (valid chains and one signed digest), for benchmarks
    ///
    /// Prints the digest public key (a fixed development key) so `keyturn
    /// audit verify --public-key` can check it. Nothing is read or written in AWS.
    SampleAuditExport {
        /// Events in total
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Chains (connectors) they are spread over
        #[arg(long, default_value_t = 10_000)]
        connectors: u64,
        /// The export folder to create
        #[arg(long)]
        out: PathBuf,
    },
    /// Show the email keyturn sent on the local stack (captured by moto's SES), with its links
    ///
    /// Nothing leaves this machine locally: approval email lands here. Each
    /// message is listed with its recipients and the approval links it holds,
    /// ready to open in a browser.
    Outbox {
        /// Only messages to this address
        #[arg(long)]
        to: Option<String>,
        /// Only messages whose subject contains this text (e.g. a change id)
        #[arg(long)]
        subject: Option<String>,
        /// Print only the links, one per line: `<approve|reject|handover> <recipient> <url>`
        #[arg(long)]
        links: bool,
        /// Also write the first matching message's HTML body here (to look at it in a browser)
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// The local simulator (tests/localstack/sim.py)
        #[arg(long, env = "KEYTURN_SIM_URL", default_value = "http://127.0.0.1:4567")]
        sim: String,
    },
}

/// Approval links in an HTML body: `href="…?t=…"`, `&amp;` undone.
pub fn links_in(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|l| l.replace("&amp;", "&"))
        .filter(|l| l.contains("t=v1."))
        .collect()
}

/// What a link is for, from the decision its token carries: `approve`,
/// `reject`, or `handover` for a key hand-over (intake) link, which approves
/// nothing.
fn link_label(url: &str) -> &'static str {
    use keyturn_domain::approval::Decision;
    let token = url.split_once("t=").map_or("", |(_, t)| t.split('&').next().unwrap_or_default());
    match keyturn_domain::approval::unverified_decision(token) {
        Some(Decision::Approve) => "approve",
        Some(Decision::Reject) => "reject",
        Some(Decision::Intake) => "handover",
        None => "link",
    }
}

async fn outbox(
    to: Option<String>,
    subject: Option<String>,
    links_only: bool,
    html: Option<PathBuf>,
    sim: &str,
) -> anyhow::Result<()> {
    let url = format!("{}/_sim/ses", sim.trim_end_matches('/'));
    anyhow::ensure!(crate::local::is_loopback(&url), "--sim must be a local address, not {url}");
    let messages: Vec<serde_json::Value> = reqwest::get(&url)
        .await
        .with_context(|| format!("reading {url} (is the local stack up? `make up`)"))?
        .json()
        .await
        .context("the simulator's answer is not JSON")?;
    let field = |m: &serde_json::Value, k: &str| m.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let mut shown = 0;
    for m in &messages {
        let recipients: Vec<String> = m
            .pointer("/destinations/ToAddresses")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        if to.as_ref().is_some_and(|t| !recipients.iter().any(|r| r.eq_ignore_ascii_case(t))) {
            continue;
        }
        let subj = field(m, "subject");
        if subject.as_ref().is_some_and(|s| !subj.contains(s.as_str())) {
            continue;
        }
        shown += 1;
        if let (1, Some(path)) = (shown, &html) {
            std::fs::write(path, field(m, "body")).with_context(|| format!("writing {}", path.display()))?;
        }
        let links = links_in(&field(m, "body"));
        if links_only {
            for l in &links {
                outln!("{} {} {l}", link_label(l), recipients.join(","));
            }
            continue;
        }
        outln!("to: {}\nsubject: {subj}", recipients.join(", "));
        for l in &links {
            outln!("  {l}");
        }
        outln!();
    }
    if shown == 0 && !links_only {
        outln!("no matching email ({} captured in total)", messages.len());
    }
    Ok(())
}

pub async fn run(cmd: DevCommand) -> anyhow::Result<()> {
    match cmd {
        DevCommand::Setup => {
            let cfg = Config::from_env()?;
            let sdk = sdk_config().await;
            let report = local::setup(&sdk, &cfg.tables).await.context("setting up the local stack")?;
            for (table, created) in &report.tables {
                outln!("table {table}: {}", if *created { "created" } else { "exists" });
            }
            outln!("state machine: {}", report.state_machine_arn);
            Ok(())
        }
        DevCommand::Outbox { to, subject, links, html, sim } => outbox(to, subject, links, html, &sim).await,
        DevCommand::SeedVendors { file, vendor } => crate::seed::run(&file, &vendor).await,
        DevCommand::SampleAuditExport { events, connectors, out } => sample_audit_export(events, connectors, &out),
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

/// The development key of synthetic exports (never a deployment's key).
const SAMPLE_AUDIT_SEED: &str = "6b65797475726e2d73616d706c652d61756469742d6b65792d6e6f747265616c";

fn sample_audit_export(events: u64, connectors: u64, out: &std::path::Path) -> anyhow::Result<()> {
    use keyturn_audit::export::ExportWriter;
    use keyturn_domain::digest::{AuditSigner, Head, Scope};
    use keyturn_domain::{AuditEvent, ChainHead, ConnectorId, EventKind, NewAuditEvent};

    anyhow::ensure!(connectors >= 1 && connectors <= events, "--connectors must be between 1 and --events");
    let signer = AuditSigner::from_hex_seed(SAMPLE_AUDIT_SEED).map_err(|e| anyhow::anyhow!(e))?;
    let at = time::macros::datetime!(2026-11-24 06:00 UTC);
    let mut writer = ExportWriter::create(
        out,
        "01764000000000-5a3b1e00",
        "arn:aws:dynamodb:us-east-1:123456789012:table/keyturn-audit",
        "2026-11-25T07:00:00Z",
    )?;
    let kinds = [
        EventKind::Detected,
        EventKind::ApprovalRequested,
        EventKind::Approved,
        EventKind::RotationStarted,
        EventKind::PendingStored,
        EventKind::Verified,
        EventKind::Finalized,
        EventKind::Notified,
    ];
    let mut heads = std::collections::BTreeMap::new();
    let per = events / connectors;
    let bar = indicatif::ProgressBar::new(events);
    for c in 0..connectors {
        let id = ConnectorId::parse(&format!("atlassian/org-{}/scim-{c}", c % 97)).map_err(|e| anyhow::anyhow!(e))?;
        let n = per + u64::from(c < events % connectors);
        let mut head: Option<ChainHead> = None;
        let mut last: Option<AuditEvent> = None;
        for i in 0..n {
            let ev = NewAuditEvent::new(
                id.clone(),
                kinds[(i % 8) as usize],
                at + time::Duration::seconds(i as i64),
                "keyturn:rotate",
            )
            .change(&keyturn_domain::ChangeId::from_trusted(format!("chg-{}-{}", c % 97, i / 8)))
            .detail("old_fingerprint", format!("{:016x}", c * 1_000_003 + i))
            .detail("new_version", format!("v-{c}-{i}"))
            .seal(head.as_ref());
            writer.write(&keyturn_audit::event_item(&ev))?;
            head = Some(ev.head());
            last = Some(ev);
        }
        if let Some(ev) = last {
            heads.insert(id.to_string(), Head { seq: ev.seq, hash: ev.hash });
        }
        bar.inc(n);
    }
    for digest in signer.sign_all(None, "2026-11-24", Scope::Full, "2026-11-25T06:00:00Z", heads) {
        writer.write(&keyturn_audit::digest_item(&digest))?;
    }
    let dir = writer.finish()?;
    bar.finish_and_clear();
    eprintln!("wrote {events} events in {connectors} chains and their digests to {}", dir.display());
    outln!("{}", signer.public_key_hex());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn hand_over_links_are_not_labelled_approve() {
        use keyturn_domain::approval::{Decision, KeyRing, LinkClaims, Nonce, SigningKey};
        let ring = KeyRing { current: SigningKey::from_parts("k1", vec![7; 32]).unwrap(), previous: None };
        let link = |decision| {
            let claims = LinkClaims {
                change_id: keyturn_domain::ChangeId::parse("chg-20261124-0123456789abcdef").unwrap(),
                approver: keyturn_domain::approval::Approver::parse("ana@acme.example").unwrap(),
                decision,
                expires_at: time::OffsetDateTime::now_utc(),
                nonce: Nonce::random(),
                connector: None,
            };
            format!("https://x.example/cb?t={}", ring.sign(&claims).as_str())
        };
        assert_eq!(super::link_label(&link(Decision::Intake)), "handover");
        assert_eq!(super::link_label(&link(Decision::Approve)), "approve");
        assert_eq!(super::link_label(&link(Decision::Reject)), "reject");
    }

    #[test]
    fn the_sample_audit_seed_is_a_key() {
        assert!(keyturn_domain::digest::AuditSigner::from_hex_seed(super::SAMPLE_AUDIT_SEED).is_ok());
    }
}
