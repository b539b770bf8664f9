//! Simulators of the APIs keyturn rotates keys through, following the
//! vendors' documentation (docs/vendors.md, where each call is cited; each
//! route below names its document). A request in a shape the vendor does not
//! document is refused with 400, so the adapters cannot drift from the
//! documents unnoticed:
//!
//! | API | paths | behaviour that matters |
//! |---|---|---|
//! | Atlassian SCIM | `GET /scim/directory/{dir}/Users` (any method and path under the directory when relayed) | bearer = the directory's key; regenerating kills the old key at once; a directory set with `"upstream": true` is served by the independent SCIM server behind [`scim_relay`] |
//! | a vendor's SCIM endpoint | `GET /scim/orgs/{org}/Users` | bearer = any live org API key (how a generic-http vendor's SCIM side is simulated) |
//! | Atlassian org API keys | `GET /admin/api-access/v1/orgs/{org}/api-keys` (cursor pages), `PATCH …/api-keys/revoke/{id}`, `GET /admin/v1/orgs/{org}` | no create by API (Atlassian documents none): keys are made in the "console" (`POST /_sim/atlassian/orgs/{org}/keys`); revoked keys stop at once |
//! | generic vendor (docs/rotation.md's template example; no real vendor) | `POST /generic/v1/orgs/{org}/keys`, `DELETE …/keys/{id}`, `GET /generic/v1/orgs/{org}/me` | a key API shaped as a `generic-http` template expects |
//! | Entra token | `POST /login/{tenant}/oauth2/v2.0/token` | client credentials → `sim-graph-token` |
//! | Entra Graph | `PUT /graph/v1.0/servicePrincipals/{sp}/synchronization/secrets`, `POST …/jobs/{job}/validateCredentials`, `GET …/jobs/{job}`, `POST …/jobs/{job}/restart` | validation calls the SCIM endpoint it is given, as Entra does: `GET {BaseAddress}/Users?filter=userName eq "…"` with `SecretToken` as the bearer (loopback only), 2xx + ListResponse is valid |
//! | Okta | `GET /okta/api/v1/apps/{app}/connections/default`; `POST` only for an app marked Org2Org/Zscaler | other apps' tokens are set in the "console" (`PUT /_sim/okta/apps/{app}/token`) |
//! | Okta API tokens (keyturn's own) | `GET /okta/api/v1/api-tokens/{id}` | seeded with `PUT /_sim/okta/api-tokens/{id}`; a call with a seeded token renews it, an expired one is refused |
//! | Slack incoming webhook | `POST /slack/{anything}` | answers `ok`; captured at `GET /_sim/slack` |
//! | Entra app registrations, Okta OAuth apps ([`apps`]) | `GET /graph/v1.0/applications[/{id}[/owners]]`, `POST …/{id}/addPassword`, `POST …/{id}/removePassword`; `POST /login/{tenant}/oauth2/v2.0/token` for a seeded app; `/okta/api/v1/apps/{app}/credentials/secrets[/{id}[/lifecycle/…]]`, `POST /okta/oauth2[/{server}]/v1/token` | secrets are random and answered once; a seeded app's token request checks the secret, its expiry and (when asked) replication; Okta keeps at most two secrets and deletes only inactive ones |
//! | Jira REST v2 | `POST /jira/rest/api/2/issue`, `POST /jira/rest/api/2/issue/{key}/comment` | needs an `Authorization`; captured at `GET /_sim/jira` |
//!
//! Control (never faulted): `PUT /_sim/atlassian/directories/{dir}` `{"key", "org"?, "name"?, "upstream"?}`,
//! `POST /_sim/atlassian/directories/{dir}/regenerate` → `{"key"}`,
//! `PUT /_sim/atlassian/orgs/{org}/keys/{id}` `{"key", "label"?, "expiresAt"?}`,
//! `POST /_sim/atlassian/orgs/{org}/keys` `{"label"?, "expiresAt"?}` → `{"id", "key"}` (an owner creating a key in admin.atlassian.com),
//! `PUT /_sim/okta/apps/{app}/token` `{"token"}` (an owner setting it in Okta's Admin Console),
//! `PUT /_sim/entra/jobs/{sp}/{job}` `{"status"}`, `GET /_sim/entra/{sp}` → saved key fingerprint,
//! `PUT /_sim/okta/apps/{app}` `{"status"}`, `GET /_sim/okta/{app}`,
//! `POST /_sim/faults` `{"method"?, "path_prefix", "skip"?, "times", "kind": "status"|"hang"|"garbage", "status"?, "retry_after"?}`
//! (the first `skip` matching requests pass),
//! `DELETE /_sim/faults`, `GET /_sim/requests` (method, path, status; never bodies or headers),
//! `POST /_sim/reset`, `GET /_sim/health`.
//!
//! Key values never appear in the request log or any control answer except
//! where the real API returns a newly created key; state is shown as
//! SHA-256 fingerprints (the first 16 hex digits, like keyturn's audit trail).

#![forbid(unsafe_code)]

pub mod apps;
pub mod scim_relay;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// What a matching request gets instead of its answer.
#[derive(Debug, Clone)]
struct Fault {
    method: Option<String>,
    path_prefix: String,
    /// Matching requests let through before the fault starts.
    skip: u32,
    times: u32,
    kind: String,
    status: u16,
    retry_after: Option<u64>,
}

#[derive(Debug, Clone)]
struct OrgKey {
    id: String,
    label: String,
    key: String,
    revoked: bool,
    expires_at: String,
}

#[derive(Debug, Default)]
struct Sim {
    /// SCIM directory → its one live key.
    scim: HashMap<String, String>,
    /// Directories served by the independent SCIM server (through the relay).
    relayed: HashSet<String>,
    /// Where that server listens (`--scim-upstream`); kept across resets.
    scim_upstream: Option<String>,
    /// Organization → its directories (id, name), in creation order.
    directories: HashMap<String, Vec<(String, String)>>,
    org_keys: HashMap<String, Vec<OrgKey>>,
    /// Service principal → (base address, saved token).
    entra_saved: HashMap<String, (String, String)>,
    /// (service principal, job) → status code.
    entra_jobs: HashMap<(String, String), String>,
    /// Okta app → saved token.
    okta_tokens: HashMap<String, String>,
    okta_status: HashMap<String, String>,
    /// Apps marked Org2Org or Zscaler 2.0: the only ones whose token the API sets.
    okta_api_apps: std::collections::HashSet<String>,
    slack: Vec<Value>,
    /// Jira issues in creation order, each with its comments.
    jira: Vec<Value>,
    faults: Vec<Fault>,
    requests: Vec<Value>,
    counter: u64,
    /// Entra app registrations' and Okta OAuth apps' client secrets.
    apps: apps::Apps,
}

type Shared = Arc<Mutex<Sim>>;

fn lock(s: &Shared) -> MutexGuard<'_, Sim> {
    // A panic while holding the lock poisons it; the data is still usable.
    s.lock().unwrap_or_else(|e| e.into_inner())
}

fn fingerprint(v: &str) -> String {
    hex::encode(Sha256::digest(v.as_bytes()))[..16].to_owned()
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    let _ = getrandom::fill(&mut b);
    hex::encode(b)
}

/// One client for the simulator's own outbound calls (Entra's credential
/// checks, the SCIM relay): loopback only, no proxy, no redirects.
fn http() -> &'static reqwest::Client {
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    HTTP.get_or_init(|| {
        reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default()
    })
}

fn is_loopback_url(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else { return false };
    let host = url.host_str().unwrap_or_default();
    matches!(url.scheme(), "http" | "https")
        && url.username().is_empty()
        && url.password().is_none()
        && (host == "localhost"
            || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()))
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ").map(str::to_owned)
}

fn err(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn scim_error(status: StatusCode, detail: &str) -> Response {
    err(
        status,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": status.as_u16().to_string(), "detail": detail}),
    )
}

// ---- Atlassian SCIM -----------------------------------------------------------

fn one_user() -> Response {
    Json(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 1, "startIndex": 1, "itemsPerPage": 1,
        "Resources": [{"id": "u-1", "userName": "ada@example.com", "active": true}],
    }))
    .into_response()
}

/// Atlassian user provisioning SCIM API (RFC 7644 §3.4.2):
/// `GET /scim/directory/{directoryId}/Users`, Bearer = the directory's SCIM
/// key; an unknown directory answers a SCIM Error 404 "Unknown tenant", a
/// wrong key 401 `{error, traceId}` (Atlassian's OpenAPI description).
/// The key is checked here; a relayed directory's request then goes to the
/// independent SCIM server, any other directory answers `GET Users` itself.
async fn scim_directory(State(s): State<Shared>, Path((dir, rest)): Path<(String, String)>, req: Request) -> Response {
    let (live, upstream) = {
        let sim = lock(&s);
        let upstream = sim.relayed.contains(&dir).then(|| sim.scim_upstream.clone()).flatten();
        (sim.scim.get(&dir).cloned(), upstream)
    };
    let Some(live) = live else { return scim_error(StatusCode::NOT_FOUND, "Unknown tenant") };
    if bearer(req.headers()).as_deref() != Some(live.as_str()) {
        // Atlassian's OpenAPI description answers 401 with its `Failure`
        // shape `{error, traceId}`, not a SCIM Error (spec/openapi/atlassian-scim.json).
        return err(StatusCode::UNAUTHORIZED, json!({"error": "Unauthorized", "traceId": random_hex(8)}));
    }
    match upstream {
        Some(upstream) => scim_relay::relay(http(), &upstream, &dir, &rest, req).await,
        None if rest == "Users" && req.method() == axum::http::Method::GET => one_user(),
        None => scim_error(StatusCode::NOT_FOUND, "no such resource"),
    }
}

/// A generic-http vendor's SCIM endpoint: any live org API key reads it.
async fn org_scim_users(State(s): State<Shared>, Path(org): Path<String>, headers: HeaderMap) -> Response {
    if !org_key_ok(&lock(&s), &org, &headers) {
        return scim_error(StatusCode::UNAUTHORIZED, "invalid API key");
    }
    one_user()
}

async fn sim_set_directory(State(s): State<Shared>, Path(dir): Path<String>, Json(b): Json<Value>) -> Response {
    let Some(key) = b["key"].as_str() else { return err(StatusCode::BAD_REQUEST, json!({"error": "key required"})) };
    let mut sim = lock(&s);
    if b["upstream"] == true {
        if sim.scim_upstream.is_none() {
            return err(StatusCode::CONFLICT, json!({"error": "keyturn-sim runs without --scim-upstream"}));
        }
        sim.relayed.insert(dir.clone());
    } else {
        sim.relayed.remove(&dir);
    }
    if let Some(org) = b["org"].as_str() {
        let name = b["name"].as_str().unwrap_or(&dir).to_owned();
        let dirs = sim.directories.entry(org.to_owned()).or_default();
        dirs.retain(|(id, _)| *id != dir);
        dirs.push((dir.clone(), name));
    }
    sim.scim.insert(dir, key.to_owned());
    Json(json!({"fingerprint": fingerprint(key)})).into_response()
}

/// Like admin.atlassian.com: a new key, and the old one dies at once.
async fn sim_regenerate(State(s): State<Shared>, Path(dir): Path<String>) -> Response {
    let key = format!("atst-{}", random_hex(20));
    lock(&s).scim.insert(dir, key.clone());
    Json(json!({"key": key})).into_response()
}

// ---- Atlassian organization API keys --------------------------------------------

fn org_key_ok(sim: &Sim, org: &str, headers: &HeaderMap) -> bool {
    bearer(headers).is_some_and(|token| org_key_works(sim, org, &token))
}

fn org_key_works(sim: &Sim, org: &str, token: &str) -> bool {
    sim.org_keys.get(org).is_some_and(|keys| keys.iter().any(|k| !k.revoked && k.key == token))
}

/// Refused: Atlassian's API Access reference documents no create operation
/// (docs/vendors.md); keys are made in admin.atlassian.com.
async fn org_keys_create() -> Response {
    err(
        StatusCode::BAD_REQUEST,
        json!({"message": "not a documented operation: organization API keys are created in admin.atlassian.com"}),
    )
}

/// API Access, API Key group: `GET /admin/api-access/v1/orgs/{orgId}/api-keys`
/// with `cursor` and `pageSize`; items `id, label, createdAt, expiresAt,
/// lastActiveAt, …`, no status (revoked keys are not listed); `links.next`.
async fn org_keys_list(
    State(s): State<Shared>,
    Path(org): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let sim = lock(&s);
    if !org_key_ok(&sim, &org, &headers) {
        return err(StatusCode::UNAUTHORIZED, json!({"message": "Unauthorized"}));
    }
    let Some(query) = documented_query(&uri, &["cursor", "pageSize"]) else {
        return err(StatusCode::BAD_REQUEST, json!({"message": "unknown query parameter"}));
    };
    let size: usize = query.get("pageSize").and_then(|v| v.parse().ok()).unwrap_or(2).clamp(1, 100);
    let start: usize = query.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let live: Vec<&OrgKey> = sim.org_keys.get(&org).into_iter().flatten().filter(|k| !k.revoked).collect();
    let data: Vec<Value> = live
        .iter()
        .skip(start)
        .take(size)
        .map(|k| {
            json!({"id": k.id, "label": k.label, "createdAt": "2026-11-24T00:00:00Z", "expiresAt": k.expires_at,
               "lastActiveAt": null, "orgId": org, "resource": null, "scopes": []})
        })
        .collect();
    let next = (start + size < live.len()).then(|| (start + size).to_string());
    Json(json!({"data": data, "links": {"next": next}})).into_response()
}

/// API Access, API Key group: `PATCH …/api-keys/revoke/{apiKeyId}`. The
/// answer for an unknown id is undocumented; the simulator says 404.
async fn org_keys_revoke(
    State(s): State<Shared>,
    Path((org, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut sim = lock(&s);
    if !org_key_ok(&sim, &org, &headers) {
        return err(StatusCode::UNAUTHORIZED, json!({"message": "Unauthorized"}));
    }
    match sim.org_keys.get_mut(&org).and_then(|keys| keys.iter_mut().find(|k| k.id == id && !k.revoked)) {
        Some(k) => {
            k.revoked = true;
            StatusCode::NO_CONTENT.into_response()
        }
        None => err(StatusCode::NOT_FOUND, json!({"message": "no such key"})),
    }
}

/// Refused: `DELETE …/api-keys/{id}` is not a documented operation.
async fn org_keys_delete() -> Response {
    err(
        StatusCode::BAD_REQUEST,
        json!({"message": "not a documented operation: revoke with PATCH …/api-keys/revoke/{id}"}),
    )
}

/// The query's parameters, or `None` when one is not in `allowed`.
fn documented_query(uri: &axum::http::Uri, allowed: &[&str]) -> Option<HashMap<String, String>> {
    let mut out = HashMap::new();
    for pair in uri.query().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if !allowed.contains(&k) {
            return None;
        }
        out.insert(k.to_owned(), v.to_owned());
    }
    Some(out)
}

/// Like an owner in admin.atlassian.com (Settings > API keys > Create): a new
/// key, shown once; the old ones stay valid.
async fn sim_create_org_key(State(s): State<Shared>, Path(org): Path<String>, body: Option<Json<Value>>) -> Response {
    let b = body.map(|Json(b)| b).unwrap_or_default();
    let mut sim = lock(&s);
    sim.counter += 1;
    let k = OrgKey {
        id: format!("key-{}-{}", sim.counter, random_hex(4)),
        label: b["label"].as_str().unwrap_or("created in the console").to_owned(),
        key: format!("atok-{}", random_hex(24)),
        revoked: false,
        expires_at: b["expiresAt"].as_str().unwrap_or("2027-11-24T00:00:00Z").to_owned(),
    };
    let answer = json!({"id": k.id, "key": k.key, "expiresAt": k.expires_at});
    sim.org_keys.entry(org).or_default().push(k);
    Json(answer).into_response()
}

// ---- generic vendor (the docs/rotation.md template example) --------------------

/// A key API of the shape docs/rotation.md's template example describes
/// (keyturn's own example, modelled on no real vendor): it serves the
/// `generic-http` tests. Keys live with the org keys, so a key made here also
/// works at the `…/scim/orgs/{org}` SCIM endpoint Entra validates against.
async fn generic_create(
    State(s): State<Shared>,
    Path(org): Path<String>,
    headers: HeaderMap,
    Json(b): Json<Value>,
) -> Response {
    let mut sim = lock(&s);
    if !org_key_ok(&sim, &org, &headers) {
        return err(StatusCode::UNAUTHORIZED, json!({"message": "Unauthorized"}));
    }
    let Some(name) = b["name"].as_str() else {
        return err(StatusCode::BAD_REQUEST, json!({"message": "name required"}));
    };
    sim.counter += 1;
    let k = OrgKey {
        id: format!("key-{}-{}", sim.counter, random_hex(4)),
        label: name.to_owned(),
        key: format!("gk-{}", random_hex(24)),
        revoked: false,
        expires_at: "2027-11-24T00:00:00Z".into(),
    };
    let answer = json!({"data": {"id": k.id, "secret": k.key, "expires": k.expires_at}});
    sim.org_keys.entry(org).or_default().push(k);
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn generic_revoke(
    State(s): State<Shared>,
    Path((org, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    org_keys_revoke(State(s), Path((org, id)), headers).await
}

async fn generic_me(State(s): State<Shared>, Path(org): Path<String>, headers: HeaderMap) -> Response {
    org_get(State(s), Path(org), headers).await
}

/// Organizations REST API: `GET /admin/v2/orgs/{orgId}/directories`, cursor
/// pages (`links.next`); pages of two here so paging is exercised.
async fn org_directories(
    State(s): State<Shared>,
    Path(org): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let sim = lock(&s);
    if !org_key_ok(&sim, &org, &headers) {
        return err(StatusCode::UNAUTHORIZED, json!({"message": "Unauthorized"}));
    }
    const PAGE: usize = 2;
    let cursor = uri.query().unwrap_or("").split('&').find_map(|p| p.strip_prefix("cursor="));
    let start: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
    let all = sim.directories.get(&org).cloned().unwrap_or_default();
    let data: Vec<Value> =
        all.iter().skip(start).take(PAGE).map(|(id, name)| json!({"directoryId": id, "name": name})).collect();
    let next = (start + PAGE < all.len()).then(|| (start + PAGE).to_string());
    Json(json!({"data": data, "links": {"next": next}})).into_response()
}

/// Organizations REST API: `GET /admin/v1/orgs/{orgId}` → `{data: {id, type, attributes}}`.
async fn org_get(State(s): State<Shared>, Path(org): Path<String>, headers: HeaderMap) -> Response {
    if !org_key_ok(&lock(&s), &org, &headers) {
        return err(StatusCode::UNAUTHORIZED, json!({"message": "Unauthorized"}));
    }
    Json(json!({"data": {"id": org, "type": "orgs"}})).into_response()
}

async fn sim_seed_org_key(
    State(s): State<Shared>,
    Path((org, id)): Path<(String, String)>,
    Json(b): Json<Value>,
) -> Response {
    let Some(key) = b["key"].as_str() else { return err(StatusCode::BAD_REQUEST, json!({"error": "key required"})) };
    let mut sim = lock(&s);
    let keys = sim.org_keys.entry(org).or_default();
    keys.retain(|k| k.id != id);
    keys.push(OrgKey {
        id,
        label: b["label"].as_str().or(b["name"].as_str()).unwrap_or("seeded").to_owned(),
        key: key.to_owned(),
        revoked: b["revoked"].as_bool().unwrap_or(false),
        expires_at: b["expiresAt"].as_str().unwrap_or("2027-05-01T00:00:00Z").to_owned(),
    });
    Json(json!({"fingerprint": fingerprint(key)})).into_response()
}

async fn sim_org_keys(State(s): State<Shared>, Path(org): Path<String>) -> Response {
    let sim = lock(&s);
    let keys: Vec<Value> = sim
        .org_keys
        .get(&org)
        .into_iter()
        .flatten()
        .map(|k| json!({"id": k.id, "revoked": k.revoked, "fingerprint": fingerprint(&k.key)}))
        .collect();
    Json(json!(keys)).into_response()
}

// ---- Microsoft Entra ID ---------------------------------------------------------

const GRAPH_TOKEN: &str = "sim-graph-token";

/// Microsoft identity platform token endpoint, client credentials grant.
async fn entra_token(body: String) -> Response {
    if body.split('&').any(|p| p == "grant_type=client_credentials") {
        Json(json!({"access_token": GRAPH_TOKEN, "token_type": "Bearer", "expires_in": 3600})).into_response()
    } else {
        err(StatusCode::BAD_REQUEST, json!({"error": "unsupported_grant_type"}))
    }
}

/// The refusal, when the Graph token is missing or wrong.
fn graph_refused(headers: &HeaderMap) -> Option<Response> {
    (bearer(headers).as_deref() != Some(GRAPH_TOKEN))
        // Graph's ODataError: `error.code` and `error.message` are both required.
        .then(|| {
            err(
                StatusCode::UNAUTHORIZED,
                json!({"error": {"code": "InvalidAuthenticationToken", "message": "Access token is empty or invalid."}}),
            )
        })
}

fn credential<'a>(list: &'a Value, key: &str) -> Option<&'a str> {
    list.as_array()?.iter().find(|c| c["key"] == key)?["value"].as_str()
}

/// Tests `token` against the SCIM endpoint `base` by calling it, as Entra
/// does: `validateCredentials` "validate[s] that the credentials are valid"
/// (Microsoft Graph, synchronizationJob: validateCredentials,
/// https://learn.microsoft.com/en-us/graph/api/synchronization-synchronizationjob-validatecredentials:
/// `credentials` are checked, or with `useSavedCredentials` the saved ones;
/// 204 when valid), and the credential check is "a GET call querying if a
/// specific user exists … not expected to exist", answered 200 by a working
/// endpoint (Microsoft Q&A, Entra provisioning team,
/// https://learn.microsoft.com/en-us/answers/questions/1611014/is-there-a-format-validator-on-the-base-scim-url-p).
/// Never the simulator's own tables: a real SCIM server behind `base` is
/// asked. Loopback only (tests talk to nothing else).
async fn scim_accepts(base: &str, token: &str) -> Result<(), String> {
    if !is_loopback_url(base) {
        return Err("BaseAddress must be a loopback http(s) URL in the simulator".into());
    }
    let filter = format!("userName%20eq%20%22keyturn-sim-{}%22", random_hex(8));
    let answer = http()
        .get(format!("{}/Users?filter={filter}", base.trim_end_matches('/')))
        .bearer_auth(token)
        .header("accept", "application/scim+json")
        .send()
        .await
        .map_err(|_| "the SCIM endpoint did not answer".to_owned())?;
    let status = answer.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(format!("the SCIM endpoint answered HTTP {status}"));
    }
    let body: Value = answer.json().await.map_err(|_| "the SCIM endpoint answered no JSON".to_owned())?;
    let list = body["schemas"].as_array().is_some_and(|s| s.iter().any(|x| x == LIST_RESPONSE));
    list.then_some(()).ok_or_else(|| "the SCIM endpoint answered no ListResponse".to_owned())
}

const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// Graph v1.0 "Add synchronization secrets": `PUT
/// /servicePrincipals/{id}/synchronization/secrets` `{value: [{key, value}]}` → 204.
async fn entra_save(
    State(s): State<Shared>,
    Path(sp): Path<String>,
    headers: HeaderMap,
    Json(b): Json<Value>,
) -> Response {
    if let Some(r) = graph_refused(&headers) {
        return r;
    }
    let (Some(base), Some(token)) = (credential(&b["value"], "BaseAddress"), credential(&b["value"], "SecretToken"))
    else {
        return err(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "BadRequest", "message": "BaseAddress and SecretToken required"}}),
        );
    };
    lock(&s).entra_saved.insert(sp, (base.to_owned(), token.to_owned()));
    StatusCode::NO_CONTENT.into_response()
}

/// Graph v1.0 `synchronizationJob: validateCredentials` → 204 when valid. How
/// a failure answers is undocumented; the simulator says 400 with a Graph error.
async fn entra_validate(
    State(s): State<Shared>,
    Path((sp, _job)): Path<(String, String)>,
    headers: HeaderMap,
    Json(b): Json<Value>,
) -> Response {
    if let Some(r) = graph_refused(&headers) {
        return r;
    }
    // Read, then released: the check below is a real call (maybe to this simulator).
    let candidate = if b["useSavedCredentials"] == true {
        lock(&s).entra_saved.get(&sp).cloned()
    } else {
        credential(&b["credentials"], "BaseAddress")
            .zip(credential(&b["credentials"], "SecretToken"))
            .map(|(a, t)| (a.to_owned(), t.to_owned()))
    };
    let checked = match candidate {
        Some((base, token)) => scim_accepts(&base, &token).await,
        None => Err("no BaseAddress and SecretToken to validate".into()),
    };
    match checked {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(why) => err(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "CredentialValidationUnavailable", "message": format!("The SCIM endpoint rejected the credentials: {why}.")}}),
        ),
    }
}

/// Graph v1.0 "Get synchronizationJob": `status.code`.
async fn entra_job(State(s): State<Shared>, Path((sp, job)): Path<(String, String)>, headers: HeaderMap) -> Response {
    if let Some(r) = graph_refused(&headers) {
        return r;
    }
    let code = lock(&s).entra_jobs.get(&(sp, job.clone())).cloned().unwrap_or_else(|| "Active".into());
    Json(json!({"id": job, "status": {"code": code}})).into_response()
}

/// Graph v1.0 "Restart synchronizationJob" `{criteria: {resetScope}}` → 204.
/// `resetScope` is a comma-separated set of the documented values (or empty);
/// `None` and `ConnectorDataStore` are marked DO NOT USE and `Full` includes
/// them, so the simulator refuses all three (a careful tenant would not want
/// them sent), and only a scope with `QuarantineState` (or the empty, portal
/// default) lifts a quarantine.
async fn entra_restart(
    State(s): State<Shared>,
    Path((sp, job)): Path<(String, String)>,
    headers: HeaderMap,
    Json(b): Json<Value>,
) -> Response {
    if let Some(r) = graph_refused(&headers) {
        return r;
    }
    const DOCUMENTED: [&str; 7] =
        ["None", "ConnectorDataStore", "Escrows", "Watermark", "QuarantineState", "Full", "ForceDeletes"];
    let scope = b["criteria"]["resetScope"].as_str().unwrap_or("");
    let parts: Vec<&str> = scope.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    if let Some(bad) = parts.iter().find(|p| !DOCUMENTED.contains(p)) {
        return err(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "BadRequest", "message": format!("unknown resetScope {bad}")}}),
        );
    }
    if let Some(bad) = parts.iter().find(|p| matches!(**p, "None" | "ConnectorDataStore" | "Full")) {
        return err(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "BadRequest", "message": format!("simulator: resetScope {bad} is documented as DO NOT USE (or includes it)")}}),
        );
    }
    if parts.is_empty() || parts.contains(&"QuarantineState") {
        lock(&s).entra_jobs.insert((sp, job), "Active".into());
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn sim_entra_job(
    State(s): State<Shared>,
    Path((sp, job)): Path<(String, String)>,
    Json(b): Json<Value>,
) -> Response {
    let status = b["status"].as_str().unwrap_or("Active").to_owned();
    lock(&s).entra_jobs.insert((sp, job), status);
    StatusCode::NO_CONTENT.into_response()
}

async fn sim_entra(State(s): State<Shared>, Path(sp): Path<String>) -> Response {
    let sim = lock(&s);
    match sim.entra_saved.get(&sp) {
        Some((base, token)) => Json(json!({"base_address": base, "fingerprint": fingerprint(token)})).into_response(),
        None => err(StatusCode::NOT_FOUND, json!({"error": "nothing saved"})),
    }
}

// ---- Okta -------------------------------------------------------------------------

/// The refusal, when the Okta API token is missing.
fn okta_refused(headers: &HeaderMap) -> Option<Response> {
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some(v) if v.starts_with("SSWS ") && v.len() > 5 => None,
        _ => Some(err(
            StatusCode::UNAUTHORIZED,
            json!({"errorCode": "E0000011", "errorSummary": "Invalid token provided"}),
        )),
    }
}

/// Okta Application Connections, "Update the default provisioning
/// connection": `POST …/connections/default?activate=` with `{profile:
/// {authScheme: "TOKEN", token}}` (`baseUrl` for Zscaler only), documented for
/// Okta Org2Org and Zscaler 2.0 only. Any other app, and any other body shape
/// (a top-level `authScheme` among them), is refused.
async fn okta_set(
    State(s): State<Shared>,
    Path(app): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    Json(b): Json<Value>,
) -> Response {
    if let Some(r) = okta_refused(&headers) {
        return r;
    }
    let mut sim = lock(&s);
    let shape_ok = documented_query(&uri, &["activate"]).is_some()
        && b.as_object().is_some_and(|o| o.keys().all(|k| k == "profile" || k == "baseUrl"))
        && b["profile"]["authScheme"] == "TOKEN";
    let Some(token) = b["profile"]["token"].as_str().filter(|_| shape_ok) else {
        return err(
            StatusCode::BAD_REQUEST,
            json!({"errorCode": "E0000001", "errorSummary": "Api validation failed: profile"}),
        );
    };
    if !sim.okta_api_apps.contains(&app) {
        return err(
            StatusCode::BAD_REQUEST,
            json!({"errorCode": "E0000001", "errorSummary": "simulator: this app's provisioning connection is set in the Admin Console"}),
        );
    }
    sim.okta_tokens.insert(app, token.to_owned());
    Json(json!({"authScheme": "TOKEN", "status": "ENABLED", "profile": {"authScheme": "TOKEN"}, "_links": {}}))
        .into_response()
}

/// Like an owner in Okta's Admin Console (Provisioning > Integration > API token).
async fn sim_okta_token(State(s): State<Shared>, Path(app): Path<String>, Json(b): Json<Value>) -> Response {
    let Some(token) = b["token"].as_str() else {
        return err(StatusCode::BAD_REQUEST, json!({"error": "token required"}));
    };
    lock(&s).okta_tokens.insert(app, token.to_owned());
    StatusCode::NO_CONTENT.into_response()
}

/// Okta Application Connections, "Retrieve the default provisioning connection":
/// `{authScheme, profile: {authScheme}, status}` (`profile` and `status` are
/// required), status `ENABLED`, `DISABLED` or `UNKNOWN`.
async fn okta_get(State(s): State<Shared>, Path(app): Path<String>, headers: HeaderMap) -> Response {
    if let Some(r) = okta_refused(&headers) {
        return r;
    }
    let sim = lock(&s);
    let status = sim.okta_status.get(&app).cloned().unwrap_or_else(|| {
        if sim.okta_tokens.contains_key(&app) {
            "ENABLED".into()
        } else {
            "DISABLED".into()
        }
    });
    Json(json!({"authScheme": "TOKEN", "profile": {"authScheme": "TOKEN"}, "status": status})).into_response()
}

async fn sim_okta_app(State(s): State<Shared>, Path(app): Path<String>, Json(b): Json<Value>) -> Response {
    let mut sim = lock(&s);
    if b["org2org"] == true {
        sim.okta_api_apps.insert(app.clone());
    }
    match b["status"].as_str() {
        Some(st) => sim.okta_status.insert(app, st.to_owned()),
        None => sim.okta_status.remove(&app),
    };
    StatusCode::NO_CONTENT.into_response()
}

async fn sim_okta(State(s): State<Shared>, Path(app): Path<String>) -> Response {
    match lock(&s).okta_tokens.get(&app) {
        Some(t) => Json(json!({"fingerprint": fingerprint(t)})).into_response(),
        None => err(StatusCode::NOT_FOUND, json!({"error": "nothing saved"})),
    }
}

// ---- Slack and Jira ---------------------------------------------------------------------

/// Slack incoming webhooks: `POST` JSON → 200 `ok`, or a 400 with a reason.
/// Block Kit limits are enforced as Slack states them: at most 50 blocks,
/// section text at most 3,000 characters, header text at most 150.
async fn slack_post(State(s): State<Shared>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let Ok(bytes) = axum::body::to_bytes(req.into_body(), 1 << 20).await else {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(body) if !blocks_fit(&body) => (StatusCode::BAD_REQUEST, "invalid_blocks").into_response(),
        Ok(body) => {
            lock(&s).slack.push(json!({"path": path, "body": body}));
            (StatusCode::OK, "ok").into_response()
        }
        // Slack answers a bad payload with 400 and a one-word reason.
        Err(_) => (StatusCode::BAD_REQUEST, "invalid_payload").into_response(),
    }
}

fn blocks_fit(body: &Value) -> bool {
    let Some(blocks) = body["blocks"].as_array() else { return true };
    let len = |b: &Value| b["text"]["text"].as_str().map_or(0, |t| t.chars().count());
    blocks.len() <= 50
        && blocks.iter().all(|b| match b["type"].as_str() {
            Some("section") => len(b) <= 3000,
            Some("header") => len(b) <= 150,
            _ => true,
        })
}

fn jira_refused(headers: &HeaderMap) -> Option<Response> {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    (!(auth.starts_with("Basic ") || auth.starts_with("Bearer ")))
        .then(|| err(StatusCode::UNAUTHORIZED, json!({"errorMessages": ["authentication required"]})))
}

/// Jira Cloud REST v2 "Create issue": `{fields: {project: {key}, issuetype:
/// {name}, summary, …}}` → 201 `{id, key, self}`; a missing field → 400
/// `{errorMessages, errors: {field: message}}`.
async fn jira_create(State(s): State<Shared>, headers: HeaderMap, Json(b): Json<Value>) -> Response {
    if let Some(r) = jira_refused(&headers) {
        return r;
    }
    let f = &b["fields"];
    let mut errors = serde_json::Map::new();
    for (field, ok) in [
        ("project", f["project"]["key"].is_string()),
        ("issuetype", f["issuetype"]["name"].is_string()),
        ("summary", f["summary"].is_string()),
    ] {
        if !ok {
            errors.insert(field.into(), json!(format!("{field} is required")));
        }
    }
    if !errors.is_empty() {
        return err(StatusCode::BAD_REQUEST, json!({"errorMessages": [], "errors": errors}));
    }
    let mut sim = lock(&s);
    let key = format!("KT-{}", sim.jira.len() + 1);
    sim.jira.push(json!({"key": key, "fields": b["fields"], "comments": []}));
    (
        StatusCode::CREATED,
        Json(json!({"id": sim.jira.len().to_string(), "key": key, "self": format!("/jira/rest/api/2/issue/{key}")})),
    )
        .into_response()
}

async fn jira_comment(
    State(s): State<Shared>,
    Path(key): Path<String>,
    headers: HeaderMap,
    Json(b): Json<Value>,
) -> Response {
    if let Some(r) = jira_refused(&headers) {
        return r;
    }
    let mut sim = lock(&s);
    let Some(issue) = sim.jira.iter_mut().find(|i| i["key"] == key.as_str()) else {
        return err(StatusCode::NOT_FOUND, json!({"errorMessages": ["Issue does not exist"]}));
    };
    if let Some(comments) = issue["comments"].as_array_mut() {
        comments.push(b["body"].clone());
    }
    (StatusCode::CREATED, Json(json!({"id": "1"}))).into_response()
}

async fn captured_slack(State(s): State<Shared>) -> Response {
    Json(json!(lock(&s).slack)).into_response()
}

async fn captured_jira(State(s): State<Shared>) -> Response {
    Json(json!(lock(&s).jira)).into_response()
}

// ---- control: faults, request log ------------------------------------------------------

async fn add_fault(State(s): State<Shared>, Json(b): Json<Value>) -> Response {
    let Some(prefix) = b["path_prefix"].as_str() else {
        return err(StatusCode::BAD_REQUEST, json!({"error": "path_prefix required"}));
    };
    let fault = Fault {
        method: b["method"].as_str().map(str::to_uppercase),
        path_prefix: prefix.to_owned(),
        skip: b["skip"].as_u64().and_then(|t| u32::try_from(t).ok()).unwrap_or(0),
        times: b["times"].as_u64().and_then(|t| u32::try_from(t).ok()).unwrap_or(1),
        kind: b["kind"].as_str().unwrap_or("status").to_owned(),
        status: b["status"].as_u64().and_then(|t| u16::try_from(t).ok()).unwrap_or(500),
        retry_after: b["retry_after"].as_u64(),
    };
    lock(&s).faults.push(fault);
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_faults(State(s): State<Shared>) -> Response {
    lock(&s).faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn requests(State(s): State<Shared>) -> Response {
    Json(json!(lock(&s).requests)).into_response()
}

async fn reset(State(s): State<Shared>) -> Response {
    let mut sim = lock(&s);
    let upstream = sim.scim_upstream.take();
    *sim = Sim { scim_upstream: upstream, ..Sim::default() };
    drop(sim);
    StatusCode::NO_CONTENT.into_response()
}

/// How long a hung request hangs: longer than any client timeout keyturn uses.
const HANG: Duration = Duration::from_secs(120);

/// Applies faults and records every non-control request (method, path, status).
async fn faults_and_log(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if path.starts_with("/_sim/") {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let fault = {
        let mut sim = lock(&s);
        let found = sim.faults.iter_mut().find(|f| {
            f.times > 0 && path.starts_with(&f.path_prefix) && f.method.as_deref().is_none_or(|m| m == method.as_str())
        });
        found.and_then(|f| {
            if f.skip > 0 {
                f.skip -= 1;
                return None;
            }
            f.times -= 1;
            Some(f.clone())
        })
    };
    let response = match fault {
        Some(f) if f.kind == "hang" => {
            tokio::time::sleep(HANG).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Some(f) if f.kind == "garbage" => Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from("{not json"))
            .unwrap_or_default(),
        Some(f) => {
            let mut r = err(
                StatusCode::from_u16(f.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                json!({"error": "injected fault"}),
            );
            if let Some(after) = f.retry_after {
                if let Ok(v) = after.to_string().parse() {
                    r.headers_mut().insert("retry-after", v);
                }
            }
            r
        }
        None => next.run(req).await,
    };
    lock(&s).requests.push(json!({"method": method.as_str(), "path": path, "status": response.status().as_u16()}));
    response
}

/// How the simulator is started.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The independent SCIM server relayed directories are served by.
    pub scim_upstream: Option<String>,
}

/// The whole simulator as a router (tests can serve it in-process).
pub fn app() -> Router {
    app_with(Options::default())
}

pub fn app_with(options: Options) -> Router {
    let state: Shared = Arc::new(Mutex::new(Sim { scim_upstream: options.scim_upstream, ..Sim::default() }));
    Router::new()
        .route("/scim/directory/{dir}/{*rest}", axum::routing::any(scim_directory))
        .route("/scim/orgs/{org}/Users", get(org_scim_users))
        .route("/admin/api-access/v1/orgs/{org}/api-keys", post(org_keys_create).get(org_keys_list))
        .route("/admin/api-access/v1/orgs/{org}/api-keys/revoke/{id}", patch(org_keys_revoke))
        .route("/admin/api-access/v1/orgs/{org}/api-keys/{id}", delete(org_keys_delete))
        .route("/generic/v1/orgs/{org}/keys", post(generic_create))
        .route("/generic/v1/orgs/{org}/keys/{id}", delete(generic_revoke))
        .route("/generic/v1/orgs/{org}/me", get(generic_me))
        .route("/admin/v1/orgs/{org}", get(org_get))
        .route("/admin/v2/orgs/{org}/directories", get(org_directories))
        .route("/login/{tenant}/oauth2/v2.0/token", post(apps::entra_token))
        .route("/graph/v1.0/servicePrincipals/{sp}/synchronization/secrets", put(entra_save))
        .route(
            "/graph/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/validateCredentials",
            post(entra_validate),
        )
        .route("/graph/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}", get(entra_job))
        .route("/graph/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/restart", post(entra_restart))
        .route("/okta/api/v1/apps/{app}/connections/default", post(okta_set).get(okta_get))
        .route("/slack/{*hook}", post(slack_post))
        .route("/jira/rest/api/2/issue", post(jira_create))
        .route("/jira/rest/api/2/issue/{key}/comment", post(jira_comment))
        .route("/_sim/slack", get(captured_slack))
        .route("/_sim/jira", get(captured_jira))
        .route("/_sim/atlassian/directories/{dir}", put(sim_set_directory))
        .route("/_sim/atlassian/directories/{dir}/regenerate", post(sim_regenerate))
        .route("/_sim/atlassian/orgs/{org}/keys/{id}", put(sim_seed_org_key))
        .route("/_sim/atlassian/orgs/{org}/keys", get(sim_org_keys).post(sim_create_org_key))
        .route("/_sim/entra/jobs/{sp}/{job}", put(sim_entra_job))
        .route("/_sim/entra/{sp}", get(sim_entra))
        .route("/_sim/okta/apps/{app}", put(sim_okta_app))
        .route("/_sim/okta/apps/{app}/token", put(sim_okta_token))
        .route("/_sim/okta/{app}", get(sim_okta))
        .route("/_sim/faults", post(add_fault).delete(clear_faults))
        .route("/_sim/requests", get(requests))
        .route("/_sim/reset", post(reset))
        .route("/_sim/health", get(|| async { Json(json!({"ok": true})) }))
        .merge(apps::routes())
        .layer(middleware::from_fn_with_state(state.clone(), faults_and_log))
        .with_state(state)
}

pub async fn serve(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, app()).await
}

pub async fn serve_with(listener: tokio::net::TcpListener, options: Options) -> std::io::Result<()> {
    axum::serve(listener, app_with(options)).await
}

/// A simulator of its own on a free loopback port, for one test: its base URL.
///
/// # Panics
/// When no loopback port can be bound (a test's setup, nowhere else).
pub async fn spawn(options: Options) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
    let url = format!("http://{}", listener.local_addr().expect("a bound address"));
    tokio::spawn(serve_with(listener, options));
    url
}
