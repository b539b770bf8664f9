//! Okta OAuth apps' client secrets, as Okta documents them: the Management
//! API's client-secret operations (`ApplicationSSOPublicKeys` in
//! okta/okta-management-openapi-spec, `management-minimal.yaml`) and the
//! OAuth 2.0 token endpoints of the org and custom authorization servers
//! (`oauth-minimal.yaml`), all under `/okta`.
//!
//! What Okta states and the simulator holds to: at most two secrets per app;
//! a new secret is active at once and "requests that are sent using the
//! previous secret still work until the status of that client secret is set
//! to Inactive"; an inactive secret can be activated again; only an inactive
//! secret can be deleted; the only active secret cannot be deactivated
//! (<https://developer.okta.com/docs/guides/client-secret-rotation-key/main/>).
//! Okta secrets carry no expiry: the schema has `created` and `lastUpdated` only.
//!
//! Replication is modelled as for Entra (`"propagation_requests": n`, or
//! `PUT /_sim/okta/oauth-apps/{appId}/propagation` `{"requests": n}`); Okta
//! documents no delay, so it is off unless a test asks for it.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{basic, form, is_form, now, origin, parse_time, random_from, ALNUM};
use crate::{err, fingerprint, lock, Shared};

#[derive(Debug, Clone)]
pub struct Secret {
    id: String,
    secret: String,
    active: bool,
    created: OffsetDateTime,
    last_updated: OffsetDateTime,
    /// Token requests with this secret still refused (replication).
    pending: u32,
}

#[derive(Debug)]
pub struct App {
    id: String,
    client_id: String,
    label: String,
    /// `token_endpoint_auth_method` of the app's OAuth client.
    method: String,
    secrets: Vec<Secret>,
    propagation: u32,
}

const METHODS: [&str; 4] = ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"];

pub(crate) fn routes() -> Router<Shared> {
    let secrets = "/okta/api/v1/apps/{app}/credentials/secrets";
    Router::new()
        .route("/okta/api/v1/apps", get(list_apps))
        .route("/okta/api/v1/apps/{app}", get(get_app))
        .route(secrets, get(list).post(create))
        .route(&format!("{secrets}/{{secret}}"), get(get_secret).delete(delete_secret))
        .route(&format!("{secrets}/{{secret}}/lifecycle/activate"), post(activate))
        .route(&format!("{secrets}/{{secret}}/lifecycle/deactivate"), post(deactivate))
        .route("/okta/oauth2/v1/token", post(token_org))
        .route("/okta/oauth2/{server}/v1/token", post(token_custom))
        .route("/_sim/okta/oauth-apps/{app}", put(seed).get(seen))
        .route("/_sim/okta/oauth-apps/{app}/propagation", put(set_propagation))
        .route("/_sim/okta/authorization-servers/{server}", put(seed_server))
        .route("/okta/api/v1/api-tokens/{token}", get(get_api_token))
        .route("/_sim/okta/api-tokens/{token}", put(seed_api_token))
}

// ---- shapes -----------------------------------------------------------------------

/// The Management API's `Error`: `{errorCode, errorSummary, errorLink,
/// errorId, errorCauses: [{errorSummary}]}`.
fn okta_error(status: StatusCode, code: &str, summary: &str, causes: &[&str]) -> Response {
    let causes: Vec<Value> = causes.iter().map(|c| json!({"errorSummary": c})).collect();
    err(
        status,
        json!({"errorCode": code, "errorSummary": summary, "errorLink": code,
            "errorId": format!("oae{}", random_from(ALNUM, 22)), "errorCauses": causes}),
    )
}

/// `ErrorResourceNotFound404` (E0000007, "Not found: {0}"; what fills `{0}` is the simulator's).
fn not_found(what: &str) -> Response {
    okta_error(StatusCode::NOT_FOUND, "E0000007", &format!("Not found: Resource not found: {what}"), &[])
}

/// E0000001 "Api validation failed: …", as each documented 400 example.
fn invalid(subject: &str, cause: &str) -> Response {
    okta_error(StatusCode::BAD_REQUEST, "E0000001", &format!("Api validation failed: {subject}"), &[cause])
}

fn timestamp(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// `secret_hash` is "OAuth 2.0 client secret string hash"; Okta does not say
/// which. The simulator uses the left half of SHA-256, base64url (22
/// characters, the length of the documented examples).
fn secret_hash(secret: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&Sha256::digest(secret.as_bytes())[..16])
}

/// Where `client_secret` is not the create answer: the documented examples
/// show an elided value there; the simulator's elision holds no character of
/// the secret, so nothing can be read back from it.
const ELIDED: &str = "******......******";

/// `OAuth2ClientSecret`: `{id, status, client_secret, secret_hash, created,
/// lastUpdated, _links}` with `deactivate` on an active secret, `activate` and
/// `delete` on an inactive one (as the documented examples).
fn secret_json(base: &str, app: &str, s: &Secret, reveal: bool) -> Value {
    let href = format!("{base}/okta/api/v1/apps/{app}/credentials/secrets/{}", s.id);
    let link = |href: String, method: &str| json!({"href": href, "hints": {"allow": [method]}});
    let links = if s.active {
        json!({"deactivate": link(format!("{href}/lifecycle/deactivate"), "POST")})
    } else {
        json!({"activate": link(format!("{href}/lifecycle/activate"), "POST"), "delete": link(href.clone(), "DELETE")})
    };
    json!({"id": s.id, "status": if s.active { "ACTIVE" } else { "INACTIVE" },
        "client_secret": if reveal { s.secret.as_str() } else { ELIDED }, "secret_hash": secret_hash(&s.secret),
        "created": timestamp(s.created), "lastUpdated": timestamp(s.last_updated), "_links": links})
}

/// `ErrorInvalidToken401` when the API token is missing (an `SSWS` token, as
/// keyturn's other Okta calls send; OAuth access tokens are not modelled).
fn okta_refused(headers: &HeaderMap) -> Option<Response> {
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some(v) if v.starts_with("SSWS ") && v.len() > 5 => None,
        _ => Some(okta_error(StatusCode::UNAUTHORIZED, "E0000011", "Invalid token provided", &[])),
    }
}

fn app_missing(app: &str) -> Response {
    not_found(&format!("{app} (AppInstance)"))
}

fn secret_missing(secret: &str) -> Response {
    not_found(&format!("{secret} (OAuth2ClientSecret)"))
}

/// Okta's system-generated secrets are 64 characters of the base64url alphabet.
fn new_secret() -> String {
    random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 64)
}

fn new_id() -> String {
    format!("ocs{}", random_from(ALNUM, 17))
}

// ---- Management API ------------------------------------------------------------------

/// The application object keyturn reads: an OIDC app with its OAuth client.
fn app_json(a: &App) -> Value {
    json!({"id": a.id, "name": "oidc_client", "label": a.label, "status": "ACTIVE", "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"client_id": a.client_id, "autoKeyRotation": true, "token_endpoint_auth_method": a.method}},
        "settings": {"oauthClient": {"application_type": "service", "grant_types": ["client_credentials"]}}})
}

/// Applications, "List all applications" (`listApplications`): `GET
/// /api/v1/apps`, `limit` (the simulator's default 20, at most 200) and the
/// opaque `after` cursor; further pages through the `Link` header
/// (`<…>; rel="self"`, and `<…?after=…&limit=…>; rel="next"` while more
/// remain), as Okta's pagination is documented
/// (<https://developer.okta.com/docs/api/#pagination>). Lists the OAuth apps
/// seeded here (provisioning-only apps of the simulator are not listed);
/// `q`, `filter`, `expand` are documented but not modelled (refused).
async fn list_apps(State(s): State<Shared>, uri: axum::http::Uri, headers: HeaderMap) -> Response {
    if let Some(r) = okta_refused(&headers) {
        return r;
    }
    let Some(q) = super::query(&uri, &["limit", "after"]) else {
        return invalid("query", "simulator: only limit and after are modelled on List all applications");
    };
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 20,
        Some(Ok(l)) if (1..=200).contains(&l) => l,
        Some(_) => return invalid("limit", "limit: must be from 1 to 200"),
    };
    let sim = lock(&s);
    let mut apps: Vec<&App> = sim.apps.okta.values().collect();
    apps.sort_by(|a, b| a.id.cmp(&b.id));
    let start = match q.get("after") {
        None => 0,
        Some(after) => match apps.iter().position(|a| &a.id == after) {
            Some(i) => i + 1,
            None => return invalid("after", "after: not a cursor this listing gave"),
        },
    };
    let page: Vec<&App> = apps.iter().skip(start).take(limit).copied().collect();
    let base = format!("{}/okta/api/v1/apps", origin(&headers));
    let mut link = format!("<{base}?limit={limit}>; rel=\"self\"");
    if start + limit < apps.len() {
        if let Some(last) = page.last() {
            link.push_str(&format!(", <{base}?after={}&limit={limit}>; rel=\"next\"", last.id));
        }
    }
    let body: Vec<Value> = page.into_iter().map(app_json).collect();
    ([("link", link)], Json(body)).into_response()
}

/// Applications, "Retrieve an application": `GET /api/v1/apps/{appId}`, an
/// OIDC app with `credentials.oauthClient.{client_id,
/// token_endpoint_auth_method}` (the fields keyturn reads; the rest of the
/// application object is not modelled).
async fn get_app(State(s): State<Shared>, Path(app): Path<String>, headers: HeaderMap) -> Response {
    if let Some(r) = okta_refused(&headers) {
        return r;
    }
    let sim = lock(&s);
    let Some(a) = sim.apps.okta.get(&app) else { return app_missing(&app) };
    Json(app_json(a)).into_response()
}

/// "List all OAuth 2.0 client secrets" (`listOAuth2ClientSecrets`): `GET
/// /api/v1/apps/{appId}/credentials/secrets` → 200 `[OAuth2ClientSecret]`;
/// 401, 403, 404, 429.
async fn list(State(s): State<Shared>, Path(app): Path<String>, headers: HeaderMap) -> Response {
    if let Some(r) = okta_refused(&headers) {
        return r;
    }
    let sim = lock(&s);
    let Some(a) = sim.apps.okta.get(&app) else { return app_missing(&app) };
    let base = origin(&headers);
    Json(a.secrets.iter().map(|x| secret_json(&base, &app, x, false)).collect::<Vec<_>>()).into_response()
}

/// "Create an OAuth 2.0 client secret" (`createOAuth2ClientSecret`): `POST
/// /api/v1/apps/{appId}/credentials/secrets`, optional body `{client_secret,
/// status}` (no secret: Okta generates one); 201 `OAuth2ClientSecret` with
/// `client_secret`. 400 E0000001 for a secret shorter than 14, longer than 100,
/// not printable ASCII, shorter than 32 under `client_secret_jwt`, any secret
/// under `private_key_jwt`, and a third secret ("You've reached the maximum
/// number of client secrets per client."). Other properties are refused.
async fn create(State(s): State<Shared>, Path(app): Path<String>, headers: HeaderMap, body: String) -> Response {
    if let Some(r) = okta_refused(&headers) {
        return r;
    }
    let b = if body.trim().is_empty() {
        Map::new()
    } else {
        match serde_json::from_str::<Value>(&body) {
            Ok(Value::Object(m)) => m,
            _ => return okta_error(StatusCode::BAD_REQUEST, "E0000003", "The request body was not well-formed.", &[]),
        }
    };
    if let Some(bad) = b.keys().find(|k| !matches!(k.as_str(), "client_secret" | "status")) {
        return invalid(bad, &format!("{bad}: not a property of OAuth2ClientSecretRequestBody"));
    }
    let active = match b.get("status") {
        None => true,
        Some(v) if v == "ACTIVE" => true,
        Some(v) if v == "INACTIVE" => false,
        Some(_) => return invalid("status", "status: must be ACTIVE or INACTIVE"),
    };
    let given = match b.get("client_secret") {
        None => None,
        Some(Value::String(x)) => Some(x.clone()),
        Some(_) => return invalid("client_secret", "client_secret: must be a string"),
    };
    let mut sim = lock(&s);
    let base = origin(&headers);
    let Some(a) = sim.apps.okta.get_mut(&app) else { return app_missing(&app) };
    if a.method == "private_key_jwt" {
        return invalid(
            "client_secret",
            "'client_secret' can't be used when 'token_endpoint_auth_method' is 'private_key_jwt'.",
        );
    }
    if let Some(x) = &given {
        if !x.chars().all(|c| (' '..='~').contains(&c)) {
            return invalid(
                "client_secret",
                "client_secret: ''client_secret'' must only contain printable ASCII: [x20-x7E]+",
            );
        }
        if x.len() < 14 {
            return invalid("client_secret", "client_secret: 'client_secret' must be at least '14' characters long.");
        }
        if x.len() > 100 {
            return invalid(
                "client_secret",
                "client_secret: 'client_secret' can't be more than '100' characters long.",
            );
        }
        if a.method == "client_secret_jwt" && x.len() < 32 {
            return invalid(
                "client_secret",
                "client_secret: 'client_secret' must be at least '32' characters long when 'token_endpoint_auth_method' is 'client_secret_jwt'.",
            );
        }
    }
    if a.secrets.len() >= 2 {
        return invalid(
            "OAuth2ClientSecretMediated",
            "You've reached the maximum number of client secrets per client.",
        );
    }
    let t = now();
    let secret = Secret {
        id: new_id(),
        secret: given.unwrap_or_else(new_secret),
        active,
        created: t,
        last_updated: t,
        pending: a.propagation,
    };
    let answer = secret_json(&base, &app, &secret, true);
    a.secrets.push(secret);
    (StatusCode::CREATED, Json(answer)).into_response()
}

/// "Retrieve an OAuth 2.0 client secret" (`getOAuth2ClientSecret`): 200 `OAuth2ClientSecret`; 404.
async fn get_secret(State(s): State<Shared>, Path((app, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    if let Some(r) = okta_refused(&headers) {
        return r;
    }
    let sim = lock(&s);
    let Some(a) = sim.apps.okta.get(&app) else { return app_missing(&app) };
    match a.secrets.iter().find(|x| x.id == id) {
        Some(x) => Json(secret_json(&origin(&headers), &app, x, false)).into_response(),
        None => secret_missing(&id),
    }
}

/// "Delete an OAuth 2.0 client secret" (`deleteOAuth2ClientSecret`): "You can
/// only delete an inactive secret"; 204; 400 E0000001 "You can't delete an
/// active client secret. Deactivate the secret before deleting it."; 404.
async fn delete_secret(
    State(s): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = okta_refused(&headers) {
        return r;
    }
    let mut sim = lock(&s);
    let Some(a) = sim.apps.okta.get_mut(&app) else { return app_missing(&app) };
    match a.secrets.iter().position(|x| x.id == id) {
        None => secret_missing(&id),
        Some(i) if a.secrets[i].active => invalid(
            "OAuth2ClientSecretMediated",
            "You can't delete an active client secret. Deactivate the secret before deleting it.",
        ),
        Some(i) => {
            a.secrets.remove(i);
            StatusCode::NO_CONTENT.into_response()
        }
    }
}

/// "Activate an OAuth 2.0 client secret" (`activateOAuth2ClientSecret`): 200 `OAuth2ClientSecret`; 404.
async fn activate(State(s): State<Shared>, Path((app, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    lifecycle(s, app, id, headers, true)
}

/// "Deactivate an OAuth 2.0 client secret" (`deactivateOAuth2ClientSecret`):
/// 200 `OAuth2ClientSecret`; 400 E0000001 "You can't deactivate the only
/// active client secret."; 404. Deactivating an inactive secret is
/// undocumented: the simulator answers it unchanged.
async fn deactivate(State(s): State<Shared>, Path((app, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    lifecycle(s, app, id, headers, false)
}

fn lifecycle(s: Shared, app: String, id: String, headers: HeaderMap, activate: bool) -> Response {
    if let Some(r) = okta_refused(&headers) {
        return r;
    }
    let mut sim = lock(&s);
    let Some(a) = sim.apps.okta.get_mut(&app) else { return app_missing(&app) };
    let others_active = a.secrets.iter().filter(|x| x.active && x.id != id).count();
    let Some(x) = a.secrets.iter_mut().find(|x| x.id == id) else { return secret_missing(&id) };
    if !activate && x.active && others_active == 0 {
        return invalid("OAuth2ClientSecretMediated", "You can't deactivate the only active client secret.");
    }
    if x.active != activate {
        x.active = activate;
        x.last_updated = now();
    }
    Json(secret_json(&origin(&headers), &app, x, false)).into_response()
}

// ---- OAuth 2.0 token endpoints --------------------------------------------------------

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    err(status, json!({"error": error, "error_description": description}))
}

/// Org authorization server `/oauth2/v1/token` (`token`, tag OrgAS). Okta:
/// "The `private_key_jwt` client authentication method is the only supported
/// method for OAuth Service apps that want to get access tokens with Okta
/// scopes" (<https://developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/main/>),
/// so a client secret's client-credentials request here is refused
/// (401 `invalid_client`; the wording is the simulator's): verify a secret at
/// a custom authorization server.
async fn token_org(State(s): State<Shared>, headers: HeaderMap, body: String) -> Response {
    token(s, None, headers, body)
}

/// Custom authorization server `/oauth2/{authorizationServerId}/v1/token`
/// (`tokenCustomAS`): client credentials with `client_secret_basic` (HTTP
/// Basic) or `client_secret_post` (`client_id` + `client_secret` in the body);
/// `scope` required (`TokenRequestClientCredentials`) and "must be at least one
/// custom scope that you create"
/// (<https://developer.okta.com/docs/guides/implement-grant-type/clientcreds/main/>);
/// 200 `{token_type, expires_in, access_token, scope}`. Errors `{error,
/// error_description}`: 401 `invalid_client` "No client credentials found",
/// "Invalid value for the `client_id` parameter", "The client secret supplied
/// for a confidential client is invalid."; 400 `invalid_request` for two sets
/// of credentials; 400 `invalid_scope` "No scopes were requested.", 400
/// `unsupported_grant_type`. An unknown server and an unconfigured scope are
/// answered as observed (404 E0000007; 400 `invalid_scope`), not as documented.
async fn token_custom(
    State(s): State<Shared>,
    Path(server): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    token(s, Some(server), headers, body)
}

fn token(s: Shared, server: Option<String>, headers: HeaderMap, body: String) -> Response {
    let mut sim = lock(&s);
    let scopes = match &server {
        None => None,
        Some(id) => match sim.apps.okta_servers.get(id) {
            Some(scopes) => Some(scopes.clone()),
            // Every org has the custom server `default`; its custom scopes are the admin's to add.
            None if id == "default" => Some(Vec::new()),
            None => return not_found(&format!("{id} (AuthorizationServer)")),
        },
    };
    if !is_form(&headers) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "The request must be form-encoded.");
    }
    let Some(p) = form(&body) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "A parameter is included more than once.");
    };
    let (client_id, secret) = match (basic(&headers), p.get("client_secret")) {
        (Some(_), Some(_)) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Can't supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a `client_assertion` in the post body.",
            );
        }
        (Some(pair), None) => pair,
        (None, Some(secret)) => match p.get("client_id") {
            Some(id) => (id.clone(), secret.clone()),
            None => return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "No client credentials found"),
        },
        (None, None) => return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "No client credentials found"),
    };
    let Some(app) = sim.apps.okta.values_mut().find(|a| a.client_id == client_id) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Invalid value for the `client_id` parameter");
    };
    let grant = p.get("grant_type").map(String::as_str).unwrap_or_default();
    if grant != "client_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The grant type in the request isn't supported.",
        );
    }
    let wrong = || {
        oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The client secret supplied for a confidential client is invalid.",
        )
    };
    if !matches!(app.method.as_str(), "client_secret_basic" | "client_secret_post") {
        return wrong();
    }
    match app.secrets.iter_mut().find(|x| x.active && x.secret == secret) {
        None => return wrong(),
        Some(x) if x.pending > 0 => {
            x.pending -= 1;
            return wrong();
        }
        Some(_) => {}
    }
    let Some(configured) = scopes else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client Credentials requests to the Org Authorization Server must use the private_key_jwt token_endpoint_auth_method.",
        );
    };
    let requested: Vec<&str> =
        p.get("scope").map(|x| x.split(' ').filter(|x| !x.is_empty()).collect()).unwrap_or_default();
    if requested.is_empty() {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", "No scopes were requested.");
    }
    if requested.iter().any(|x| !configured.iter().any(|c| c == x)) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "One or more scopes are not configured for the authorization server resource.",
        );
    }
    Json(json!({"token_type": "Bearer", "expires_in": 3600, "access_token": format!("sim-okta-at-{}", random_from(ALNUM, 40)),
        "scope": requested.join(" ")}))
    .into_response()
}

// ---- control ------------------------------------------------------------------------

fn control_error(field: &str) -> Response {
    err(StatusCode::BAD_REQUEST, json!({"error": format!("{field} is missing or invalid")}))
}

/// `PUT /_sim/okta/oauth-apps/{appId}`: an OAuth app as an admin made it.
///
/// ```json
/// {"client_id": "0oa…", "label": "optional",
///  "token_endpoint_auth_method": "client_secret_basic (default) | client_secret_post | client_secret_jwt | private_key_jwt",
///  "secrets": [{"secret": "…", "id": "optional ocs…", "status": "ACTIVE (default) | INACTIVE",
///               "created": "optional RFC 3339"}],
///  "propagation_requests": 0}
/// ```
/// (at most two secrets) → 200 `{"id", "client_id", "secrets": [{"id",
/// "status", "fingerprint"}]}`; replaces an app seeded under the same id.
async fn seed(State(s): State<Shared>, Path(app): Path<String>, Json(b): Json<Value>) -> Response {
    let Some(client_id) = b["client_id"].as_str() else { return control_error("client_id") };
    let method = b["token_endpoint_auth_method"].as_str().unwrap_or("client_secret_basic");
    if !METHODS.contains(&method) {
        return control_error("token_endpoint_auth_method");
    }
    let listed = b["secrets"].as_array().cloned().unwrap_or_default();
    if listed.len() > 2 {
        return control_error("secrets (at most two)");
    }
    let mut secrets = Vec::new();
    for (i, x) in listed.iter().enumerate() {
        let Some(secret) = x["secret"].as_str().filter(|v| !v.is_empty()) else {
            return control_error(&format!("secrets[{i}].secret"));
        };
        let active = match x["status"].as_str().unwrap_or("ACTIVE") {
            "ACTIVE" => true,
            "INACTIVE" => false,
            _ => return control_error(&format!("secrets[{i}].status")),
        };
        let created = match x["created"].as_str().map(parse_time) {
            None => now(),
            Some(Some(t)) => t,
            Some(None) => return control_error(&format!("secrets[{i}].created")),
        };
        let id = x["id"].as_str().map_or_else(new_id, str::to_owned);
        secrets.push(Secret { id, secret: secret.to_owned(), active, created, last_updated: created, pending: 0 });
    }
    let answer = json!({"id": app, "client_id": client_id,
        "secrets": secrets.iter().map(|x| json!({"id": x.id, "status": if x.active { "ACTIVE" } else { "INACTIVE" },
            "fingerprint": fingerprint(&x.secret)})).collect::<Vec<_>>()});
    let a = App {
        id: app.clone(),
        client_id: client_id.to_owned(),
        label: b["label"].as_str().unwrap_or(&app).to_owned(),
        method: method.to_owned(),
        secrets,
        propagation: b["propagation_requests"].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
    };
    lock(&s).apps.okta.insert(app, a);
    Json(answer).into_response()
}

/// `GET /_sim/okta/oauth-apps/{appId}` → `{"id", "client_id", "secrets":
/// [{"id", "status", "fingerprint", "pending"}]}` (never a secret).
async fn seen(State(s): State<Shared>, Path(app): Path<String>) -> Response {
    let sim = lock(&s);
    let Some(a) = sim.apps.okta.get(&app) else {
        return err(StatusCode::NOT_FOUND, json!({"error": "no such app"}));
    };
    let secrets: Vec<Value> = a
        .secrets
        .iter()
        .map(|x| {
            json!({"id": x.id, "status": if x.active { "ACTIVE" } else { "INACTIVE" },
            "fingerprint": fingerprint(&x.secret), "pending": x.pending})
        })
        .collect();
    Json(json!({"id": a.id, "client_id": a.client_id, "secrets": secrets})).into_response()
}

/// `PUT /_sim/okta/oauth-apps/{appId}/propagation` `{"requests": n}`.
async fn set_propagation(State(s): State<Shared>, Path(app): Path<String>, Json(b): Json<Value>) -> Response {
    let Some(n) = b["requests"].as_u64().and_then(|n| u32::try_from(n).ok()) else {
        return control_error("requests");
    };
    match lock(&s).apps.okta.get_mut(&app) {
        Some(a) => {
            a.propagation = n;
            StatusCode::NO_CONTENT.into_response()
        }
        None => err(StatusCode::NOT_FOUND, json!({"error": "no such app"})),
    }
}

/// `PUT /_sim/okta/authorization-servers/{authServerId}` `{"scopes": ["…"]}`
/// → 204: a custom authorization server and its custom scopes (the server
/// `default` exists without one being declared, with no custom scopes).
async fn seed_server(State(s): State<Shared>, Path(server): Path<String>, Json(b): Json<Value>) -> Response {
    let Some(scopes) = b["scopes"].as_array() else { return control_error("scopes") };
    let scopes: Option<Vec<String>> = scopes.iter().map(|x| x.as_str().map(str::to_owned)).collect();
    let Some(scopes) = scopes else { return control_error("scopes") };
    lock(&s).apps.okta_servers.insert(server, scopes);
    StatusCode::NO_CONTENT.into_response()
}

// ---- API tokens (keyturn's own Management API access) -------------------------------

/// An Okta API token: an admin's SSWS token, "valid for 30 days from creation
/// or last use", renewed by each call, revoked once it expires
/// (<https://support.okta.com/help/s/article/How-an-API-Token-is-expired-and-get-deactivated>);
/// the window is the token's `tokenWindow` (ISO 8601, `P30D` by default).
#[derive(Debug, Clone)]
pub struct ApiToken {
    id: String,
    token: String,
    name: String,
    user_id: String,
    window: String,
    created: OffsetDateTime,
    last_updated: OffsetDateTime,
    expires: OffsetDateTime,
}

/// `P{n}D`, `PT{n}H`, `PT{n}M`: the windows the simulator models.
fn window(w: &str) -> Option<time::Duration> {
    let n = |s: &str| s.parse::<i64>().ok().filter(|n| *n > 0);
    if let Some(d) = w.strip_prefix('P').and_then(|r| r.strip_suffix('D')).filter(|r| !r.starts_with('T')) {
        return n(d).map(time::Duration::days);
    }
    let t = w.strip_prefix("PT")?;
    match (t.strip_suffix('H'), t.strip_suffix('M')) {
        (Some(h), _) => n(h).map(time::Duration::hours),
        (_, Some(m)) => n(m).map(time::Duration::minutes),
        _ => None,
    }
}

fn api_token(t: &ApiToken) -> Value {
    // The schema names `_link`, its examples `_links`: both optional, neither answered.
    json!({"id": t.id, "name": t.name, "userId": t.user_id, "clientName": "Okta API", "tokenWindow": t.window,
        "network": {"connection": "ANYWHERE"}, "created": timestamp(t.created),
        "lastUpdated": timestamp(t.last_updated), "expiresAt": timestamp(t.expires)})
}

/// Okta Management API `getApiToken`: `GET /api/v1/api-tokens/{apiTokenId}`
/// → 200 `ApiToken`; an unknown id → 404 E0000007. A call made with a seeded
/// token that has expired is refused (401 E0000011); one made with a live
/// seeded token renews it, as every call does.
async fn get_api_token(State(s): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Some(r) = okta_refused(&headers) {
        return r;
    }
    let used = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("SSWS "));
    let t = now();
    let mut sim = lock(&s);
    let tokens = &mut sim.apps.okta_api_tokens;
    if let Some(caller) = tokens.values_mut().find(|k| Some(k.token.as_str()) == used) {
        if t >= caller.expires {
            return okta_error(StatusCode::UNAUTHORIZED, "E0000011", "Invalid token provided", &[]);
        }
        caller.expires = t + window(&caller.window).unwrap_or(time::Duration::days(30));
    }
    match tokens.get(&id) {
        Some(token) => Json(api_token(token)).into_response(),
        None => not_found(&format!("{id} (ApiToken)")),
    }
}

/// `PUT /_sim/okta/api-tokens/{apiTokenId}`: an API token as an admin made it.
///
/// ```json
/// {"token": "the SSWS value", "name": "optional (default keyturn)", "userId": "optional",
///  "tokenWindow": "optional (P30D)", "expiresAt": "optional RFC 3339 (default now + the window; may be past)"}
/// ```
/// → 200 `{"id", "fingerprint"}`; replaces a token seeded under the same id.
async fn seed_api_token(State(s): State<Shared>, Path(id): Path<String>, Json(b): Json<Value>) -> Response {
    let Some(token) = b["token"].as_str().filter(|t| !t.is_empty()) else { return control_error("token") };
    let w = b["tokenWindow"].as_str().unwrap_or("P30D").to_owned();
    let Some(span) = window(&w) else { return control_error("tokenWindow") };
    let t = now();
    let expires = match b["expiresAt"].as_str().map(parse_time) {
        None => t + span,
        Some(Some(e)) => e,
        Some(None) => return control_error("expiresAt"),
    };
    let seeded = ApiToken {
        id: id.clone(),
        token: token.to_owned(),
        name: b["name"].as_str().unwrap_or("keyturn").to_owned(),
        user_id: b["userId"].as_str().unwrap_or("00ukeyturnadmin000001").to_owned(),
        window: w,
        created: t,
        last_updated: t,
        expires,
    };
    lock(&s).apps.okta_api_tokens.insert(id.clone(), seeded);
    Json(json!({"id": id, "fingerprint": fingerprint(token)})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_hashes_have_the_documented_length_and_hold_no_secret() {
        let secret = new_secret();
        let h = secret_hash(&secret);
        assert_eq!(h.len(), "yk4SVx4sUWVJVbHt6M-UPA".len());
        assert!(!secret.contains(&h) && !ELIDED.chars().any(|c| secret.contains(c)));
    }

    #[test]
    fn ids_and_secrets_are_random() {
        assert_ne!(new_id(), new_id());
        assert_ne!(new_secret(), new_secret());
        assert!(new_id().starts_with("ocs") && new_id().len() == 20);
    }

    #[test]
    fn timestamps_have_milliseconds_as_okta_answers_them() {
        let t = parse_time("2023-02-21T20:08:24Z").unwrap();
        assert_eq!(timestamp(t), "2023-02-21T20:08:24.000Z");
    }

    #[test]
    fn api_token_windows_are_iso_durations() {
        assert_eq!(window("P30D"), Some(time::Duration::days(30)));
        assert_eq!(window("PT5M"), Some(time::Duration::minutes(5)));
        assert_eq!(window("PT2H"), Some(time::Duration::hours(2)));
        assert_eq!(window("P0D"), None);
        assert_eq!(window("30"), None);
    }
}
