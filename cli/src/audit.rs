//! `keyturn audit …`: the audit trail, for operators (show, anchor, export)
//! and for auditors (verify, query), who need nothing but an export and the
//! digest public key. The chain and digest formats are in docs/audit.md.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use keyturn_app::config::Config;
use keyturn_app::ports::AuditKeys;
use keyturn_audit::export::{Export, ExportWriter};
use keyturn_audit::query::{EventRow, Filter, Report, ReportBuilder};
use keyturn_audit::verify::{self, Options, Verification};
use keyturn_audit::{entry, Entry};
use keyturn_aws::{sdk_config, DynamoAuditLog, SecretsAuditKey};
use keyturn_domain::signing_keys::PublishedKey;
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::{check_link, ConnectorId};

use crate::{render, ClockArgs, Format, Reported};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Print one connector's audit trail, oldest first, and check its hash chain
    ///
    /// Reads the live table. Exit status 1 if the chain is broken (an item
    /// edited, removed or reordered).
    Show {
        /// The connector id, e.g. atlassian/acme/entra
        connector: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Verify every hash chain and signed digest of a DynamoDB export of the audit table
    ///
    /// EXPORT is a folder (the export's AWSDynamoDB/<id>/ or the folder above
    /// it) or s3://bucket/prefix. Reports each problem with its connector,
    /// sequence number and file:line: missing, doubled, edited or re-linked
    /// events, newest events removed, chains rewritten with recomputed
    /// hashes, forged digests, and damaged files. Exit status 0 only when
    /// everything is intact.
    Verify {
        export: String,
        /// A digest signer's public key, from `keyturn audit public-key`:
        /// HEX, or HEX@FROM..UNTIL for a retired key (repeatable; one value may
        /// hold several, one a line, as `"$(keyturn audit public-key)"` does).
        /// Every digest must be signed by one of them within its validity.
        /// Without any, digests prove consistency, not who signed them.
        #[arg(long = "public-key", env = "KEYTURN_AUDIT_PUBLIC_KEY", value_name = "HEX[@FROM..UNTIL]")]
        public_keys: Vec<String>,
        /// Refuse the export unless signed digests anchor every chain up to
        /// this time (RFC 3339): e.g. when operators ran `keyturn audit anchor
        /// --full` before exporting. Without it, events newer than the newest
        /// digest are reported as unanchored, not refused.
        #[arg(long, value_name = "RFC3339", value_parser = crate::parse_now)]
        require_anchored_until: Option<time::OffsetDateTime>,
        /// When the export verifies, write the Athena symlink manifest of the
        /// data files that were verified to this file (s3:// EXPORT only; see
        /// infra/athena/tables.sql). Nothing is written when it does not verify.
        #[arg(long, value_name = "FILE")]
        athena_manifest: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Filter the events of an export, or print one of the built-in reports
    ///
    /// Reports: approvals (who approved which change, when, by which
    /// channel), rotations (per connector and change: key fingerprints
    /// before and after, outcome), failures (rollbacks, failed verifications,
    /// manual interventions and their resolution). Filters apply before the report.
    Query(QueryArgs),
    /// Write an export of the audit table
    ///
    /// To s3://bucket/prefix: DynamoDB ExportTableToPointInTime (needs point-in-time
    /// recovery, as deployed), waited for. To a folder: the same format from a
    /// consistent scan (the local stack, or a quick copy).
    Export {
        /// A folder, or s3://bucket/prefix
        #[arg(long, value_name = "DIR|S3_URL")]
        to: String,
    },
    /// Sign the audit digests of every finished day not yet anchored (the scanner does this daily)
    Anchor {
        /// Sign one digest of every chain's head right now (before handing out an export)
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        clock: ClockArgs,
    },
    /// Print every public key that verifies digests: hand them to auditors
    ///
    /// One line per published key, oldest first: HEX@CREATED..RETIRED for a
    /// retired key, HEX for the current one (its dates on stderr), the form
    /// `audit verify --public-key` takes.
    PublicKey {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Make a new audit-signing key current now (the daily run does this on
    /// schedule, KEYTURN_AUDIT_KEY_MAX_AGE); the old one stays published
    RotateKey {
        /// Who is rotating, for the audit trail (default: $USER)
        #[arg(long, env = "USER", default_value = "operator")]
        actor: String,
    },
}

#[derive(Args)]
pub struct QueryArgs {
    /// Folder or s3://bucket/prefix of a DynamoDB export of the audit table
    export: String,
    /// A built-in report instead of the events
    #[arg(long, value_parser = ["approvals", "rotations", "failures"])]
    report: Option<String>,
    #[arg(long)]
    connector: Option<String>,
    #[arg(long)]
    change: Option<String>,
    /// An actor, e.g. approver:ann@example.com or just ann@example.com
    #[arg(long)]
    actor: Option<String>,
    /// An event name (repeatable), e.g. approved, finalized, rolled_back
    #[arg(long = "event", value_name = "EVENT")]
    events: Vec<String>,
    /// Events at or after this time (RFC 3339)
    #[arg(long, value_parser = crate::parse_now)]
    since: Option<time::OffsetDateTime>,
    /// Events before this time (RFC 3339)
    #[arg(long, value_parser = crate::parse_now)]
    until: Option<time::OffsetDateTime>,
    /// approved, rejected, expired, rotated, rolled_back, rollback_failed, needs_manual_intervention, ...
    #[arg(long)]
    outcome: Option<String>,
    #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
    format: QueryFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    Table,
    Json,
    Csv,
}

pub async fn run(cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Show { connector, format } => show(&connector, format).await,
        AuditCommand::Verify { export, public_keys, require_anchored_until, athena_manifest, format } => {
            if athena_manifest.is_some() && parse_s3(&export)?.is_none() {
                bail!("--athena-manifest lists S3 objects: give the export as s3://bucket/prefix");
            }
            let local = Local::fetch(&export).await?;
            let options = Options { public_keys, anchored_until: require_anchored_until };
            let verified = verify_export(local.path(), options, format)?;
            if let (Some(file), Some(base)) = (athena_manifest, local.s3_url(&verified.dir)) {
                std::fs::write(&file, keyturn_audit::export::symlink_manifest(&verified, &base))
                    .with_context(|| format!("writing {}", file.display()))?;
                eprintln!(
                    "wrote the Athena symlink manifest of the {} verified data file(s) to {}",
                    verified.files.len(),
                    file.display()
                );
            }
            Ok(())
        }
        AuditCommand::Query(args) => {
            let local = Local::fetch(&args.export).await?;
            query(local.path(), &args)
        }
        AuditCommand::Export { to } => export(&to).await,
        AuditCommand::Anchor { full, clock } => anchor(full, clock.now()).await,
        AuditCommand::PublicKey { format } => public_key(format).await,
        AuditCommand::RotateKey { actor } => rotate_key(&actor).await,
    }
}

async fn show(connector: &str, format: Format) -> anyhow::Result<()> {
    let id = ConnectorId::parse(connector).map_err(|e| anyhow::anyhow!("connector {connector:?}: {e}"))?;
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
                // Each value escaped before the join, so a value cannot fake a line of its own.
                let detail: Vec<String> =
                    ev.detail.iter().map(|(k, v)| render::safe(&format!("{k}={v}")).into_owned()).collect();
                t.add_row(vec![
                    ev.seq.to_string(),
                    ev.at.clone(),
                    ev.event.clone(),
                    ev.actor.clone(),
                    ev.change_id.clone().unwrap_or_default(),
                    detail.join("\n"),
                ]);
            }
            outln!("{t}");
            match events.last() {
                None => outln!("no audit events for {id}"),
                Some(last) if problems.is_empty() => {
                    outln!(
                        "{} event(s); hash chain intact (head {})",
                        events.len(),
                        &last.hash[..16.min(last.hash.len())]
                    )
                }
                Some(_) => {}
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    for p in &problems {
        eprintln!("chain broken: {p}");
    }
    Err(Reported.into())
}

fn progress_bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} {{pos}}/{{len}} items [{{bar:30}}] {{per_sec}} eta {{eta}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Only a terminal gets the bar; logs and pipes stay clean.
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}

fn open(path: &Path) -> anyhow::Result<Export> {
    Ok(Export::open(path)?)
}

/// Verifies; the export when it is intact, [`Reported`] when it is not.
fn verify_export(path: &Path, options: Options, format: Format) -> anyhow::Result<Export> {
    let export = open(path)?;
    let bar = progress_bar(export.summary.item_count, "verifying");
    let v = verify::verify(&export, &options, |n| bar.set_position(n))?;
    bar.finish_and_clear();
    match format {
        Format::Json => render::json(&serde_json::json!({"intact": v.intact(), "verification": v}))?,
        Format::Table => print_verification(&v),
    }
    if v.intact() {
        Ok(export)
    } else {
        Err(Reported.into())
    }
}

fn print_verification(v: &Verification) {
    for line in verification_lines(v) {
        outln!("{line}");
    }
    if !v.intact() {
        eprintln!("NOT INTACT: {} problem(s)", v.problems.len());
    }
}

/// What `audit verify` prints on stdout. Everything in an export is
/// untrusted, so every line and cell is escaped ([`render::safe`]).
fn verification_lines(v: &Verification) -> Vec<String> {
    let mut out = vec![render::safe(&verify::summary_line(v)).into_owned()];
    let keys: Vec<&String> =
        if v.digest_keys.is_empty() { v.digest_key.iter().collect() } else { v.digest_keys.iter().collect() };
    if !keys.is_empty() {
        let pinned = match (v.key_pinned, keys.len()) {
            (true, 1) => "the pinned key",
            (true, _) => "the pinned keys",
            (false, 1) => "the key they name (not pinned)",
            (false, _) => "the keys they name (not pinned)",
        };
        // A key the digests name is any text (a hostile one need not be hex).
        let short: Vec<String> = keys.iter().map(|k| k.chars().take(16).collect()).collect();
        out.push(
            render::safe(&format!(
                "digests: signed by {pinned} {}, newest covers {}",
                short.join(" then "),
                v.newest_digest_day.as_deref().unwrap_or("-")
            ))
            .into_owned(),
        );
    }
    for n in &v.notes {
        out.push(format!("note: {}", render::safe(n)));
    }
    if v.intact() {
        let signed = if v.key_pinned { "under the pinned key" } else { "under the key they name (not pinned)" };
        out.push(match (&v.anchored_through, v.unanchored_events) {
            (Some(t), 0) => format!(
                "INTACT: every chain is complete and unedited, every digest verifies {signed}, every event is anchored (through {})",
                render::safe(t)
            ),
            (Some(t), n) => format!(
                "INTACT through {}: every chain is complete and unedited, every digest verifies {signed}; {n} newer event(s) are not anchored yet",
                render::safe(t)
            ),
            (None, _) => "INTACT: the export holds no events".into(),
        });
        return out;
    }
    let mut t = render::table(&["problem", "connector", "seq", "where", "what"]);
    for p in &v.problems {
        t.add_row(vec![
            serde_json::to_value(p.kind).ok().and_then(|k| k.as_str().map(str::to_owned)).unwrap_or_default(),
            p.connector.clone().unwrap_or_default(),
            p.seq.map(|s| s.to_string()).unwrap_or_default(),
            p.place.clone().unwrap_or_default(),
            p.what.clone(),
        ]);
    }
    out.push(t.to_string());
    out
}

fn query(path: &Path, args: &QueryArgs) -> anyhow::Result<()> {
    let export = open(path)?;
    let filter = Filter {
        connector: args.connector.clone(),
        change: args.change.clone(),
        actor: args.actor.clone(),
        events: args.events.clone(),
        since: args.since,
        until: args.until,
        outcome: args.outcome.clone(),
    };
    let mut events = Vec::new();
    let mut unreadable = 0u64;
    let mut file_problems = Vec::new();
    let bar = progress_bar(export.summary.item_count, "reading");
    let mut n = 0u64;
    export.items(&mut file_problems, |_, item| {
        n += 1;
        if n.is_multiple_of(4096) {
            bar.set_position(n);
        }
        match item.and_then(entry) {
            Ok(Entry::Event(ev)) if filter.matches(&ev) => events.push(ev),
            Ok(_) => {}
            Err(_) => unreadable += 1,
        }
    });
    bar.finish_and_clear();
    if unreadable > 0 || !file_problems.is_empty() {
        eprintln!(
            "warning: {unreadable} unreadable item(s) and {} file problem(s) skipped; `keyturn audit verify` says what is wrong",
            file_problems.len()
        );
    }
    match args.report.as_deref().and_then(Report::parse) {
        Some(report) => {
            let mut b = ReportBuilder::default();
            for ev in &events {
                b.add(ev);
            }
            let columns = report.columns();
            let rows = b.rows(report);
            match args.format {
                QueryFormat::Json => render::json(
                    &rows
                        .iter()
                        .map(|r| {
                            columns
                                .iter()
                                .zip(r)
                                .map(|(c, v)| ((*c).to_owned(), serde_json::Value::from(v.as_str())))
                                .collect()
                        })
                        .collect::<Vec<serde_json::Map<String, serde_json::Value>>>(),
                )?,
                QueryFormat::Csv => write_csv(columns, rows.iter().map(|r| r.iter().map(String::as_str).collect()))?,
                QueryFormat::Table => outln!("{}", report_table(columns, &rows)),
            }
        }
        None => {
            events.sort_by(|a, b| (&a.at, &a.connector_id, a.seq).cmp(&(&b.at, &b.connector_id, b.seq)));
            let rows: Vec<EventRow<'_>> = events.iter().map(EventRow::from).collect();
            let columns = ["at", "connector", "seq", "event", "actor", "change", "detail"];
            match args.format {
                QueryFormat::Json => render::json(&events)?,
                QueryFormat::Csv => {
                    let seqs: Vec<String> = rows.iter().map(|r| r.seq.to_string()).collect();
                    write_csv(
                        &columns,
                        rows.iter().zip(&seqs).map(|(r, seq)| {
                            vec![r.at, r.connector, seq.as_str(), r.event, r.actor, r.change, r.detail.as_str()]
                        }),
                    )?
                }
                QueryFormat::Table => {
                    let mut t = render::table(&columns);
                    for r in &rows {
                        t.add_row(vec![r.at, r.connector, &r.seq.to_string(), r.event, r.actor, r.change, &r.detail]);
                    }
                    outln!("{t}");
                    outln!("{} event(s)", rows.len());
                }
            }
        }
    }
    Ok(())
}

/// CSV on stdout; cells escaped like every other output (a spreadsheet gets
/// `\x1b`, a terminal showing the CSV is not repainted).
fn write_csv<'a>(columns: &[&str], rows: impl Iterator<Item = Vec<&'a str>>) -> anyhow::Result<()> {
    write_csv_to(std::io::stdout().lock(), columns, rows)
}

fn write_csv_to<'a>(
    out: impl std::io::Write,
    columns: &[&str],
    rows: impl Iterator<Item = Vec<&'a str>>,
) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(columns)?;
    for r in rows {
        w.write_record(r.iter().map(|c| render::safe(c).into_owned()))?;
    }
    w.flush()?;
    Ok(())
}

/// A built-in report as a table (cells escaped by [`render::table`]).
fn report_table(columns: &[&str], rows: &[Vec<String>]) -> render::Table {
    let mut t = render::table(columns);
    for r in rows {
        t.add_row(r);
    }
    t
}

async fn anchor(full: bool, now: time::OffsetDateTime) -> anyhow::Result<()> {
    let cfg = Config::from_env()?;
    let sdk = sdk_config().await;
    let log = DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(&sdk), &cfg.tables.audit);
    let keys = SecretsAuditKey::new(aws_sdk_secretsmanager::Client::new(&sdk), &cfg.audit_key_secret);
    let report = if full {
        keyturn_app::audit::anchor::anchor_all(&log, &keys, now).await
    } else {
        keyturn_app::audit::anchor::anchor(&log, &keys, now).await
    }
    .context("anchoring the audit table")?;
    for (seq, day, chains) in &report.written {
        outln!("digest {seq} signed for {day}: {chains} chain head(s)");
    }
    match (&report.through, report.written.is_empty()) {
        (Some(day), true) => outln!("already anchored through {day}"),
        (None, true) => outln!("nothing to anchor yet"),
        _ => {}
    }
    Ok(())
}

async fn public_key(format: Format) -> anyhow::Result<()> {
    let cfg = Config::from_env()?;
    let keys = SecretsAuditKey::new(aws_sdk_secretsmanager::Client::new(&sdk_config().await), &cfg.audit_key_secret);
    let published = keys.published().await.with_context(|| format!("reading {}", cfg.audit_key_secret))?;
    let schedule = keyturn_app::watch::KeySchedule::from(&cfg);
    match format {
        Format::Json => render::json(&published_json(&published, &schedule))?,
        Format::Table => {
            for line in published_lines(&published) {
                outln!("{line}");
            }
            if let Some(current) = published.last() {
                eprintln!(
                    "{} published key(s); the current one (last) signs since {}, rotated by {} (KEYTURN_AUDIT_KEY_MAX_AGE)",
                    published.len(),
                    format_utc(current.created_at),
                    format_utc(schedule.audit.rotate_by(current.created_at))
                );
            }
        }
    }
    Ok(())
}

/// What `audit public-key` prints on stdout: the `--public-key` values.
fn published_lines(published: &[PublishedKey]) -> Vec<String> {
    published.iter().map(PublishedKey::verify_arg).collect()
}

fn published_json(published: &[PublishedKey], schedule: &keyturn_app::watch::KeySchedule) -> serde_json::Value {
    let keys: Vec<serde_json::Value> = published
        .iter()
        .map(|k| {
            serde_json::json!({
                "public_key": k.public_key,
                "created_at": format_utc(k.created_at),
                "retired_at": k.retired_at.map(format_utc),
                "rotate_by": k.retired_at.is_none().then(|| format_utc(schedule.audit.rotate_by(k.created_at))),
                "verify_arg": k.verify_arg(),
            })
        })
        .collect();
    serde_json::Value::Array(keys)
}

async fn rotate_key(actor: &str) -> anyhow::Result<()> {
    let actor = crate::approvers::check_actor(actor)?;
    let cfg = Config::from_env()?;
    let sdk = sdk_config().await;
    let keys = SecretsAuditKey::new(aws_sdk_secretsmanager::Client::new(&sdk), &cfg.audit_key_secret);
    let log = DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(&sdk), &cfg.tables.audit);
    let now = time::OffsetDateTime::now_utc();
    let r = keyturn_app::watch::signing_keys::rotate_audit_key(&keys, &log, &format!("cli:{actor}"), "manual", now)
        .await
        .context("rotating the audit-signing key")?;
    outln!(
        "audit-signing key rotated: new public key {}; the old one ({}) is retired and stays published: hand auditors `keyturn audit public-key`",
        r.current,
        r.previous
    );
    if let Some(e) = r.audit_error {
        bail!("the key was rotated, but its audit event was not written: {e}");
    }
    Ok(())
}

async fn export(to: &str) -> anyhow::Result<()> {
    let cfg = Config::from_env()?;
    let sdk = sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = dynamodb
        .describe_table()
        .table_name(&cfg.tables.audit)
        .send()
        .await
        .with_context(|| format!("describing {}", cfg.tables.audit))?;
    let table_arn = table.table().and_then(|t| t.table_arn()).unwrap_or_default().to_owned();
    if let Some((bucket, prefix)) = parse_s3(to)? {
        return export_to_s3(&dynamodb, &table_arn, &bucket, &prefix).await;
    }
    let now = time::OffsetDateTime::now_utc();
    let export_id = format!("{}-{}", now.unix_timestamp() * 1000, random_hex(4)?);
    let mut writer = ExportWriter::create(Path::new(to), &export_id, &table_arn, &format_utc(now))
        .with_context(|| format!("creating {to}"))?;
    let bar = progress_bar(table.table().and_then(|t| t.item_count()).unwrap_or(0).max(0) as u64, "exporting");
    let mut pages = dynamodb.scan().table_name(&cfg.tables.audit).consistent_read(true).into_paginator().send();
    let mut n = 0u64;
    while let Some(page) = pages.next().await {
        let page = page.context("scanning the audit table")?;
        for item in page.items() {
            writer.write(&keyturn_aws::export_item(item))?;
            n += 1;
        }
        bar.set_position(n);
    }
    bar.finish_and_clear();
    let dir = writer.finish()?;
    outln!("exported {n} item(s) of {} to {}", cfg.tables.audit, dir.display());
    Ok(())
}

async fn export_to_s3(
    dynamodb: &aws_sdk_dynamodb::Client,
    table_arn: &str,
    bucket: &str,
    prefix: &str,
) -> anyhow::Result<()> {
    use aws_sdk_dynamodb::types::{ExportFormat, ExportStatus};
    let out = dynamodb
        .export_table_to_point_in_time()
        .table_arn(table_arn)
        .s3_bucket(bucket)
        .s3_prefix(prefix)
        .export_format(ExportFormat::DynamodbJson)
        .send()
        .await
        .context("ExportTableToPointInTime (the table needs point-in-time recovery; CDK and Terraform turn it on)")?;
    let arn = out.export_description().and_then(|d| d.export_arn()).unwrap_or_default().to_owned();
    eprintln!("export {arn} started; waiting for it (minutes, not seconds)");
    loop {
        let d = dynamodb.describe_export().export_arn(&arn).send().await.context("DescribeExport")?;
        let desc = d.export_description();
        match desc.and_then(|d| d.export_status()) {
            Some(ExportStatus::Completed) => {
                let manifest = desc.and_then(|d| d.export_manifest()).unwrap_or_default();
                let folder = manifest.rsplit_once('/').map(|(f, _)| f).unwrap_or(manifest);
                outln!("exported {} item(s) to s3://{bucket}/{folder}", desc.and_then(|d| d.item_count()).unwrap_or(0));
                return Ok(());
            }
            Some(ExportStatus::Failed) => {
                bail!("export failed: {}", desc.and_then(|d| d.failure_message()).unwrap_or("no reason given"))
            }
            _ => tokio::time::sleep(std::time::Duration::from_secs(10)).await,
        }
    }
}

fn parse_s3(url: &str) -> anyhow::Result<Option<(String, String)>> {
    let Some(rest) = url.strip_prefix("s3://") else { return Ok(None) };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        bail!("{url:?}: no bucket (expected s3://bucket/prefix)");
    }
    Ok(Some((bucket.to_owned(), prefix.trim_end_matches('/').to_owned())))
}

fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex::encode(b))
}

/// An export as a local folder: the folder given, or an S3 export downloaded
/// to a temporary folder that goes away afterwards.
struct Local {
    path: PathBuf,
    temporary: bool,
    /// (bucket, prefix) when downloaded from S3.
    s3: Option<(String, String)>,
}

impl Local {
    async fn fetch(source: &str) -> anyhow::Result<Self> {
        match parse_s3(source)? {
            None => Ok(Self { path: PathBuf::from(source), temporary: false, s3: None }),
            Some((bucket, prefix)) => Self::download(source, &bucket, &prefix).await,
        }
    }

    #[cfg(not(feature = "s3"))]
    async fn download(source: &str, bucket: &str, prefix: &str) -> anyhow::Result<Self> {
        bail!(
            "{source}: this keyturn was built without S3 support (the `s3` feature); \
             download the export first (aws s3 sync s3://{bucket}/{prefix} DIR) and pass the folder"
        )
    }

    #[cfg(feature = "s3")]
    async fn download(source: &str, bucket: &str, prefix: &str) -> anyhow::Result<Self> {
        use std::io::Write as _;
        let sdk = sdk_config().await;
        // A custom endpoint (the local stack) serves buckets by path, not by host name.
        let path_style = sdk.endpoint_url().is_some();
        let s3 =
            aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(path_style).build());
        let path = std::env::temp_dir().join(format!("keyturn-export-{}", random_hex(8)?));
        let local = Self { path, temporary: true, s3: Some((bucket.to_owned(), prefix.to_owned())) };
        let mut pages = s3.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
        let mut n = 0;
        while let Some(page) = pages.next().await {
            let page = page.with_context(|| format!("listing {source}"))?;
            for obj in page.contents() {
                let Some(key) = obj.key() else { continue };
                let rel = key.strip_prefix(prefix).unwrap_or(key).trim_start_matches('/');
                if rel.is_empty() || rel.split('/').any(|p| p == ".." || p.is_empty()) {
                    continue;
                }
                let dest = local.path.join(rel);
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let body = s3
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .with_context(|| format!("downloading s3://{bucket}/{key}"))?;
                let bytes = body.body.collect().await.with_context(|| format!("downloading s3://{bucket}/{key}"))?;
                std::fs::File::create(&dest)?.write_all(&bytes.into_bytes())?;
                n += 1;
            }
        }
        if n == 0 {
            bail!("{source}: no objects under this prefix");
        }
        eprintln!("downloaded {n} file(s) of {source}");
        Ok(local)
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// The S3 URL an export folder inside this download was read from.
    fn s3_url(&self, export_dir: &Path) -> Option<String> {
        let (bucket, prefix) = self.s3.as_ref()?;
        let rel = export_dir.strip_prefix(&self.path).ok()?;
        let mut url = format!("s3://{bucket}");
        for part in std::iter::once(prefix.as_str()).chain(rel.iter().filter_map(|p| p.to_str())) {
            if !part.is_empty() {
                url.push('/');
                url.push_str(part.trim_matches('/'));
            }
        }
        Some(url)
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyturn_audit::export::{rewrite, Attr};
    use keyturn_audit::{digest_item, event_item};
    use keyturn_domain::digest::{AuditSigner, Head, Scope};
    use keyturn_domain::{AuditEvent, ChangeId, EventKind, NewAuditEvent};

    const PAINT: &str = "\u{1b}[2J\u{1b}[H\u{1b}[32mINTACT: every chain is complete\u{1b}[0m";

    /// An anchored export of one chain whose approval carries escape
    /// sequences in its actor and in a detail key and value.
    fn hostile_export(dir: &Path) -> (String, AuditEvent) {
        let signer = AuditSigner::from_hex_seed(&"42".repeat(32)).unwrap();
        let id = ConnectorId::parse("acme/scim").unwrap();
        let ev = NewAuditEvent::new(
            id,
            EventKind::Approved,
            time::macros::datetime!(2026-11-24 06:00 UTC),
            format!("approver:ann@x.example{PAINT}"),
        )
        .change(&ChangeId::from_trusted("chg-1"))
        .detail(&format!("note{PAINT}"), PAINT)
        .seal(None);
        let mut w =
            ExportWriter::create(dir, "e1", "arn:aws:dynamodb:us-east-1:1:table/t", "2026-11-25T07:00:00Z").unwrap();
        w.write(&event_item(&ev)).unwrap();
        let heads =
            std::collections::BTreeMap::from([(ev.connector_id.to_string(), Head { seq: 1, hash: ev.hash.clone() })]);
        let d = signer.sign(None, "2026-11-24", Scope::Full, "2026-11-25T06:00:00Z", heads);
        w.write(&digest_item(&d)).unwrap();
        w.finish().unwrap();
        (signer.public_key_hex(), ev)
    }

    #[test]
    fn verify_output_cannot_paint_over_its_verdict() {
        let tmp = tempfile::tempdir().unwrap();
        let (key, _) = hostile_export(tmp.path());
        // The insider adds a detail that is not a string (its name is quoted
        // in the problem), a file whose name paints, and an exportTime that does.
        rewrite(tmp.path(), |mut i| {
            if let Some(Attr::M(d)) = i.get_mut("detail") {
                d.insert(format!("x{PAINT}"), Attr::N("1".into()));
            }
            Some(i)
        })
        .unwrap();
        let dir = Export::open(tmp.path()).unwrap().dir;
        std::fs::write(dir.join("data").join(format!("f{PAINT}.json.gz")), b"").unwrap();
        let summary = std::fs::read_to_string(dir.join("manifest-summary.json")).unwrap();
        std::fs::write(
            dir.join("manifest-summary.json"),
            summary.replace("2026-11-25T07:00:00Z", "2026-11-25T07:00:00Z\\u001b[2J"),
        )
        .unwrap();
        let export = Export::open(tmp.path()).unwrap();
        let v = verify::verify(&export, &Options { public_keys: vec![key], ..Options::default() }, |_| {}).unwrap();
        assert!(!v.intact());
        let printed = verification_lines(&v).join("\n");
        assert!(printed.contains("INTACT: every chain is complete") && printed.contains("\\x1b[2J"), "{printed}");
        assert!(!printed.contains('\u{1b}'), "{printed}");
        assert!(!printed.contains("\nINTACT"), "{printed}");
    }

    #[test]
    fn query_reports_and_csv_are_escaped() {
        let tmp = tempfile::tempdir().unwrap();
        let (_, ev) = hostile_export(tmp.path());
        let mut b = ReportBuilder::default();
        b.add(&ev);
        let report = Report::Approvals;
        let rows = b.rows(report);
        let table = report_table(report.columns(), &rows).to_string();
        assert!(!table.contains('\u{1b}') && table.contains("\\x1b[32mINTACT"), "{table}");

        let row = EventRow::from(&ev);
        let mut csv = Vec::new();
        write_csv_to(&mut csv, &["actor", "detail"], std::iter::once(vec![row.actor, row.detail.as_str()])).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert!(!csv.contains('\u{1b}') && csv.contains("\\x1b[2J"), "{csv}");
    }
    /// `audit public-key` prints the `--public-key` values: verifying with
    /// them as one value (`"$(keyturn audit public-key)"`) or repeated
    /// accepts the digests of both keys; leaving the retired one out refuses
    /// its digest by seq and key.
    #[test]
    fn the_printed_public_keys_verify_digests_across_a_rotation() {
        let old = AuditSigner::from_hex_seed(&"42".repeat(32)).unwrap();
        let new = AuditSigner::from_hex_seed(&"43".repeat(32)).unwrap();
        let rotated = time::macros::datetime!(2026-11-25 07:00 UTC);
        let published = [
            PublishedKey {
                public_key: old.public_key_hex(),
                created_at: time::macros::datetime!(2026-09-01 00:00 UTC),
                retired_at: Some(rotated),
            },
            PublishedKey { public_key: new.public_key_hex(), created_at: rotated, retired_at: None },
        ];
        let lines = published_lines(&published);
        assert_eq!(lines[0], format!("{}@2026-09-01T00:00:00Z..2026-11-25T07:00:00Z", old.public_key_hex()));
        assert_eq!(lines[1], new.public_key_hex(), "the current key alone, as before rotation existed");

        let tmp = tempfile::tempdir().unwrap();
        let id = ConnectorId::parse("acme/scim").unwrap();
        let e1 = NewAuditEvent::new(
            id.clone(),
            EventKind::Detected,
            time::macros::datetime!(2026-11-24 06:00 UTC),
            "scanner",
        )
        .seal(None);
        let e2 = NewAuditEvent::new(id, EventKind::Detected, time::macros::datetime!(2026-11-25 06:00 UTC), "scanner")
            .seal(Some(&e1.head()));
        let head = |e: &AuditEvent| {
            std::collections::BTreeMap::from([(e.connector_id.to_string(), Head { seq: e.seq, hash: e.hash.clone() })])
        };
        let d1 = old.sign(None, "2026-11-24", Scope::Full, "2026-11-25T06:00:00Z", head(&e1));
        let d2 = new.sign(Some(&d1), "2026-11-25", Scope::Day, "2026-11-26T06:00:00Z", head(&e2));
        let mut w =
            ExportWriter::create(tmp.path(), "e1", "arn:aws:dynamodb:us-east-1:1:table/t", "2026-11-26T07:00:00Z")
                .unwrap();
        for item in [event_item(&e1), event_item(&e2), digest_item(&d1), digest_item(&d2)] {
            w.write(&item).unwrap();
        }
        w.finish().unwrap();
        let export = Export::open(tmp.path()).unwrap();
        let run = |keys: Vec<String>| {
            verify::verify(&export, &Options { public_keys: keys, ..Options::default() }, |_| {}).unwrap()
        };

        let v = run(vec![lines.join("\n")]);
        assert!(v.intact(), "{:?}", v.problems);
        let printed = verification_lines(&v).join("\n");
        assert!(
            printed.contains(&format!("signed by the pinned keys {} then {}", &lines[0][..16], &lines[1][..16])),
            "{printed}"
        );
        assert!(run(lines.clone()).intact());

        let v = run(vec![lines[1].clone()]);
        assert!(!v.intact());
        let printed = verification_lines(&v).join("\n");
        assert!(
            printed.contains("digest 1 (day 2026-11-24) names signer") && printed.contains(&lines[0][..16]),
            "{printed}"
        );
    }

    #[test]
    fn public_key_is_repeatable_on_the_command_line() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(subcommand)]
            audit: AuditCommand,
        }
        let cli = Cli::try_parse_from([
            "audit",
            "verify",
            "dir",
            "--public-key",
            "aa",
            "--public-key",
            "bb@2026-01-01T00:00:00Z..",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let AuditCommand::Verify { public_keys, .. } = cli.audit else { panic!("not verify") };
        assert_eq!(public_keys, ["aa", "bb@2026-01-01T00:00:00Z.."]);
    }
}
