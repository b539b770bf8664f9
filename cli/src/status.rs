//! `keyturn status`: where everything stands, at a glance.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use keyturn_app::config::Config;
use keyturn_app::own::{Known, OwnCredential, OwnSettings};
use keyturn_aws::service::AwsAdapters;
use keyturn_aws::{sdk_config, DynamoChangeStore, DynamoInventory};
use keyturn_domain::timefmt::parse_instant;
use serde::Serialize;
use time::OffsetDateTime;

use crate::{render, Format};

#[derive(Serialize)]
struct Expiry<'a> {
    id: &'a str,
    expires_at: &'a str,
    days_left: Option<i64>,
    status: &'a str,
}

/// Days left, coloured on a terminal: red once expired, yellow within a week.
fn days(d: Option<i64>, colour: bool) -> String {
    let text = d.map_or_else(|| "?".to_owned(), |d| d.to_string());
    match d {
        Some(d) if colour && d < 0 => format!("\x1b[31m{text}\x1b[0m"),
        Some(d) if colour && d <= 7 => format!("\x1b[33m{text}\x1b[0m"),
        _ => text,
    }
}

/// How much of a note the own-credentials table shows.
const NOTE_CHARS: usize = 160;

/// keyturn's own credentials: days left coloured as a connector's are; a
/// credential whose vendor reports no expiry says so instead of a number.
fn own_table(rows: &[OwnCredential], colour: bool) -> String {
    let mut t = render::table(&["keyturn's own", "id", "kept in", "expires", "days left", "note"]);
    for r in rows {
        let left = match r.known {
            Known::NotReported if r.days_left.is_none() => "-".to_owned(),
            _ => days(r.days_left, colour),
        };
        let expires = r.expires_at.as_deref().unwrap_or("-");
        let note = match &r.created {
            Some(created) => format!("made {created}; {}", r.note),
            None => r.note.clone(),
        };
        // A failure can be long (an SDK error's context): the JSON has it whole.
        let note = match note.char_indices().nth(NOTE_CHARS) {
            Some((cut, _)) => format!("{}…", &note[..cut]),
            None => note,
        };
        t.add_row_prepared(vec![
            r.credential.to_owned(),
            render::safe(r.id.as_deref().unwrap_or("-")).into_owned(),
            render::safe(&r.kept_in).into_owned(),
            render::safe(expires).into_owned(),
            left,
            render::safe(&note).into_owned(),
        ]);
    }
    t.to_string()
}

pub async fn run(format: Format, now: OffsetDateTime) -> anyhow::Result<()> {
    let cfg = Config::from_env()?;
    let sdk = sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let connectors = DynamoInventory::new(dynamodb.clone(), &cfg.tables.connectors).list_all().await?;
    let changes = DynamoChangeStore::new(dynamodb, &cfg.tables.changes).open_changes().await?;
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let mut steps = Vec::with_capacity(changes.len());
    for c in &changes {
        steps.push(crate::changes::workflow(&sfn, cfg.state_machine_arn.as_deref(), &c.change_id).await);
    }

    let status_of = |c: &keyturn_app::ports::StoredConnector| c.record.get("status").unwrap_or("active").to_owned();
    let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
    for c in &connectors {
        *by_state.entry(status_of(c)).or_default() += 1;
    }
    let mut live: Vec<&keyturn_app::ports::StoredConnector> =
        connectors.iter().filter(|c| status_of(c) != "retired").collect();
    live.sort_by(|a, b| (a.record.get("expires_at"), &a.id).cmp(&(b.record.get("expires_at"), &b.id)));
    let next: Vec<Expiry<'_>> = live
        .iter()
        .take(10)
        .map(|c| {
            let expires_at = c.record.get("expires_at").unwrap_or("?");
            Expiry {
                id: c.id.as_str(),
                expires_at,
                days_left: parse_instant(expires_at).map(|t| (t - now).whole_days()),
                status: c.record.get("status").unwrap_or("active"),
            }
        })
        .collect();
    let manual: Vec<&str> =
        connectors.iter().filter(|c| status_of(c) == "needs_manual_intervention").map(|c| c.id.as_str()).collect();
    // Each read fails on its own row; nothing here stops the rest of status.
    let own = keyturn_app::own::credentials(&AwsAdapters::new(&sdk, &cfg), &OwnSettings::from(&cfg), now).await;

    if format == Format::Json {
        return render::json(&serde_json::json!({
            "connectors_by_state": by_state,
            "next_expiries": next,
            "open_changes": changes.iter().zip(&steps).map(|(c, w)| {
                serde_json::json!({"change_id": c.change_id, "status": c.status, "detected_at": c.detected_at,
                                   "connectors": c.connectors, "workflow": w})
            }).collect::<Vec<_>>(),
            "needs_manual_intervention": manual,
            "own_credentials": own,
        }));
    }
    let states: Vec<String> = by_state.iter().map(|(s, n)| format!("{s} {n}")).collect();
    outln!("connectors: {} ({})", connectors.len(), if states.is_empty() { "none".into() } else { states.join(", ") });
    let colour = std::io::stdout().is_terminal();
    let mut t = render::table(&["next expiries", "expires", "days left", "status"]);
    for e in &next {
        // The days cell carries keyturn's own colour; the rest is table content.
        t.add_row_prepared(vec![
            render::safe(e.id).into_owned(),
            render::safe(e.expires_at).into_owned(),
            days(e.days_left, colour),
            render::safe(e.status).into_owned(),
        ]);
    }
    outln!("{t}");
    outln!("{}", own_table(&own, colour));
    if changes.is_empty() {
        outln!("open changes: none");
    } else {
        let mut t = render::table(&["open change", "status", "step", "detected", "connectors"]);
        for (c, w) in changes.iter().zip(&steps) {
            t.add_row(vec![
                c.change_id.clone(),
                c.status.clone(),
                w.step.clone().unwrap_or_else(|| w.status.clone()),
                c.detected_at.clone(),
                c.connectors.join(" "),
            ]);
        }
        outln!("{t}");
    }
    if manual.is_empty() {
        outln!("needs manual intervention: none");
    } else {
        outln!("needs manual intervention ({}): {}", manual.len(), manual.join(", "));
        outln!("  after fixing one: keyturn connector resolve ID --note \"what was done\"");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use keyturn_app::own::{Known, OwnCredential};

    #[test]
    fn days_are_coloured_only_on_a_terminal() {
        assert_eq!(super::days(Some(-2), false), "-2");
        assert_eq!(super::days(Some(-2), true), "\x1b[31m-2\x1b[0m");
        assert_eq!(super::days(Some(5), true), "\x1b[33m5\x1b[0m");
        assert_eq!(super::days(Some(30), true), "30");
        assert_eq!(super::days(None, true), "?");
    }

    fn row(credential: &'static str, known: Known, days_left: Option<i64>, note: &str) -> OwnCredential {
        OwnCredential {
            credential,
            kept_in: "keyturn/x".into(),
            id: Some("k1".into()),
            expires_at: days_left.map(|_| "2026-12-01T00:00:00Z".into()),
            days_left,
            created: None,
            known,
            note: note.into(),
        }
    }

    #[test]
    fn own_credentials_near_expiry_are_highlighted_as_connectors_are() {
        let rows = [
            row("entra-client-secret", Known::Reported, Some(5), "reported by Graph"),
            row("okta-api-token", Known::Reported, Some(-1), "reported by Okta"),
            row("jira-token", Known::NotReported, None, keyturn_app::own::NOT_REPORTED),
            row("slack-webhook", Known::Unreadable, None, "could not read: secretsmanager GetSecretValue: denied"),
        ];
        let text = super::own_table(&rows, true);
        let lines: Vec<&str> = text.lines().collect();
        let line = |name: &str| *lines.iter().find(|l| l.contains(name)).unwrap();
        assert!(line("entra-client-secret").contains("\x1b[33m5\x1b[0m"), "{text}");
        assert!(line("okta-api-token").contains("\x1b[31m-1\x1b[0m"), "{text}");
        assert!(line("jira-token").contains("not reported by the vendor"), "{text}");
        assert!(!line("jira-token").contains('?'), "{text}");
        assert!(line("slack-webhook").contains("could not read"), "{text}");
        assert!(!super::own_table(&rows, false).contains("\x1b"), "no colour off a terminal");
    }
}
