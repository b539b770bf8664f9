//! App client secrets for `keyturn inventory discover`: every Entra app
//! registration's passwords (Graph `GET /applications`, paged by
//! `@odata.nextLink`, with each app's `owners`), every Okta OAuth app's
//! client secrets (`GET /api/v1/apps`, paged by the `Link` header, and each
//! app's `credentials/secrets`), and keyturn's own Graph app (`--self`).
//! The calls and what no document states are in docs/vendors.md.
//!
//! Listings carry no secret value: Graph answers `secretText: null` and a
//! `hint` (the secret's first three characters), Okta an elided
//! `client_secret`. Neither is kept, printed or written: the hint is only
//! compared with keyturn's own secret, to tell which password keyturn signs
//! in with.

use std::fmt::Write as _;

use serde_json::Value;

use super::discover::{q, slug, Draft};
use super::parse::json;
use super::vendor::{send, send_linked, CALL_TIMEOUT};
use super::{vendor_url, Entra, Okta};
use keyturn_app::rotation::VendorError;
use keyturn_domain::destination::{Part::Lit, Part::Val, Url};
use keyturn_domain::timefmt::{format_utc, parse_instant};
use keyturn_domain::SecretValue;

/// A listing longer than this many pages is refused, not followed forever.
const MAX_PAGES: usize = 1000;

/// Graph documents `$top` up to 999 on List applications.
pub const GRAPH_PAGE: u16 = 999;
/// Okta's list endpoints answer at most 200 items a page.
pub const OKTA_PAGE: u16 = 200;

fn rejected(service: &'static str, operation: &'static str, detail: String) -> VendorError {
    VendorError::Rejected { service, operation, detail }
}

/// One password of an app registration, as Graph lists it (never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraPassword {
    pub key_id: String,
    pub display_name: Option<String>,
    /// `endDateTime`, as RFC 3339 UTC.
    pub end: String,
    /// Its `hint` is the first three characters of the secret keyturn signs
    /// in with (only asked for keyturn's own app; the hint itself is not kept).
    pub hint_matches_own: bool,
}

/// An app registration and its passwords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraApp {
    pub object_id: String,
    pub app_id: String,
    pub display_name: String,
    pub passwords: Vec<EntraPassword>,
    /// The first user owner's `mail` (else `userPrincipalName`); `None` when
    /// Graph lists no user owner.
    pub owner: Option<String>,
}

/// A required text field of a Graph object, or an error naming it by its
/// place in the answer (`value[2].passwordCredentials[0].endDateTime`).
fn text<'a>(operation: &'static str, v: &'a Value, at: &str, field: &str) -> Result<&'a str, VendorError> {
    v[field].as_str().filter(|s| !s.is_empty()).ok_or_else(|| {
        rejected("entra", operation, format!("Graph's answer has no {at}{field} (a string): not an application"))
    })
}

/// One `application` object of a Graph answer. `own` is keyturn's own client
/// secret, whose first three characters are compared with each `hint`.
pub fn entra_application(
    operation: &'static str,
    v: &Value,
    at: &str,
    own: Option<&SecretValue>,
) -> Result<EntraApp, VendorError> {
    let object_id = text(operation, v, at, "id")?;
    let app_id = text(operation, v, at, "appId")?;
    let creds = v["passwordCredentials"].as_array().ok_or_else(|| {
        rejected("entra", operation, format!("Graph's answer has no {at}passwordCredentials (a list)"))
    })?;
    let own_hint: Option<String> = own.map(|s| s.expose().chars().take(3).collect());
    let mut passwords = Vec::with_capacity(creds.len());
    for (j, p) in creds.iter().enumerate() {
        let here = format!("{at}passwordCredentials[{j}].");
        let key_id = text(operation, p, &here, "keyId")?;
        let end = text(operation, p, &here, "endDateTime")?;
        let end = parse_instant(end).map(format_utc).ok_or_else(|| {
            rejected("entra", operation, format!("Graph's answer: {here}endDateTime is not an ISO 8601 time"))
        })?;
        let hint_matches_own = match (&own_hint, p["hint"].as_str()) {
            (Some(ours), Some(hint)) => !hint.is_empty() && hint == ours,
            _ => false,
        };
        passwords.push(EntraPassword {
            key_id: key_id.to_owned(),
            display_name: p["displayName"].as_str().filter(|s| !s.is_empty()).map(str::to_owned),
            end,
            hint_matches_own,
        });
    }
    Ok(EntraApp {
        object_id: object_id.to_owned(),
        app_id: app_id.to_owned(),
        display_name: v["displayName"].as_str().filter(|s| !s.is_empty()).unwrap_or(object_id).to_owned(),
        passwords,
        owner: None,
    })
}

/// One page of `GET /applications`: its apps and `@odata.nextLink`.
pub fn entra_applications(body: &str) -> Result<(Vec<EntraApp>, Option<String>), VendorError> {
    let v = json("entra", "ListApplications", body)?;
    let list = v["value"].as_array().ok_or_else(|| {
        rejected("entra", "ListApplications", "Graph's answer has no value (a list of applications)".into())
    })?;
    let apps = list
        .iter()
        .enumerate()
        .map(|(i, a)| entra_application("ListApplications", a, &format!("value[{i}]."), None))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((apps, next_link(&v)))
}

fn next_link(v: &Value) -> Option<String> {
    v["@odata.nextLink"].as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// One page of `GET /applications/{id}/owners`: the first user owner's
/// `mail`, else its `userPrincipalName`, and `@odata.nextLink`.
pub fn entra_owner(body: &str) -> Result<(Option<String>, Option<String>), VendorError> {
    let v = json("entra", "ListOwners", body)?;
    let list = v["value"]
        .as_array()
        .ok_or_else(|| rejected("entra", "ListOwners", "Graph's answer has no value (a list of owners)".into()))?;
    let field = |o: &Value, f: &str| o[f].as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let owner = list
        .iter()
        .filter(|o| o["@odata.type"].as_str() == Some("#microsoft.graph.user"))
        .find_map(|o| field(o, "mail").or_else(|| field(o, "userPrincipalName")));
    Ok((owner, next_link(&v)))
}

/// A next page's link, called as given only where the first page was asked:
/// keyturn's token goes to the configured host and nowhere else.
fn next_page(service: &'static str, operation: &'static str, base: &str, next: &str) -> Result<Url, VendorError> {
    let refuse = |why: &str| rejected(service, operation, format!("the next page's link {why}; not followed"));
    let base = Url::parse(base).map_err(|_| refuse("cannot be checked against the base URL"))?;
    let url = Url::parse(next).map_err(|_| refuse("is not an absolute URL"))?;
    let same = url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default();
    if same {
        Ok(url)
    } else {
        Err(refuse(&format!("leads to another host ({})", url.host_str().unwrap_or("?"))))
    }
}

/// Calls `first`, then every next page `parse` names, at most [`MAX_PAGES`].
async fn pages<T>(
    entra: &Entra,
    operation: &'static str,
    first: Url,
    mut each: impl FnMut(&str) -> Result<(T, Option<String>), VendorError>,
) -> Result<Vec<T>, VendorError> {
    let token = entra.graph_token().await?;
    let mut url = Some(first);
    let mut out = Vec::new();
    while let Some(u) = url.take() {
        if out.len() == MAX_PAGES {
            return Err(rejected("entra", operation, format!("more than {MAX_PAGES} pages; not followed further")));
        }
        let req = entra.http().get(u).bearer_auth(token.expose()).timeout(CALL_TIMEOUT);
        let (_, body) = send("entra", operation, req).await?;
        let (item, next) = each(&body)?;
        out.push(item);
        url = next.map(|n| next_page("entra", operation, entra.graph_base(), &n)).transpose()?;
    }
    Ok(out)
}

const APP_FIELDS: &str = "id,appId,displayName,passwordCredentials";

/// `GET /applications/{id}/owners`, every page: the first user owner.
async fn owner_of(entra: &Entra, object_id: &str) -> Result<Option<String>, VendorError> {
    let url = vendor_url(
        "entra",
        "ListOwners",
        entra.graph_base(),
        &[Lit("applications"), Val("application_object_id", object_id), Lit("owners")],
    )?;
    let owners = pages(entra, "ListOwners", url, entra_owner).await?;
    Ok(owners.into_iter().flatten().next())
}

/// Every app registration of keyturn's tenant with its passwords and owner:
/// `GET /applications?$select=id,appId,displayName,passwordCredentials&$top=…`,
/// then `GET /applications/{id}/owners` for each app that has a password.
pub async fn entra_apps(entra: &Entra, page_size: u16) -> Result<Vec<EntraApp>, VendorError> {
    let mut url = vendor_url("entra", "ListApplications", entra.graph_base(), &[Lit("applications")])?;
    url.query_pairs_mut().append_pair("$select", APP_FIELDS).append_pair("$top", &page_size.to_string());
    let mut apps: Vec<EntraApp> =
        pages(entra, "ListApplications", url, entra_applications).await?.into_iter().flatten().collect();
    for app in apps.iter_mut().filter(|a| !a.passwords.is_empty()) {
        app.owner = owner_of(entra, &app.object_id).await?;
    }
    Ok(apps)
}

/// The tenant keyturn's Graph token is for (every app [`entra_apps`] lists is in it).
pub fn entra_tenant(entra: &Entra) -> &str {
    &entra.own_credentials().tenant_id
}

/// The client id keyturn signs in to Graph as.
pub fn entra_own_client_id(entra: &Entra) -> &str {
    &entra.own_credentials().client_id
}

/// keyturn's own app registration (the `client_id` of `KEYTURN_ENTRA_SECRET`):
/// `GET /applications(appId='{client_id}')?$select=…`, with which password's
/// `hint` matches the secret keyturn signs in with, and its owner.
pub async fn entra_own_app(entra: &Entra) -> Result<EntraApp, VendorError> {
    let own = entra.own_credentials();
    let client_id = own.client_id.as_str();
    // The id goes into the path inside quotes: only a GUID's characters.
    if client_id.is_empty() || !client_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(rejected(
            "entra",
            "GetApplication",
            "KEYTURN_ENTRA_SECRET: client_id is not an application (client) id (letters, digits and - only)".into(),
        ));
    }
    let segment = format!("applications(appId='{client_id}')");
    let mut url = vendor_url("entra", "GetApplication", entra.graph_base(), &[Lit(&segment)])?;
    url.query_pairs_mut().append_pair("$select", APP_FIELDS);
    let token = entra.graph_token().await?;
    let req = entra.http().get(url).bearer_auth(token.expose()).timeout(CALL_TIMEOUT);
    let (_, body) = send("entra", "GetApplication", req).await.map_err(|e| match e {
        VendorError::Refused { status: 404, body, .. } => rejected(
            "entra",
            "GetApplication",
            format!(
                "KEYTURN_ENTRA_SECRET: client_id {client_id}: no application with this appId in Graph \
                 (HTTP 404: {body}); keyturn's Graph permission may not cover its own app"
            ),
        ),
        other => other,
    })?;
    let v = json("entra", "GetApplication", &body)?;
    let mut app = entra_application("GetApplication", &v, "", Some(&own.client_secret))?;
    if !app.app_id.eq_ignore_ascii_case(client_id) {
        return Err(rejected(
            "entra",
            "GetApplication",
            format!(
                "KEYTURN_ENTRA_SECRET: Graph answered appId {} for client_id {client_id}",
                keyturn_domain::excerpt(&app.app_id)
            ),
        ));
    }
    app.owner = owner_of(entra, &app.object_id).await?;
    Ok(app)
}

// ---- Okta ---------------------------------------------------------------------------

/// One client secret of an Okta OAuth app, as listed (never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OktaSecret {
    pub id: String,
    pub active: bool,
    /// `created`, as RFC 3339 UTC.
    pub created: String,
}

/// An Okta app with an OAuth client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OktaApp {
    pub id: String,
    pub label: String,
    pub client_id: String,
    /// `credentials.oauthClient.token_endpoint_auth_method`.
    pub auth_method: Option<String>,
    /// Listed only for the methods keyturn proves a secret with
    /// ([`provable`]); empty otherwise.
    pub secrets: Vec<OktaSecret>,
}

/// Whether keyturn can prove a secret of an app with this method: its token
/// request uses `client_secret_basic`, which Okta accepts from
/// `client_secret_basic` and `client_secret_post` clients.
pub fn provable(method: Option<&str>) -> bool {
    matches!(method, Some("client_secret_basic" | "client_secret_post"))
}

fn okta_field<'a>(operation: &'static str, v: &'a Value, at: &str, field: &str) -> Result<&'a str, VendorError> {
    let mut x = v;
    for part in field.split('.') {
        x = &x[part];
    }
    x.as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| rejected("okta", operation, format!("Okta's answer has no {at}{field} (a string)")))
}

/// One page of `GET /api/v1/apps`: the apps with an OAuth client
/// (`credentials.oauthClient`); the others have no client secret.
pub fn okta_apps(body: &str) -> Result<Vec<OktaApp>, VendorError> {
    let v = json("okta", "ListApplications", body)?;
    let list = v
        .as_array()
        .ok_or_else(|| rejected("okta", "ListApplications", "Okta's answer is not a list of applications".into()))?;
    let mut out = Vec::new();
    for (i, a) in list.iter().enumerate() {
        let at = format!("[{i}].");
        let id = okta_field("ListApplications", a, &at, "id")?;
        if a["credentials"]["oauthClient"].is_null() {
            continue;
        }
        let client_id = okta_field("ListApplications", a, &at, "credentials.oauthClient.client_id")?;
        out.push(OktaApp {
            id: id.to_owned(),
            label: a["label"].as_str().filter(|s| !s.is_empty()).unwrap_or(id).to_owned(),
            client_id: client_id.to_owned(),
            auth_method: a["credentials"]["oauthClient"]["token_endpoint_auth_method"].as_str().map(str::to_owned),
            secrets: Vec::new(),
        });
    }
    Ok(out)
}

/// `GET /api/v1/apps/{appId}/credentials/secrets`: each secret's id, status
/// and `created` (the only date Okta keeps for it).
pub fn okta_secrets(body: &str) -> Result<Vec<OktaSecret>, VendorError> {
    let v = json("okta", "ListSecrets", body)?;
    let list = v
        .as_array()
        .ok_or_else(|| rejected("okta", "ListSecrets", "Okta's answer is not a list of client secrets".into()))?;
    list.iter()
        .enumerate()
        .map(|(i, s)| {
            let at = format!("[{i}].");
            let id = okta_field("ListSecrets", s, &at, "id")?;
            let status = okta_field("ListSecrets", s, &at, "status")?;
            let created = okta_field("ListSecrets", s, &at, "created")?;
            let created = parse_instant(created).map(format_utc).ok_or_else(|| {
                rejected("okta", "ListSecrets", format!("Okta's answer: {at}created is not an ISO 8601 time"))
            })?;
            Ok(OktaSecret { id: id.to_owned(), active: status == "ACTIVE", created })
        })
        .collect()
}

/// The `rel="next"` target of a `Link` header (RFC 8288: comma-separated
/// `<URI>; param=value` links; `rel` may be quoted and hold several types).
pub fn link_next(header: &str) -> Option<String> {
    header.split(',').find_map(|link| {
        let (target, params) = link.trim().strip_prefix('<')?.split_once('>')?;
        let next = params.split(';').any(|p| {
            p.trim().split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim().trim_matches('"').split_ascii_whitespace().any(|r| r.eq_ignore_ascii_case("next"))
            })
        });
        next.then(|| target.trim().to_owned())
    })
}

/// Every Okta app with an OAuth client, and the client secrets of those whose
/// secrets keyturn can prove: `GET /api/v1/apps?limit=…` (pages by `Link:
/// <…>; rel="next"`), then `GET /api/v1/apps/{appId}/credentials/secrets`.
pub async fn okta_oauth_apps(okta: &Okta, page_size: u16) -> Result<Vec<OktaApp>, VendorError> {
    let mut url = vendor_url("okta", "ListApplications", okta.domain(), &[Lit("api/v1/apps")])?;
    url.query_pairs_mut().append_pair("limit", &page_size.to_string());
    let mut next = Some(url);
    let mut apps = Vec::new();
    let mut pages = 0;
    while let Some(u) = next.take() {
        pages += 1;
        if pages > MAX_PAGES {
            return Err(rejected(
                "okta",
                "ListApplications",
                format!("more than {MAX_PAGES} pages; not followed further"),
            ));
        }
        let req = okta
            .http()
            .get(u)
            .header(reqwest::header::AUTHORIZATION, okta.ssws())
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(CALL_TIMEOUT);
        let (body, link) = send_linked("okta", "ListApplications", req).await?;
        apps.extend(okta_apps(&body)?);
        next = link
            .as_deref()
            .and_then(link_next)
            .map(|n| next_page("okta", "ListApplications", okta.domain(), &n))
            .transpose()?;
    }
    for app in apps.iter_mut().filter(|a| provable(a.auth_method.as_deref())) {
        let url = vendor_url(
            "okta",
            "ListSecrets",
            okta.domain(),
            &[Lit("api/v1/apps"), Val("app_id", &app.id), Lit("credentials/secrets")],
        )?;
        let req = okta
            .http()
            .get(url)
            .header(reqwest::header::AUTHORIZATION, okta.ssws())
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(CALL_TIMEOUT);
        let (_, body) = send("okta", "ListSecrets", req).await?;
        app.secrets = okta_secrets(&body)?;
    }
    Ok(apps)
}

/// The host of keyturn's Okta org (the drafts' `org`).
pub fn okta_org(okta: &Okta) -> String {
    Url::parse(okta.domain()).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| "okta".into())
}

// ---- drafts -------------------------------------------------------------------------

/// Passwords keyturn made in a rotation are named `keyturn chg-…`: they
/// belong to connectors already in the inventory.
fn made_by_keyturn(p: &EntraPassword) -> bool {
    p.display_name.as_deref().is_some_and(|n| n.starts_with("keyturn chg-"))
}

/// What `--self` means for Okta: keyturn calls Okta with an API token
/// (`KEYTURN_OKTA_SECRET`), not as an OAuth app, so it has no Okta client
/// secret of its own to draft.
pub const OKTA_SELF_NOTE: &str = "keyturn's Okta access is an API token (KEYTURN_OKTA_SECRET), not an OAuth app: \
                                  it has no Okta client secret to draft";

/// The records of every live password of `apps` (tenant `tenant_id`), at
/// `now`: expired ones and ones keyturn made are left out (noted). `own`
/// marks keyturn's own app: its records say so, and when exactly one live
/// password's hint matches keyturn's secret only that one is drafted.
pub fn write_entra(d: &mut Draft, tenant_id: &str, apps: &[EntraApp], now: time::OffsetDateTime, own: bool) {
    let now_text = format_utc(now);
    for app in apps {
        let live: Vec<&EntraPassword> = app
            .passwords
            .iter()
            .filter(|p| parse_instant(&p.end).is_some_and(|end| end > now) && !made_by_keyturn(p))
            .collect();
        let skipped = app.passwords.len() - live.len();
        if skipped > 0 {
            d.note(format!(
                "Entra app {} ({}): {skipped} password(s) left out: expired at {now_text}, or made by keyturn \
                 (named keyturn chg-…: already a connector)",
                q(&app.display_name),
                q(&app.app_id)
            ));
        }
        let ours: Vec<&EntraPassword> = live.iter().copied().filter(|p| p.hint_matches_own).collect();
        let (drafted, which) = match (own, ours.as_slice()) {
            (true, [one]) => (
                vec![*one],
                "the password keyturn signs in with (the only live one whose hint matches KEYTURN_ENTRA_SECRET's \
                 client_secret)",
            ),
            (true, _) => (
                live.clone(),
                "keyturn could not tell which of its app's live passwords it signs in with (the hints of none or \
                 of several match): every one is drafted; delete the ones keyturn does not use",
            ),
            (false, _) => (live.clone(), ""),
        };
        if own && live.is_empty() {
            d.note(format!(
                "keyturn's own Entra app {} ({}) has no live password keyturn did not make",
                q(&app.display_name),
                q(&app.app_id)
            ));
        }
        for p in drafted {
            let mut y = String::new();
            let name = p.display_name.as_deref().map_or_else(|| p.key_id.chars().take(8).collect(), slug);
            let base = if own {
                format!("keyturn/self/entra/{}", slug(&name))
            } else {
                format!("entra/{}/{}", slug(&app.display_name), slug(&name))
            };
            let id = d.unique(base);
            let _ = writeln!(
                y,
                "- # Entra app {} (appId {}), password {} (keyId {}), ends {}",
                q(&app.display_name),
                q(&app.app_id),
                p.display_name.as_deref().map_or_else(|| "(no name)".to_owned(), q),
                q(&p.key_id),
                q(&p.end)
            );
            if own {
                let _ = writeln!(y, "  # KEYTURN'S OWN Graph credential (KEYTURN_ENTRA_SECRET): {which}");
            }
            let _ = writeln!(y, "  id: {}", q(&id));
            let _ = writeln!(y, "  kind: entra-app-secret");
            let _ = writeln!(y, "  org: {}", q(tenant_id));
            let _ = writeln!(y, "  idp: none");
            let _ = writeln!(y, "  tenant_id: {}", q(tenant_id));
            let _ = writeln!(y, "  application_object_id: {}", q(&app.object_id));
            let _ = writeln!(y, "  client_id: {}", q(&app.app_id));
            match &app.owner {
                Some(o) => {
                    let _ = writeln!(y, "  owner: {}  # the app's first user owner in Graph", q(o));
                }
                None => y.push_str(
                    "  owner: \"\"          # TODO: owner missing: Graph lists no user owner of this app; \
                     name who answers for it (email)\n",
                ),
            }
            y.push_str("  approver_group: \"\" # TODO: a group from `keyturn approvers show`\n");
            let _ = writeln!(
                y,
                "  secret_arn: \"\"     # TODO: a Secrets Manager secret holding {{\"key\": this client secret, \
                 \"key_id\": {}}}{}",
                q(&p.key_id),
                if own {
                    " (NOT the KEYTURN_ENTRA_SECRET secret itself: it holds {tenant_id, client_id, client_secret}, \
                     and a rotation writes {key, key_id}; see docs/inventory.md)"
                } else {
                    ""
                }
            );
            let _ = writeln!(y, "  expires_at: {}  # the password's endDateTime", q(&p.end));
            d.push(&y);
        }
    }
}

/// The records of every active client secret of `apps` (Okta org `org`).
/// Okta's client secrets carry no expiry: `expires_at` is the secret's
/// `created` plus `max_age` (the draft says so on each record). Apps whose
/// secrets keyturn cannot prove, and inactive secrets, are noted, not drafted.
pub fn write_okta(d: &mut Draft, org: &str, apps: &[OktaApp], max_age: time::Duration) {
    for app in apps {
        if !provable(app.auth_method.as_deref()) {
            d.note(format!(
                "Okta app {} ({}) left out: token_endpoint_auth_method {} (keyturn proves a secret with \
                 client_secret_basic; client_secret_basic and client_secret_post apps qualify)",
                q(&app.label),
                q(&app.id),
                app.auth_method.as_deref().map_or_else(|| "missing".to_owned(), q)
            ));
            continue;
        }
        let inactive = app.secrets.iter().filter(|s| !s.active).count();
        if inactive > 0 {
            d.note(format!(
                "Okta app {} ({}): {inactive} inactive client secret(s) left out (they sign nothing in)",
                q(&app.label),
                q(&app.id)
            ));
        }
        let full = app.secrets.len() >= 2;
        for s in app.secrets.iter().filter(|s| s.active) {
            let mut y = String::new();
            let id = d.unique(format!("okta/{}/{}", slug(&app.label), slug(&s.id)));
            let expires = parse_instant(&s.created).map_or_else(|| s.created.clone(), |c| format_utc(c + max_age));
            let _ = writeln!(
                y,
                "- # Okta OAuth app {} ({}), client secret {} created {}",
                q(&app.label),
                q(&app.id),
                q(&s.id),
                q(&s.created)
            );
            if full {
                y.push_str(
                    "  # the app holds two client secrets, Okta's maximum: a rotation needs one free place \
                     (deactivate and delete the unused one in Okta first)\n",
                );
            }
            let _ = writeln!(y, "  id: {}", q(&id));
            let _ = writeln!(y, "  kind: okta-client-secret");
            let _ = writeln!(y, "  org: {}", q(org));
            let _ = writeln!(y, "  idp: none");
            let _ = writeln!(y, "  app_id: {}", q(&app.id));
            let _ = writeln!(y, "  client_id: {}", q(&app.client_id));
            y.push_str(
                "  auth_server_id: \"\" # TODO: a custom authorization server that proves the secret (Okta's org \
                 server cannot)\n",
            );
            y.push_str("  scope: \"\"          # TODO: a custom scope of that server the app may request\n");
            y.push_str("  owner: \"\"          # TODO: Okta records no owner of an app: who answers for it (email)\n");
            y.push_str("  approver_group: \"\" # TODO: a group from `keyturn approvers show`\n");
            let _ = writeln!(
                y,
                "  secret_arn: \"\"     # TODO: a Secrets Manager secret holding {{\"key\": this client secret, \
                 \"key_id\": {}}}",
                q(&s.id)
            );
            let _ = writeln!(
                y,
                "  expires_at: {}  # Okta client secrets carry no expiry: created + {} days (--okta-max-age)",
                q(&expires),
                max_age.whole_days()
            );
            d.push(&y);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::vendor::tests::answers_on;
    use super::super::EntraCredentials;
    use super::*;
    use keyturn_domain::inventory::{read_str, validate_record, Format, ValidationContext};

    const OWN_SECRET: &str = "Kt9~own-keyturn-secret-0123456789";

    fn json_answer(body: String) -> (u16, Vec<String>, String) {
        (200, vec!["content-type: application/json".into()], body)
    }

    fn entra(url: &str) -> Entra {
        let creds = EntraCredentials {
            tenant_id: "11111111-2222-3333-4444-555555555555".into(),
            client_id: "0f0f0f0f-1234-5678-9abc-def012345678".into(),
            client_secret: SecretValue::new(OWN_SECRET),
        };
        Entra::new(reqwest::Client::new(), &format!("{url}/login"), &format!("{url}/graph"), creds)
            .with_token("graph-token")
    }

    fn app(id: &str, app_id: &str, name: &str, passwords: &str) -> String {
        format!(r#"{{"id":"{id}","appId":"{app_id}","displayName":"{name}","passwordCredentials":[{passwords}]}}"#)
    }

    fn password(key: &str, name: &str, hint: &str, end: &str) -> String {
        format!(
            r#"{{"customKeyIdentifier":null,"displayName":"{name}","endDateTime":"{end}","hint":"{hint}","keyId":"{key}","secretText":null,"startDateTime":"2026-01-01T00:00:00Z"}}"#
        )
    }

    const OBJ_A: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
    const OBJ_B: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
    const APP_A: &str = "aaaaaaaa-1111-4111-8111-11111111111a";
    const APP_B: &str = "bbbbbbbb-1111-4111-8111-11111111111b";
    const KEY_1: &str = "11111111-aaaa-4aaa-8aaa-111111111111";
    const KEY_2: &str = "22222222-aaaa-4aaa-8aaa-222222222222";

    #[test]
    fn a_bad_graph_answer_is_refused_naming_the_field() {
        let no_end = r#"{"value":[{"id":"o1","appId":"a1","passwordCredentials":[{"keyId":"k1","hint":"abc"}]}]}"#;
        let err = entra_applications(no_end).unwrap_err().to_string();
        assert!(err.contains("value[0].passwordCredentials[0].endDateTime"), "{err}");
        assert!(!err.contains("abc"), "never the hint: {err}");
        let no_id =
            r#"{"value":[{"id":"o1","appId":"a1","passwordCredentials":[]},{"appId":"a2","passwordCredentials":[]}]}"#;
        let err = entra_applications(no_id).unwrap_err().to_string();
        assert!(err.contains("value[1].id"), "{err}");
        let no_key =
            r#"{"value":[{"id":"o1","appId":"a1","passwordCredentials":[{"endDateTime":"2027-01-01T00:00:00Z"}]}]}"#;
        assert!(entra_applications(no_key).unwrap_err().to_string().contains("passwordCredentials[0].keyId"));
        let bad_end =
            r#"{"value":[{"id":"o1","appId":"a1","passwordCredentials":[{"keyId":"k","endDateTime":"soon"}]}]}"#;
        assert!(entra_applications(bad_end).unwrap_err().to_string().contains("endDateTime is not an ISO 8601"));
        assert!(entra_applications(r#"{"values":[]}"#).unwrap_err().to_string().contains("no value"));
        let no_creds = r#"{"value":[{"id":"o1","appId":"a1"}]}"#;
        assert!(entra_applications(no_creds).unwrap_err().to_string().contains("value[0].passwordCredentials"));
        assert!(entra_owner(r#"{"data":[]}"#).unwrap_err().to_string().contains("no value"));
    }

    #[test]
    fn the_owner_is_the_first_user_with_a_mail_or_a_principal_name() {
        let body = r##"{"value":[
            {"@odata.type":"#microsoft.graph.servicePrincipal","id":"sp","displayName":"robot"},
            {"@odata.type":"#microsoft.graph.user","id":"u0","mail":null,"userPrincipalName":" "},
            {"@odata.type":"#microsoft.graph.user","id":"u1","mail":null,"userPrincipalName":"ada@contoso.example"},
            {"@odata.type":"#microsoft.graph.user","id":"u2","mail":"bob@contoso.example"}]}"##;
        assert_eq!(entra_owner(body).unwrap().0.as_deref(), Some("ada@contoso.example"));
        let robots = r##"{"value":[{"@odata.type":"#microsoft.graph.servicePrincipal","id":"sp"}]}"##;
        assert_eq!(entra_owner(robots).unwrap().0, None);
    }

    /// Two pages of applications (the second through an absolute
    /// `@odata.nextLink`), then one owners call per app with a password.
    #[tokio::test]
    async fn every_page_of_applications_is_read_with_each_apps_owner() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let next =
            format!("{base}/graph/applications?$select=id,appId,displayName,passwordCredentials&$top=1&$skiptoken=p2");
        let page1 = format!(
            r#"{{"value":[{}],"@odata.nextLink":"{next}"}}"#,
            app(OBJ_A, APP_A, "Payroll sync", &password(KEY_1, "first", "abc", "2027-01-02T03:04:05.1234567Z"))
        );
        let page2 = format!(
            r#"{{"value":[{},{}]}}"#,
            app(OBJ_B, APP_B, "No owner", &password(KEY_2, "", "xyz", "2027-02-01T00:00:00Z")),
            app("cccccccc-0000-4000-8000-00000000000c", APP_B, "No passwords", "")
        );
        let owners_a =
            r##"{"value":[{"@odata.type":"#microsoft.graph.user","id":"u","mail":"owner@contoso.example"}]}"##;
        let (url, mut seen) = answers_on(
            listener,
            vec![
                json_answer(page1),
                json_answer(page2),
                json_answer(owners_a.into()),
                json_answer(r#"{"value":[]}"#.into()),
            ],
        );
        let apps = entra_apps(&entra(&url), 1).await.unwrap();
        let first = seen.recv().await.unwrap();
        assert!(
            first.starts_with(
                "GET /graph/applications?%24select=id%2CappId%2CdisplayName%2CpasswordCredentials&%24top=1 "
            ),
            "{first}"
        );
        assert!(first.contains("authorization: Bearer graph-token"), "{first}");
        assert!(seen.recv().await.unwrap().contains("$skiptoken=p2"), "the nextLink, called as given");
        assert!(seen.recv().await.unwrap().starts_with(&format!("GET /graph/applications/{OBJ_A}/owners ")));
        assert!(seen.recv().await.unwrap().starts_with(&format!("GET /graph/applications/{OBJ_B}/owners ")));
        assert!(seen.try_recv().is_err(), "no owners call for an app without passwords");
        assert_eq!(apps.len(), 3);
        assert_eq!(apps[0].owner.as_deref(), Some("owner@contoso.example"));
        assert_eq!(apps[0].passwords[0].end, "2027-01-02T03:04:05Z", "normalised");
        assert_eq!(apps[1].owner, None);
        assert!(!apps[0].passwords[0].hint_matches_own, "only keyturn's own app is compared");

        // The draft: owners where Graph named one, a TODO saying so where not.
        let mut d = Draft::default();
        write_entra(
            &mut d,
            "11111111-2222-3333-4444-555555555555",
            &apps,
            time::macros::datetime!(2026-12-01 00:00 UTC),
            false,
        );
        let text = d.finish("Entra tenant t", "Microsoft Graph", "2026-12-01T00:00:00Z");
        let records = read_str(&text, Format::Yaml, "draft.yaml").unwrap();
        assert_eq!(records.len(), 2, "{text}");
        assert_eq!(records[0].get("id"), Some("entra/payroll-sync/first"));
        assert_eq!(records[0].get("kind"), Some("entra-app-secret"));
        assert_eq!(records[0].get("application_object_id"), Some(OBJ_A));
        assert_eq!(records[0].get("client_id"), Some(APP_A));
        assert_eq!(records[0].get("owner"), Some("owner@contoso.example"));
        assert_eq!(records[0].get("expires_at"), Some("2027-01-02T03:04:05Z"));
        assert_eq!(records[1].get("id"), Some("entra/no-owner/22222222"), "named by its key id without a name");
        assert!(text.contains("TODO: owner missing"), "{text}");
        let ctx = ValidationContext::at(time::macros::datetime!(2026-12-01 00:00 UTC));
        let fields = |i: usize| -> Vec<String> {
            validate_record(&records[i], &ctx).unwrap_err().into_iter().map(|e| e.field).collect()
        };
        assert!(fields(1).contains(&"owner".to_owned()), "validation flags the missing owner: {:?}", fields(1));
        for f in ["approver_group", "secret_arn"] {
            assert!(fields(0).contains(&f.to_owned()), "{f}: {:?}", fields(0));
        }
        assert!(!fields(0).contains(&"owner".to_owned()));
        assert!(!text.contains("abc") && !text.contains("xyz"), "no hint in the draft: {text}");
    }

    #[tokio::test]
    async fn a_next_link_to_another_host_is_not_followed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let page = r#"{"value":[],"@odata.nextLink":"https://graph.evil.example/v1.0/applications?$skiptoken=x"}"#;
        let (url, _) = answers_on(listener, vec![json_answer(page.into())]);
        let err = entra_apps(&entra(&url), 10).await.unwrap_err().to_string();
        assert!(err.contains("another host (graph.evil.example)"), "{err}");
    }

    /// keyturn's own app: the password whose hint is its secret's first three
    /// characters is the one drafted; without a single match, every live one.
    #[tokio::test]
    async fn keyturns_own_password_is_told_apart_by_its_hint() {
        let now = time::macros::datetime!(2026-12-01 00:00 UTC);
        let own_app = app(
            OBJ_A,
            "0f0f0f0f-1234-5678-9abc-def012345678",
            "keyturn",
            &[
                password(KEY_1, "older", "zzz", "2027-06-01T00:00:00Z"),
                password(KEY_2, "in use", &OWN_SECRET[..3], "2026-12-15T00:00:00Z"),
                password("33333333-aaaa-4aaa-8aaa-333333333333", "expired", &OWN_SECRET[..3], "2026-11-01T00:00:00Z"),
            ]
            .join(","),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let owners = r##"{"value":[{"@odata.type":"#microsoft.graph.user","id":"u","userPrincipalName":"it@contoso.example"}]}"##;
        let (url, mut seen) = answers_on(listener, vec![json_answer(own_app), json_answer(owners.into())]);
        let found = entra_own_app(&entra(&url)).await.unwrap();
        let get = seen.recv().await.unwrap();
        assert!(
            get.starts_with("GET /graph/applications(appId='0f0f0f0f-1234-5678-9abc-def012345678')?%24select="),
            "{get}"
        );
        let mut d = Draft::default();
        write_entra(&mut d, "t.example", std::slice::from_ref(&found), now, true);
        let text = d.finish("keyturn itself", "Microsoft Graph", "now");
        let records = read_str(&text, Format::Yaml, "self.yaml").unwrap();
        assert_eq!(records.len(), 1, "only the password in use: {text}");
        assert_eq!(records[0].get("id"), Some("keyturn/self/entra/in-use"));
        assert_eq!(records[0].get("expires_at"), Some("2026-12-15T00:00:00Z"));
        assert_eq!(records[0].get("owner"), Some("it@contoso.example"));
        assert!(text.contains("KEYTURN'S OWN Graph credential"), "{text}");
        assert!(text.contains("1 password(s) left out"), "the expired one is noted: {text}");
        assert!(!text.contains(&OWN_SECRET[..3]) && !text.contains(OWN_SECRET), "no hint, no secret: {text}");

        // Both live hints match: both drafted, and the draft says why.
        let mut two = found;
        two.passwords[0].hint_matches_own = true;
        let mut d = Draft::default();
        write_entra(&mut d, "t.example", &[two], now, true);
        let text = d.finish("keyturn itself", "Microsoft Graph", "now");
        assert_eq!(read_str(&text, Format::Yaml, "self.yaml").unwrap().len(), 2, "{text}");
        assert!(text.contains("could not tell which"), "{text}");
    }

    #[tokio::test]
    async fn an_unknown_own_app_names_the_setting() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let nf = r#"{"error":{"code":"Request_ResourceNotFound","message":"Resource does not exist"}}"#;
        let (url, _) = answers_on(listener, vec![(404, vec!["content-type: application/json".into()], nf.into())]);
        let err = entra_own_app(&entra(&url)).await.unwrap_err().to_string();
        assert!(err.contains("KEYTURN_ENTRA_SECRET: client_id 0f0f0f0f-1234-5678-9abc-def012345678"), "{err}");
        assert!(!err.contains(OWN_SECRET), "{err}");
    }

    #[test]
    fn link_headers_are_read_as_rfc_8288_says() {
        let h = r#"<https://acme.okta.example/api/v1/apps?limit=2>; rel="self", <https://acme.okta.example/api/v1/apps?after=0oa2&limit=2>; rel="next""#;
        assert_eq!(link_next(h).as_deref(), Some("https://acme.okta.example/api/v1/apps?after=0oa2&limit=2"));
        assert_eq!(link_next("<https://x.example/a>; rel=next").as_deref(), Some("https://x.example/a"));
        assert_eq!(
            link_next(r#"<https://x.example/b>; title="t"; rel="prev next""#).as_deref(),
            Some("https://x.example/b")
        );
        assert_eq!(link_next(r#"<https://x.example/a>; rel="self""#), None);
        assert_eq!(link_next("garbage"), None);
    }

    #[test]
    fn a_bad_okta_answer_is_refused_naming_the_field() {
        let err = okta_apps(r#"[{"label":"x","credentials":{}}]"#).unwrap_err().to_string();
        assert!(err.contains("[0].id"), "{err}");
        let err = okta_apps(r#"[{"id":"0oa1","credentials":{"oauthClient":{}}}]"#).unwrap_err().to_string();
        assert!(err.contains("[0].credentials.oauthClient.client_id"), "{err}");
        assert!(okta_apps(r#"{"apps":[]}"#).unwrap_err().to_string().contains("not a list"));
        let err =
            okta_secrets(r#"[{"id":"ocs1","status":"ACTIVE","client_secret":"******"}]"#).unwrap_err().to_string();
        assert!(err.contains("[0].created"), "{err}");
        assert!(!err.contains("******"), "{err}");
        // An app without an OAuth client has no client secret: not an error, not listed.
        assert!(okta_apps(r#"[{"id":"0oa9","label":"SAML app","credentials":{"signing":{}}}]"#).unwrap().is_empty());
    }

    #[tokio::test]
    async fn okta_apps_are_paged_by_their_link_header_and_drafted_created_plus_the_max_age() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let oauth = |id: &str, method: &str| {
            format!(
                r#"{{"id":"{id}","label":"App {id}","credentials":{{"oauthClient":{{"client_id":"c-{id}","token_endpoint_auth_method":"{method}"}}}}}}"#
            )
        };
        let link = |h: &str| vec!["content-type: application/json".to_owned(), format!("link: {h}")];
        let page1 = format!("[{}]", oauth("0oa1", "client_secret_basic"));
        let page2 =
            format!("[{},{}]", oauth("0oa2", "private_key_jwt"), r#"{"id":"0oa3","label":"SAML","credentials":{}}"#);
        let secrets = r#"[{"id":"ocs1","status":"ACTIVE","client_secret":"******","created":"2026-06-01T10:00:00.000Z"},
                          {"id":"ocs2","status":"INACTIVE","client_secret":"******","created":"2026-01-01T10:00:00.000Z"}]"#;
        let (url, mut seen) = answers_on(
            listener,
            vec![
                (
                    200,
                    link(&format!(
                        r#"<{base}/okta/api/v1/apps?limit=1>; rel="self", <{base}/okta/api/v1/apps?after=0oa1&limit=1>; rel="next""#
                    )),
                    page1,
                ),
                (200, link(&format!(r#"<{base}/okta/api/v1/apps?after=0oa1&limit=1>; rel="self""#)), page2),
                json_answer(secrets.into()),
            ],
        );
        let okta = Okta::new(reqwest::Client::new(), &format!("{url}/okta"), SecretValue::new("okta-api-token-123"));
        let apps = okta_oauth_apps(&okta, 1).await.unwrap();
        let first = seen.recv().await.unwrap();
        assert!(first.starts_with("GET /okta/api/v1/apps?limit=1 "), "{first}");
        assert!(first.contains("authorization: SSWS okta-api-token-123"), "{first}");
        assert!(seen.recv().await.unwrap().starts_with("GET /okta/api/v1/apps?after=0oa1&limit=1 "));
        assert!(seen.recv().await.unwrap().starts_with("GET /okta/api/v1/apps/0oa1/credentials/secrets "));
        assert!(seen.try_recv().is_err(), "no secrets listed for a private_key_jwt app");
        assert_eq!(apps.len(), 2, "the SAML app has no OAuth client");

        let mut d = Draft::default();
        write_okta(&mut d, "acme.okta.example", &apps, time::Duration::days(365));
        let text = d.finish("Okta org acme", "the Okta Management API", "now");
        let records = read_str(&text, Format::Yaml, "okta.yaml").unwrap();
        assert_eq!(records.len(), 1, "one active secret of one provable app: {text}");
        assert_eq!(records[0].get("kind"), Some("okta-client-secret"));
        assert_eq!(records[0].get("app_id"), Some("0oa1"));
        assert_eq!(records[0].get("client_id"), Some("c-0oa1"));
        assert_eq!(records[0].get("expires_at"), Some("2027-06-01T10:00:00Z"), "created + 365 days");
        assert!(text.contains("Okta client secrets carry no expiry"), "{text}");
        assert!(text.contains("private_key_jwt"), "the skipped app is noted: {text}");
        assert!(text.contains("1 inactive client secret(s) left out"), "{text}");
        let ctx = ValidationContext::at(time::macros::datetime!(2026-12-01 00:00 UTC));
        let fields: Vec<String> =
            validate_record(&records[0], &ctx).unwrap_err().into_iter().map(|e| e.field).collect();
        for f in ["auth_server_id", "scope", "owner", "approver_group", "secret_arn"] {
            assert!(fields.contains(&f.to_owned()), "{f}: {fields:?}");
        }
    }

    #[test]
    fn a_vendor_name_cannot_add_a_field_to_the_draft() {
        let evil = EntraApp {
            object_id: OBJ_A.into(),
            app_id: APP_A.into(),
            display_name: "x\n  owner: attacker@evil.example\n#".into(),
            passwords: vec![EntraPassword {
                key_id: KEY_1.into(),
                display_name: Some("p\n- id: injected".into()),
                end: "2027-01-01T00:00:00Z".into(),
                hint_matches_own: false,
            }],
            owner: None,
        };
        let mut d = Draft::default();
        write_entra(&mut d, "t", &[evil], time::macros::datetime!(2026-12-01 00:00 UTC), false);
        let text = d.finish("t", "Graph", "now");
        let records = read_str(&text, Format::Yaml, "d.yaml").unwrap();
        assert_eq!(records.len(), 1, "{text}");
        assert_eq!(records[0].get("owner"), None, "the name stayed in its comment: {text}");
    }
}
