//! Microsoft Entra app registrations' client secrets, as Microsoft documents
//! them: Graph v1.0 `application` (get, list, list owners, addPassword,
//! removePassword) under `/graph/v1.0`, and the identity platform's token
//! endpoint (client credentials with a shared secret) under `/login`.
//!
//! Replication is modelled by a count, not a clock: an app seeded with
//! `"propagation_requests": n` (or set later through
//! `PUT /_sim/entra/apps/{objectId}/propagation` `{"requests": n}`) refuses
//! each secret that `addPassword` creates for its first `n` token requests,
//! with the error Entra answers a wrong secret (AADSTS7000215). Microsoft
//! documents that "a successful write to Microsoft Entra does not guarantee
//! that an immediate read will reflect that change"
//! (<https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/>);
//! how long a new secret takes to sign in is not documented (the azuread
//! Terraform provider's maintainers report up to 20 minutes,
//! <https://github.com/hashicorp/terraform-provider-azuread/pull/1389>).

// The helpers below return the answer a handler gives instead (`Err(Response)`),
// once per request in a test simulator: boxing it would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::{basic, form, is_form, is_guid, now, origin, parse_time, query, random_from, rfc3339, uuid};
use crate::{err, fingerprint, graph_refused, lock, Shared, GRAPH_TOKEN};

#[derive(Debug, Clone)]
pub struct Password {
    key_id: String,
    display_name: Option<String>,
    secret: String,
    start: OffsetDateTime,
    end: OffsetDateTime,
    /// Token requests with this secret still refused (replication).
    pending: u32,
}

#[derive(Debug)]
pub struct App {
    object_id: String,
    app_id: String,
    tenant: String,
    display_name: String,
    passwords: Vec<Password>,
    owners: Vec<Value>,
    /// `pending` of each password `addPassword` creates.
    propagation: u32,
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/graph/v1.0/applications", get(list))
        .route("/graph/v1.0/applications/{id}", get(get_app))
        .route("/graph/v1.0/applications/{id}/owners", get(owners))
        .route("/graph/v1.0/applications/{id}/addPassword", post(add_password))
        .route("/graph/v1.0/applications/{id}/removePassword", post(remove_password))
        // The `applications(appId='{appId}')` forms: the segment is parsed by `reference`.
        .route("/graph/v1.0/{app_ref}", get(get_app))
        .route("/graph/v1.0/{app_ref}/owners", get(owners))
        .route("/graph/v1.0/{app_ref}/addPassword", post(add_password))
        .route("/graph/v1.0/{app_ref}/removePassword", post(remove_password))
        .route("/_sim/entra/apps/{id}", put(seed).get(seen))
        .route("/_sim/entra/apps/{id}/propagation", put(set_propagation))
}

// ---- shapes -----------------------------------------------------------------------

/// Microsoft Graph error responses: `{error: {code, message, innerError:
/// {date, request-id, client-request-id}}}`
/// (<https://learn.microsoft.com/en-us/graph/errors>).
fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    let date = now().replace_nanosecond(0).map(rfc3339).unwrap_or_default();
    err(
        status,
        json!({"error": {"code": code, "message": message,
            "innerError": {"date": date.trim_end_matches('Z'), "request-id": uuid(), "client-request-id": uuid()}}}),
    )
}

/// The 404 Graph answers an unknown object (`Request_ResourceNotFound`; the
/// code and wording are observed, not listed on the errors page).
fn not_found(id: &str) -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
    )
}

fn bad_request(message: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
}

/// passwordCredential resource: `hint` is "the first three characters of the
/// password"; `secretText` is answered only by `addPassword`
/// (<https://learn.microsoft.com/en-us/graph/api/resources/passwordcredential?view=graph-rest-1.0>).
fn credential(p: &Password, secret: Option<&str>) -> Value {
    json!({"customKeyIdentifier": null, "displayName": p.display_name, "endDateTime": rfc3339(p.end),
        "hint": p.secret.chars().take(3).collect::<String>(), "keyId": p.key_id, "secretText": secret,
        "startDateTime": rfc3339(p.start)})
}

/// The application properties the simulator holds (a subset of the resource's).
const PROPERTIES: [&str; 6] = ["id", "appId", "displayName", "passwordCredentials", "keyCredentials", "signInAudience"];

fn application(a: &App) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(a.object_id));
    m.insert("appId".into(), json!(a.app_id));
    m.insert("displayName".into(), json!(a.display_name));
    m.insert("passwordCredentials".into(), a.passwords.iter().map(|p| credential(p, None)).collect());
    m.insert("keyCredentials".into(), json!([]));
    m.insert("signInAudience".into(), json!("AzureADMyOrg"));
    m
}

/// OData `$select`: only the named properties; an unknown one is a 400.
fn select(m: Map<String, Value>, selected: Option<&String>) -> Result<Value, Response> {
    let Some(list) = selected else { return Ok(Value::Object(m)) };
    let names: Vec<&str> = list.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
    if let Some(bad) = names.iter().find(|n| !PROPERTIES.contains(n)) {
        return Err(bad_request(&format!(
            "Could not find a property named '{bad}' on type 'microsoft.graph.application'."
        )));
    }
    Ok(Value::Object(m.into_iter().filter(|(k, _)| names.contains(&k.as_str())).collect()))
}

/// How a path names the application: `/applications/{id}` (object id) or
/// `/applications(appId='{appId}')` (client id), both documented on each page.
enum Ref {
    Id(String),
    AppId(String),
}

fn reference(segment: &str) -> Option<Ref> {
    match segment.strip_prefix("applications(") {
        Some(rest) => {
            let app_id = rest.strip_prefix("appId='")?.strip_suffix("')")?;
            (!app_id.is_empty() && !app_id.contains('\'')).then(|| Ref::AppId(app_id.to_owned()))
        }
        None => Some(Ref::Id(segment.to_owned())),
    }
}

fn find<'a>(apps: &'a mut HashMap<String, App>, r: &Ref) -> Option<&'a mut App> {
    match r {
        Ref::Id(id) => apps.get_mut(id),
        Ref::AppId(app_id) => apps.values_mut().find(|a| a.app_id == *app_id),
    }
}

fn name(r: &Ref) -> &str {
    match r {
        Ref::Id(s) | Ref::AppId(s) => s,
    }
}

/// The request's application, or the answer Graph gives instead.
fn resolve(segment: &str) -> Result<Ref, Response> {
    reference(segment).ok_or_else(|| not_found(segment))
}

// ---- Graph: application --------------------------------------------------------------

/// Graph v1.0 "Get application": `GET /applications/{id}` or
/// `GET /applications(appId='{appId}')`, `$select` supported; 200 application
/// with `passwordCredentials` (no `secretText`)
/// (<https://learn.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0>).
async fn get_app(State(s): State<Shared>, Path(segment): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(r) = graph_refused(&headers) {
        return r;
    }
    let r = match resolve(&segment) {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let Some(q) = query(&uri, &["$select"]) else {
        return bad_request("simulator: only $select is modelled on Get application");
    };
    let mut sim = lock(&s);
    let Some(app) = find(&mut sim.apps.entra, &r) else { return not_found(name(&r)) };
    match select(application(app), q.get("$select")) {
        Ok(mut v) => {
            v["@odata.context"] = json!("https://graph.microsoft.com/v1.0/$metadata#applications/$entity");
            Json(v).into_response()
        }
        Err(answer) => answer,
    }
}

/// Graph v1.0 "List applications": `GET /applications`, `$select` and `$top`
/// (default page 100, maximum 999), further pages through `@odata.nextLink`
/// (<https://learn.microsoft.com/en-us/graph/api/application-list?view=graph-rest-1.0>;
/// paging: <https://learn.microsoft.com/en-us/graph/paging>). `$filter`,
/// `$search`, `$orderby`, `$count` and `$expand` are documented but not
/// modelled: the simulator refuses them rather than ignore them.
async fn list(State(s): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(r) = graph_refused(&headers) {
        return r;
    }
    let Some(q) = query(&uri, &["$select", "$top", "$skiptoken"]) else {
        return bad_request("simulator: only $select, $top and $skiptoken are modelled on List applications");
    };
    let top = match q.get("$top").map(|t| t.parse::<usize>()) {
        None => 100,
        Some(Ok(t)) if (1..=999).contains(&t) => t,
        Some(_) => return bad_request("Invalid page size specified: the maximum is 999."),
    };
    let start = match q.get("$skiptoken").map(|t| t.strip_prefix("sim-").and_then(|n| n.parse::<usize>().ok())) {
        None => 0,
        Some(Some(n)) => n,
        Some(None) => return bad_request("The $skiptoken is invalid."),
    };
    let sim = lock(&s);
    let mut apps: Vec<&App> = sim.apps.entra.values().collect();
    apps.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    let mut value = Vec::new();
    for app in apps.iter().skip(start).take(top) {
        match select(application(app), q.get("$select")) {
            Ok(v) => value.push(v),
            Err(answer) => return answer,
        }
    }
    let mut out = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications", "value": value});
    if start + top < apps.len() {
        let mut next = url::form_urlencoded::Serializer::new(String::new());
        if let Some(sel) = q.get("$select") {
            next.append_pair("$select", sel);
        }
        next.append_pair("$top", &top.to_string()).append_pair("$skiptoken", &format!("sim-{}", start + top));
        out["@odata.nextLink"] = json!(format!("{}/graph/v1.0/applications?{}", origin(&headers), next.finish()));
    }
    Json(out).into_response()
}

/// Graph v1.0 "List owners": `GET /applications/{id}/owners` (or the appId
/// form); 200 `{value: [directoryObject]}`, each with `@odata.type` (a user or
/// a service principal)
/// (<https://learn.microsoft.com/en-us/graph/api/application-list-owners?view=graph-rest-1.0>).
async fn owners(State(s): State<Shared>, Path(segment): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(r) = graph_refused(&headers) {
        return r;
    }
    let r = match resolve(&segment) {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    if query(&uri, &["$select", "$top"]).is_none() {
        return bad_request("simulator: only $select and $top are modelled on List owners");
    }
    let mut sim = lock(&s);
    let Some(app) = find(&mut sim.apps.entra, &r) else { return not_found(name(&r)) };
    Json(json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", "value": app.owners}))
        .into_response()
}

/// The JSON object body, or the 400 Graph answers anything else.
fn object_body(body: &str) -> Result<Map<String, Value>, Response> {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(bad_request("Invalid JSON: the request body must be a JSON object.")),
    }
}

fn undeclared<'a>(m: &'a Map<String, Value>, declared: &[&str]) -> Option<&'a String> {
    m.keys().find(|k| !declared.contains(&k.as_str()))
}

/// A documented DateTimeOffset property, if present.
fn time_field(m: &Map<String, Value>, field: &str) -> Result<Option<OffsetDateTime>, Response> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_time(s).map(Some).ok_or_else(|| {
            bad_request(&format!("Invalid value specified for property '{field}' of resource 'PasswordCredential'."))
        }),
        Some(_) => Err(bad_request(&format!(
            "Invalid value specified for property '{field}' of resource 'PasswordCredential'."
        ))),
    }
}

/// Two years after `t`, the documented default lifetime ("startDateTime + 2 years").
fn two_years_after(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_year(t.year() + 2).unwrap_or_else(|_| t + time::Duration::days(730))
}

/// Entra's generated secrets are 16–64 characters; this one is 40, from the
/// characters Entra's own secrets use.
fn new_secret() -> String {
    random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~._-", 40)
}

/// Graph v1.0 "application: addPassword": `POST /applications/{id}/addPassword`
/// (or the appId form), body with an optional `passwordCredential` of
/// `displayName`, `endDateTime` (default start + 2 years), `startDateTime`
/// (default now); 200 passwordCredential with `keyId`, `secretText` (16–64
/// characters, "no way to retrieve this password in the future"), `hint`,
/// `startDateTime`, `endDateTime`
/// (<https://learn.microsoft.com/en-us/graph/api/application-addpassword?view=graph-rest-1.0>).
/// Other properties are refused (400), as is an end not after the start
/// (the wording of both errors is the simulator's).
async fn add_password(
    State(s): State<Shared>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = graph_refused(&headers) {
        return r;
    }
    let r = match resolve(&segment) {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let b = match object_body(&body) {
        Ok(b) => b,
        Err(answer) => return answer,
    };
    if let Some(bad) = undeclared(&b, &["passwordCredential"]) {
        return bad_request(&format!("Property '{bad}' does not exist as a declared property or extension property."));
    }
    let pc = match b.get("passwordCredential") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(pc)) => pc.clone(),
        Some(_) => return bad_request("Invalid value specified for 'passwordCredential'."),
    };
    if let Some(bad) = undeclared(&pc, &["displayName", "endDateTime", "startDateTime"]) {
        return bad_request(&format!("Property '{bad}' of passwordCredential is not accepted by addPassword."));
    }
    let display_name = match pc.get("displayName") {
        None | Some(Value::Null) => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => {
            return bad_request("Invalid value specified for property 'displayName' of resource 'PasswordCredential'.")
        }
    };
    let (start, end) = match (time_field(&pc, "startDateTime"), time_field(&pc, "endDateTime")) {
        (Ok(start), Ok(end)) => {
            let start = start.unwrap_or_else(now);
            (start, end.unwrap_or_else(|| two_years_after(start)))
        }
        (Err(answer), _) | (_, Err(answer)) => return answer,
    };
    if end <= start {
        return bad_request("Invalid value specified for property 'endDateTime' of resource 'PasswordCredential': it must be after startDateTime.");
    }
    let mut sim = lock(&s);
    let Some(app) = find(&mut sim.apps.entra, &r) else { return not_found(name(&r)) };
    let secret = new_secret();
    let p = Password { key_id: uuid(), display_name, secret: secret.clone(), start, end, pending: app.propagation };
    let mut answer = credential(&p, Some(&secret));
    answer["@odata.context"] = json!("https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.passwordCredential");
    app.passwords.push(p);
    Json(answer).into_response()
}

/// Graph v1.0 "application: removePassword": `POST
/// /applications/{id}/removePassword` (or the appId form), body `{keyId}`
/// (Guid, required); 204
/// (<https://learn.microsoft.com/en-us/graph/api/application-removepassword?view=graph-rest-1.0>).
/// The answer for a keyId the app does not have is undocumented: the
/// simulator says 400 `Request_BadRequest`.
async fn remove_password(
    State(s): State<Shared>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = graph_refused(&headers) {
        return r;
    }
    let r = match resolve(&segment) {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let b = match object_body(&body) {
        Ok(b) => b,
        Err(answer) => return answer,
    };
    if let Some(bad) = undeclared(&b, &["keyId"]) {
        return bad_request(&format!("Property '{bad}' does not exist as a declared property or extension property."));
    }
    let Some(key_id) = b.get("keyId").and_then(Value::as_str).filter(|k| is_guid(k)) else {
        return bad_request("The request body must contain 'keyId', a Guid.");
    };
    let mut sim = lock(&s);
    let Some(app) = find(&mut sim.apps.entra, &r) else { return not_found(name(&r)) };
    let before = app.passwords.len();
    app.passwords.retain(|p| !p.key_id.eq_ignore_ascii_case(key_id));
    if app.passwords.len() == before {
        return bad_request(&format!("No password credential found with keyId '{key_id}'."));
    }
    StatusCode::NO_CONTENT.into_response()
}

// ---- identity platform: token endpoint --------------------------------------------

/// An error of the token endpoint: `{error, error_description, error_codes,
/// timestamp, trace_id, correlation_id, error_uri}`
/// (<https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes>).
fn sts_error(status: StatusCode, error: &str, code: u32, message: &str) -> Response {
    let (trace, correlation) = (uuid(), uuid());
    let t = now();
    let ts = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    err(
        status,
        json!({"error": error,
            "error_description": format!("AADSTS{code}: {message}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {ts}"),
            "error_codes": [code], "timestamp": ts, "trace_id": trace, "correlation_id": correlation,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}")}),
    )
}

/// Microsoft identity platform, client credentials flow, "First case: Access
/// token request with a shared secret": `POST /{tenant}/oauth2/v2.0/token`,
/// form `client_id`, `scope` (`{resource}/.default`), `client_secret` (or
/// HTTP Basic, RFC 6749 §2.3.1), `grant_type=client_credentials`; 200
/// `{token_type: "Bearer", expires_in, access_token}`; errors as
/// `{error, error_description, error_codes, …}`
/// (<https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow>).
/// Codes from the error-code reference: AADSTS7000215 invalid secret,
/// AADSTS7000222 expired secret, AADSTS7000218 no secret, AADSTS700016 app not
/// in the tenant, AADSTS900144 missing parameter, AADSTS70011 invalid scope,
/// AADSTS70003 unsupported grant. The page shows errors as 400; `invalid_client`
/// is answered 401 here, as Entra is observed to (RFC 6749 §5.2 allows both).
///
/// A client id no app was seeded with is answered as before (any secret), so
/// tests that do not model keyturn's own Graph credential keep working.
pub(crate) async fn token(
    State(s): State<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let params = form(&body);
    let header = basic(&headers);
    let client_id =
        params.as_ref().and_then(|p| p.get("client_id").cloned()).or_else(|| header.as_ref().map(|(id, _)| id.clone()));
    let seeded = client_id.as_deref().is_some_and(|id| lock(&s).apps.entra.values().any(|a| a.app_id == id));
    let Some(client_id) = client_id.filter(|_| seeded) else {
        return crate::entra_token(body).await;
    };
    let bad = |error: &str, code: u32, message: &str| sts_error(StatusCode::BAD_REQUEST, error, code, message);
    if !is_form(&headers) {
        return bad("invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.");
    }
    let Some(p) = params else {
        return bad("invalid_request", 9002313, "Request is malformed or invalid.");
    };
    for required in ["grant_type", "scope"] {
        if !p.contains_key(required) {
            return bad(
                "invalid_request",
                900144,
                &format!("The request body must contain the following parameter: '{required}'."),
            );
        }
    }
    let grant = p.get("grant_type").map(String::as_str).unwrap_or_default();
    if grant != "client_credentials" {
        return bad(
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{grant}'."),
        );
    }
    let scope = p.get("scope").map(String::as_str).unwrap_or_default();
    if scope.contains(' ') || !scope.ends_with("/.default") {
        return bad(
            "invalid_scope",
            70011,
            &format!(
                "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
            ),
        );
    }
    let in_body = p.get("client_secret").cloned();
    let secret = match (in_body, header) {
        (Some(_), Some(_)) => return bad("invalid_request", 9002313, "Request is malformed or invalid."),
        (Some(secret), None) => secret,
        (None, Some((id, _))) if p.get("client_id").is_some_and(|c| *c != id) => {
            return bad("invalid_request", 9002313, "Request is malformed or invalid.");
        }
        (None, Some((_, secret))) => secret,
        (None, None) => {
            return sts_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            );
        }
    };
    let mut sim = lock(&s);
    let Some(app) = sim.apps.entra.values_mut().find(|a| a.app_id == client_id) else {
        return bad("invalid_request", 9002313, "Request is malformed or invalid.");
    };
    if app.tenant != tenant {
        return bad(
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."),
        );
    }
    let invalid = format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'.");
    let refused = |code: u32, message: &str| sts_error(StatusCode::UNAUTHORIZED, "invalid_client", code, message);
    let t = now();
    match app.passwords.iter_mut().find(|pw| pw.secret == secret) {
        None => refused(7000215, &invalid),
        Some(pw) if pw.pending > 0 => {
            pw.pending -= 1;
            refused(7000215, &invalid)
        }
        Some(pw) if t >= pw.end => refused(
            7000222,
            &format!("The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."),
        ),
        // Not yet valid: undocumented; refused as an invalid secret.
        Some(pw) if t < pw.start => refused(7000215, &invalid),
        Some(_) => Json(json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": GRAPH_TOKEN}))
            .into_response(),
    }
}

// ---- control ------------------------------------------------------------------------

fn control_error(field: &str) -> Response {
    err(StatusCode::BAD_REQUEST, json!({"error": format!("{field} is missing or invalid")}))
}

/// `PUT /_sim/entra/apps/{objectId}`: an app registration as an admin made it.
///
/// ```json
/// {"appId": "client id", "tenant": "tenant id", "displayName": "optional",
///  "passwords": [{"secret": "…", "keyId": "optional Guid", "displayName": "optional",
///                 "startDateTime": "optional RFC 3339 (default now)",
///                 "endDateTime": "optional RFC 3339 (default start + 2 years; may be past)"}],
///  "owners": [{"id": "…", "type": "user|servicePrincipal (default user)",
///              "displayName": "optional", "userPrincipalName": "optional", "mail": "optional"}],
///  "propagation_requests": 0}
/// ```
/// → 200 `{"id", "appId", "passwords": [{"keyId", "fingerprint"}]}`; replaces
/// an app seeded under the same object id.
async fn seed(State(s): State<Shared>, Path(object_id): Path<String>, Json(b): Json<Value>) -> Response {
    let (Some(app_id), Some(tenant)) = (b["appId"].as_str(), b["tenant"].as_str()) else {
        return control_error("appId or tenant");
    };
    let mut passwords = Vec::new();
    for (i, pw) in b["passwords"].as_array().into_iter().flatten().enumerate() {
        let Some(secret) = pw["secret"].as_str().filter(|x| !x.is_empty()) else {
            return control_error(&format!("passwords[{i}].secret"));
        };
        let start = match pw["startDateTime"].as_str().map(parse_time) {
            None => now(),
            Some(Some(t)) => t,
            Some(None) => return control_error(&format!("passwords[{i}].startDateTime")),
        };
        let end = match pw["endDateTime"].as_str().map(parse_time) {
            None => two_years_after(start),
            Some(Some(t)) => t,
            Some(None) => return control_error(&format!("passwords[{i}].endDateTime")),
        };
        let key_id = match pw["keyId"].as_str() {
            None => uuid(),
            Some(k) if is_guid(k) => k.to_owned(),
            Some(_) => return control_error(&format!("passwords[{i}].keyId")),
        };
        let display_name = pw["displayName"].as_str().map(str::to_owned);
        passwords.push(Password { key_id, display_name, secret: secret.to_owned(), start, end, pending: 0 });
    }
    let mut owners = Vec::new();
    for (i, o) in b["owners"].as_array().into_iter().flatten().enumerate() {
        let Some(id) = o["id"].as_str() else { return control_error(&format!("owners[{i}].id")) };
        let kind = match o["type"].as_str().unwrap_or("user") {
            "user" => "#microsoft.graph.user",
            "servicePrincipal" => "#microsoft.graph.servicePrincipal",
            _ => return control_error(&format!("owners[{i}].type")),
        };
        let mut owner = json!({"@odata.type": kind, "id": id, "displayName": o["displayName"]});
        if kind == "#microsoft.graph.user" {
            owner["userPrincipalName"] = o["userPrincipalName"].clone();
            owner["mail"] = o["mail"].clone();
        }
        owners.push(owner);
    }
    let propagation = b["propagation_requests"].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    let answer = json!({"id": object_id, "appId": app_id,
        "passwords": passwords.iter().map(|p| json!({"keyId": p.key_id, "fingerprint": fingerprint(&p.secret)})).collect::<Vec<_>>()});
    let app = App {
        object_id: object_id.clone(),
        app_id: app_id.to_owned(),
        tenant: tenant.to_owned(),
        display_name: b["displayName"].as_str().unwrap_or(&object_id).to_owned(),
        passwords,
        owners,
        propagation,
    };
    lock(&s).apps.entra.insert(object_id, app);
    Json(answer).into_response()
}

/// `GET /_sim/entra/apps/{objectId}` → `{"id", "appId", "passwords": [{"keyId",
/// "fingerprint", "endDateTime", "pending"}]}` (never a secret).
async fn seen(State(s): State<Shared>, Path(object_id): Path<String>) -> Response {
    let sim = lock(&s);
    let Some(app) = sim.apps.entra.get(&object_id) else {
        return err(StatusCode::NOT_FOUND, json!({"error": "no such app"}));
    };
    let passwords: Vec<Value> = app
        .passwords
        .iter()
        .map(|p| json!({"keyId": p.key_id, "fingerprint": fingerprint(&p.secret), "endDateTime": rfc3339(p.end), "pending": p.pending}))
        .collect();
    Json(json!({"id": app.object_id, "appId": app.app_id, "passwords": passwords})).into_response()
}

/// `PUT /_sim/entra/apps/{objectId}/propagation` `{"requests": n}`: how many
/// token requests each secret created from now on is refused for.
async fn set_propagation(State(s): State<Shared>, Path(object_id): Path<String>, Json(b): Json<Value>) -> Response {
    let Some(n) = b["requests"].as_u64().and_then(|n| u32::try_from(n).ok()) else {
        return control_error("requests");
    };
    match lock(&s).apps.entra.get_mut(&object_id) {
        Some(app) => {
            app.propagation = n;
            StatusCode::NO_CONTENT.into_response()
        }
        None => err(StatusCode::NOT_FOUND, json!({"error": "no such app"})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_documented_addressings_parse() {
        assert!(matches!(reference("8a7c-obj"), Some(Ref::Id(id)) if id == "8a7c-obj"));
        assert!(matches!(reference("applications(appId='535fb089')"), Some(Ref::AppId(id)) if id == "535fb089"));
        assert!(reference("applications(appId=535fb089)").is_none());
        assert!(reference("applications(appId='')").is_none());
    }

    #[test]
    fn secrets_are_random_and_within_the_documented_length() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!((16..=64).contains(&a.len()));
    }

    #[test]
    fn the_default_lifetime_is_two_years() {
        let start = parse_time("2024-02-29T00:00:00Z").unwrap();
        assert_eq!(rfc3339(two_years_after(start)), "2026-02-28T00:00:00Z");
        let start = parse_time("2026-12-03T10:00:00Z").unwrap();
        assert_eq!(rfc3339(two_years_after(start)), "2028-12-03T10:00:00Z");
    }
}
