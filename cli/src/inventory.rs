//! `keyturn inventory validate|import|list`.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use keyturn_app::config::Config;
use keyturn_app::ports::{Inventory, StoredConnector};
use keyturn_aws::{sdk_config, DynamoInventory};
use keyturn_domain::inventory::{check_file, InventoryError, Problems, RecordError, ValidationContext};
use keyturn_domain::timefmt::{format_utc, parse_instant};
use keyturn_domain::Connector;
use serde::Serialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::{render, Format, Reported};

/// Reads and validates a whole file, handing each connector to `each`;
/// prints the problems on failure.
fn check(file: &Path, format: Format, now: OffsetDateTime, each: &mut dyn FnMut(Connector)) -> anyhow::Result<()> {
    let source = file.display().to_string();
    match check_file(file, &ValidationContext::at(now), each) {
        Ok(_) => Ok(()),
        Err(InventoryError::Invalid(problems)) => {
            report_invalid(&source, &problems, format)?;
            Err(Reported.into())
        }
        Err(other) => Err(other.into()),
    }
}

/// Every connector of a valid file.
fn load(file: &Path, format: Format, now: OffsetDateTime) -> anyhow::Result<Vec<Connector>> {
    let mut all = Vec::new();
    check(file, format, now, &mut |c| all.push(c))?;
    Ok(all)
}

/// The problems core kept (the first records in file order, see
/// `MAX_SHOWN_RECORDS`) and how many there are in all, through one buffer:
/// a line-at-a-time stderr costs a system call per line.
fn report_invalid(source: &str, problems: &Problems, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        let items: Vec<_> = problems
            .shown
            .iter()
            .flat_map(|r| {
                r.errors.iter().map(move |e| {
                    json!({"location": r.location.to_string(), "id": r.id, "field": e.field, "message": e.message})
                })
            })
            .collect();
        render::json(&json!({
            "file": source,
            "valid": false,
            "invalid_records": problems.records,
            "problems": problems.problems,
            "records_not_shown": problems.hidden(),
            "errors": items,
        }))?;
    }
    let mut err = std::io::BufWriter::new(std::io::stderr().lock());
    for line in diagnostics(source, problems) {
        writeln!(err, "{line}")?;
    }
    err.flush()?;
    Ok(())
}

/// What `inventory validate` prints for an invalid file: one line per field
/// error, each escaped on its own (ids, column names and values come from the
/// file and may hold terminal escape sequences), then how many were not shown
/// and the count.
fn diagnostics(source: &str, problems: &Problems) -> Vec<String> {
    let source = render::safe(source);
    let mut lines = Vec::with_capacity(problems.problems.min(10_000) + 2);
    for r in &problems.shown {
        for e in &r.errors {
            let one = RecordError { errors: vec![e.clone()], ..r.clone() };
            lines.push(render::safe(&one.to_string()).into_owned());
        }
    }
    if problems.hidden() > 0 {
        lines.push(format!(
            "{source}: … {} more invalid record(s) not shown (the first {} are)",
            problems.hidden(),
            problems.shown.len()
        ));
    }
    lines.push(format!(
        "{source}: {} problem(s) in {} record(s); nothing was written",
        problems.problems, problems.records
    ));
    lines
}

pub fn validate(file: &Path, format: Format, now: OffsetDateTime) -> anyhow::Result<()> {
    // Offline (no AWS needed): only the due window comes from the configuration.
    let policy = Config::from_env()?.policy;
    let cutoff = policy.cutoff(now);
    // Counted as they stream past: validating keeps no connector.
    let (mut records, mut due) = (0usize, 0usize);
    check(file, format, now, &mut |c| {
        records += 1;
        due += usize::from(c.expires_at <= cutoff);
    })?;
    match format {
        Format::Json => render::json(&json!({"file": file.display().to_string(), "valid": true, "records": records}))?,
        Format::Table => {
            outln!(
                "{}: {records} connector(s), all valid ({due} expire within {} days)",
                file.display(),
                policy.due_within.whole_days()
            )
        }
    }
    Ok(())
}

pub async fn import(file: &Path, format: Format, now: OffsetDateTime) -> anyhow::Result<()> {
    let connectors = load(file, format, now)?;
    let cfg = Config::from_env()?;
    let sdk = sdk_config().await;
    let store = DynamoInventory::new(aws_sdk_dynamodb::Client::new(&sdk), &cfg.tables.connectors);

    let bar = ProgressBar::new(connectors.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("importing");
    let summary = store
        .import(&connectors, now, &|done| bar.set_position(done as u64))
        .await
        .with_context(|| format!("importing {} into {}", file.display(), cfg.tables.connectors))?;
    bar.finish_and_clear();
    match format {
        Format::Json => render::json(
            &json!({"file": file.display().to_string(), "table": cfg.tables.connectors, "summary": summary}),
        )?,
        Format::Table => outln!(
            "{}: {} connector(s) imported into {}: {} created, {} updated, {} unchanged",
            file.display(),
            connectors.len(),
            cfg.tables.connectors,
            summary.created,
            summary.updated,
            summary.unchanged
        ),
    }
    Ok(())
}

/// One row of `inventory list`.
#[derive(Serialize)]
struct Row<'a> {
    id: &'a str,
    kind: Option<&'a str>,
    org: Option<&'a str>,
    idp: Option<&'a str>,
    owner: Option<&'a str>,
    approver_group: Option<&'a str>,
    change_window: Option<&'a str>,
    expires_at: Option<&'a str>,
    days_left: Option<i64>,
    status: &'a str,
    version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    active_change: Option<String>,
}

fn row(s: &StoredConnector, now: OffsetDateTime) -> Row<'_> {
    let r = &s.record;
    Row {
        id: s.id.as_str(),
        kind: r.get("kind"),
        org: r.get("org"),
        idp: r.get("idp"),
        owner: r.get("owner"),
        approver_group: r.get("approver_group"),
        change_window: r.get("change_window"),
        expires_at: r.get("expires_at"),
        days_left: r.get("expires_at").and_then(parse_instant).map(|t| (t - now).whole_days()),
        status: r.get("status").unwrap_or("active"),
        version: s.version,
        active_change: s.lease.as_ref().filter(|l| l.until > now).map(|l| l.change_id.to_string()),
    }
}

pub async fn list(due_within: Option<u32>, format: Format, now: OffsetDateTime) -> anyhow::Result<()> {
    let cfg = Config::from_env()?;
    let sdk = sdk_config().await;
    let store = DynamoInventory::new(aws_sdk_dynamodb::Client::new(&sdk), &cfg.tables.connectors);
    let mut items = match due_within {
        Some(days) => store.due(now + Duration::days(i64::from(days))).await?.items,
        None => store.list_all().await?,
    };
    items.sort_by(|a, b| (a.record.get("expires_at"), &a.id).cmp(&(b.record.get("expires_at"), &b.id)));
    let rows: Vec<Row<'_>> = items.iter().map(|s| row(s, now)).collect();
    if format == Format::Json {
        return render::json(&rows);
    }
    let mut t = render::table(&["id", "kind", "org", "idp", "owner", "expires", "days", "status", "change"]);
    for r in &rows {
        t.add_row(vec![
            r.id.to_owned(),
            r.kind.unwrap_or("?").to_owned(),
            r.org.unwrap_or("?").to_owned(),
            r.idp.unwrap_or("?").to_owned(),
            r.owner.unwrap_or("?").to_owned(),
            r.expires_at.unwrap_or("?").to_owned(),
            r.days_left.map_or("?".into(), |d| d.to_string()),
            r.status.to_owned(),
            r.active_change.clone().unwrap_or_default(),
        ]);
    }
    outln!("{t}");
    let scope = due_within.map_or(String::new(), |d| format!(" expiring within {d} days of {}", format_utc(now)));
    outln!("{} connector(s){scope} in {}", rows.len(), cfg.tables.connectors);
    Ok(())
}

/// Where `keyturn inventory discover` looks (at least one).
pub struct Sources {
    pub atlassian_org: Option<String>,
    pub api_key_env: String,
    pub scim_key_env: Option<String>,
    /// Every Entra app registration's passwords.
    pub entra: bool,
    /// Every Okta OAuth app's client secrets.
    pub okta: bool,
    /// keyturn's own credentials that can be connectors.
    pub own: bool,
    /// A drafted Okta client secret expires this long after its `created`.
    pub okta_max_age: Duration,
}

/// `keyturn inventory discover`: a draft inventory file, never an import.
pub async fn discover(src: &Sources, out: &Path, force: bool) -> anyhow::Result<()> {
    use keyturn_vendors::discover::Draft;
    use keyturn_vendors::discover_apps as apps;

    if src.atlassian_org.is_none() && !src.entra && !src.okta && !src.own {
        anyhow::bail!("name at least one source: --atlassian-org ORG, --entra, --okta or --self");
    }
    if src.scim_key_env.is_some() && src.atlassian_org.is_none() {
        anyhow::bail!("--scim-key-env probes Atlassian directories: it needs --atlassian-org");
    }
    if out.exists() && !force {
        anyhow::bail!("{}: exists; choose another --out or add --force", out.display());
    }
    let cfg = Config::from_env()?;
    let now = OffsetDateTime::now_utc();
    let at = format_utc(now);
    let mut draft = Draft::default();
    let (mut sources, mut through, mut found) = (Vec::new(), Vec::new(), Vec::new());
    if let Some(org) = &src.atlassian_org {
        let (dirs, keys) = atlassian(&cfg, org, src, &mut draft, &at).await?;
        sources.push(format!("Atlassian organization {org}"));
        through.push("the Atlassian Admin APIs");
        found.push(format!(
            "{dirs} SCIM director{} and {keys} API key{} of {org}",
            if dirs == 1 { "y" } else { "ies" },
            if keys == 1 { "" } else { "s" }
        ));
    }
    if src.entra || src.own {
        let Some(secret) = cfg.vendors.entra_secret.as_deref() else {
            anyhow::bail!(
                "KEYTURN_ENTRA_SECRET is not set: --entra and --self read Graph with keyturn's own Entra app \
                 (the secret holding {{tenant_id, client_id, client_secret}})"
            );
        };
        let sdk = sdk_config().await;
        let entra = keyturn_aws::service::own_entra(&sdk, &cfg.vendors, keyturn_vendors::client(), secret)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        let tenant = apps::entra_tenant(&entra).to_owned();
        through.push("Microsoft Graph");
        if src.entra {
            eprintln!("reading the app registrations of Entra tenant {tenant} ...");
            let mut listed =
                apps::entra_apps(&entra, apps::GRAPH_PAGE).await.context("listing Entra app registrations")?;
            // With --self, keyturn's own app is drafted as keyturn's, once.
            if src.own {
                listed.retain(|a| !a.app_id.eq_ignore_ascii_case(apps::entra_own_client_id(&entra)));
            }
            let before = draft.records();
            apps::write_entra(&mut draft, &tenant, &listed, now, false);
            sources.push(format!("Entra tenant {tenant}"));
            found.push(format!("{} Entra app secret(s) of {} app(s)", draft.records() - before, listed.len()));
        }
        if src.own {
            eprintln!("reading keyturn's own Entra app ...");
            let own = apps::entra_own_app(&entra).await.context("reading keyturn's own Entra app (--self)")?;
            let before = draft.records();
            apps::write_entra(&mut draft, &tenant, &[own], now, true);
            sources.push("keyturn itself".to_owned());
            found.push(format!("{} of keyturn's own Entra app secret(s)", draft.records() - before));
        }
    }
    if src.own {
        draft.note(apps::OKTA_SELF_NOTE.to_owned());
    }
    if src.okta {
        let Some(secret) = cfg.vendors.okta_secret.as_deref() else {
            anyhow::bail!("KEYTURN_OKTA_SECRET is not set: --okta reads Okta with keyturn's own API token");
        };
        let sdk = sdk_config().await;
        let okta = keyturn_aws::service::own_okta(&sdk, keyturn_vendors::client(), secret)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        let org = apps::okta_org(&okta);
        eprintln!("reading the OAuth apps of Okta org {org} ...");
        let listed = apps::okta_oauth_apps(&okta, apps::OKTA_PAGE).await.context("listing Okta OAuth apps")?;
        let before = draft.records();
        apps::write_okta(&mut draft, &org, &listed, src.okta_max_age);
        sources.push(format!("Okta org {org}"));
        through.push("the Okta Management API");
        found.push(format!("{} Okta client secret(s) of {} OAuth app(s)", draft.records() - before, listed.len()));
    }
    let text = draft.finish(&sources.join(", "), &through.join(", "), &at);
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    outln!("{}: {}, as a DRAFT (nothing imported)", out.display(), found.join("; "));
    outln!("next: fill in every TODO, then `keyturn inventory validate {}`", out.display());
    Ok(())
}

/// The Atlassian organization's directories and API keys, into `draft`:
/// (directories, API keys drafted).
async fn atlassian(
    cfg: &Config,
    org: &str,
    src: &Sources,
    draft: &mut keyturn_vendors::discover::Draft,
    at: &str,
) -> anyhow::Result<(usize, usize)> {
    use keyturn_domain::SecretValue;
    use keyturn_vendors::discover::Discovery;
    use keyturn_vendors::Atlassian;

    if org.is_empty() || !org.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        anyhow::bail!("--atlassian-org {org:?}: an organization id has letters, digits, - and _ only");
    }
    let api_key_env = src.api_key_env.as_str();
    let key = std::env::var(api_key_env).ok().filter(|k| !k.trim().is_empty()).map(|k| SecretValue::new(k.trim()));
    let Some(key) = key else {
        anyhow::bail!(
            "{api_key_env} is not set: export an Atlassian organization API key with read access in it \
             (admin.atlassian.com > Settings > API keys); it is never taken from the command line"
        );
    };
    let atlassian = Atlassian::new(keyturn_vendors::client(), &cfg.vendors.atlassian_url);
    eprintln!("reading directories of {org} ...");
    let directories = atlassian.directories(org, &key).await.context("listing the organization's directories")?;
    eprintln!("reading API keys of {org} ...");
    let api_keys = atlassian.api_keys(org, &key).await.context("listing the organization's API keys")?;
    // A directory id is written only once its SCIM endpoint answered with its key.
    let mut scim_verified = std::collections::BTreeSet::new();
    if let Some(var) = &src.scim_key_env {
        let scim_key = std::env::var(var).ok().filter(|k| !k.trim().is_empty()).map(|k| SecretValue::new(k.trim()));
        let Some(scim_key) = scim_key else {
            anyhow::bail!("{var} is not set: export the directory's SCIM API key in it")
        };
        for d in &directories {
            match atlassian.scim_probe(&d.id, &scim_key).await {
                Ok(()) => {
                    eprintln!("directory {} ({}): SCIM probe answered, id verified", d.name, d.id);
                    scim_verified.insert(d.id.clone());
                }
                Err(e) => eprintln!("directory {} ({}): not verified: {e}", d.name, d.id),
            }
        }
    }
    let found = Discovery { org: org.to_owned(), directories, scim_verified, api_keys };
    found.write(draft, at);
    Ok(found.counts(at))
}

#[cfg(test)]
mod tests {
    use keyturn_domain::inventory::{load_str, Format, InventoryError, ValidationContext};

    /// A header name and an id holding escape sequences are printed as
    /// visible escapes: the diagnostics cannot clear the screen or paint a verdict.
    #[test]
    fn hostile_ids_and_header_names_are_escaped_in_diagnostics() {
        let csv = "id,kind,\u{1b}[2Jownr\nacme\u{1b}[32mINTACT\u{1b}[0m,atlassian-scim,x\n";
        let now = time::macros::datetime!(2026-11-26 09:00 UTC);
        let Err(InventoryError::Invalid(errors)) =
            load_str(csv, Format::Csv, "x\u{1b}]0;t.csv", &ValidationContext::at(now))
        else {
            panic!("the file is invalid");
        };
        let lines = super::diagnostics("x\u{1b}]0;t.csv", &errors);
        let all = lines.join("\n");
        assert!(!all.contains('\u{1b}'), "{all}");
        // Names are shown as written, escaped; an id that is itself invalid is
        // not echoed at all (the record is named by its row).
        assert!(all.contains(r#"(header): "\u{1b}[2Jownr": unknown field"#), "{all}");
        assert!(all.contains("row 2: id: contains control characters"), "{all}");
        assert!(!all.contains("INTACT"), "{all}");
        assert!(lines.last().unwrap().starts_with("x\\x1b]0;t.csv: "), "{all}");
    }
}
