//! keyturn's real adapters (keyturn-vendors) are driven against
//! the in-process simulator, every exchange is captured whole (the
//! simulator's own `/_sim/requests` log keeps no bodies, by design: they hold
//! keys), and each one is checked against the vendor's published OpenAPI
//! description: trimmed excerpts made by `spec/openapi/extract.py` from the
//! files their headers name. They are derived from third-party files, so the
//! repository does not carry them: they live in the steering repository's
//! `shared/openapi/` (beside this checkout) or `KEYTURN_OPENAPI_DIR`. Where
//! neither exists the exchange check says so on stderr and checks nothing
//! (the checker's own self-tests still run).
//!
//! A request must match an operation by method and path template, carry its
//! required path and query parameters (and no undocumented query parameter),
//! and send a body the operation's schema accepts. A response must have a
//! documented status and a body its schema accepts. The checker is a small
//! subset of JSON Schema / OpenAPI 3.0, strict where the vendors are silent:
//! an object schema with no `additionalProperties` is closed, so a property
//! the schema does not name is an error (in requests and answers alike).
//! Requests to calls with no published OpenAPI description must match a row
//! of `spec/operations.json` instead, by method and path.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use keyturn_app::ports::Tickets;
use keyturn_domain::SecretValue;
use keyturn_vendors::{Atlassian, Entra, EntraCredentials, Jira, JiraAuth, Okta};
use serde_json::{json, Map, Value};

// ---- the excerpts ----------------------------------------------------------------

struct Excerpt {
    name: &'static str,
    /// What keyturn's and the simulator's paths carry in front of the vendor's own.
    prefix: &'static str,
    doc: Value,
}

/// Where the excerpts are: `KEYTURN_OPENAPI_DIR`, else `../shared/openapi`
/// beside the repository.
fn excerpt_dir() -> std::path::PathBuf {
    std::env::var_os("KEYTURN_OPENAPI_DIR")
        .map(Into::into)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/openapi"))
}

/// The four excerpts, or `None` (said on stderr) when they are not here.
fn excerpts() -> Option<Vec<Excerpt>> {
    let dir = excerpt_dir();
    if !dir.join("graph.json").exists() {
        eprintln!("OpenAPI excerpts not found in {} (set KEYTURN_OPENAPI_DIR): exchanges not checked", dir.display());
        return None;
    }
    let load = |name: &'static str, prefix| {
        let path = dir.join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Excerpt { name, prefix, doc: serde_json::from_str(&text).unwrap() }
    };
    Some(vec![load("graph", "/graph/v1.0"), load("okta", "/okta"), load("jira", "/jira"), load("atlassian-scim", "")])
}

/// The path as the vendor's description spells it: keyturn calls Jira's v2
/// paths, the excerpt is v3's (the same operations; see jira.json's notes).
fn vendor_path(excerpt: &Excerpt, path: &str) -> Option<String> {
    let rest = path.strip_prefix(excerpt.prefix)?;
    Some(match excerpt.name {
        "jira" => rest.replacen("/rest/api/2/", "/rest/api/3/", 1),
        _ => rest.to_owned(),
    })
}

/// `{name}` segments match one non-empty segment; the rest must be equal.
fn path_params(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    if t.len() != p.len() {
        return None;
    }
    let mut params = Vec::new();
    for (t, p) in t.iter().zip(&p) {
        match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            Some(name) if !p.is_empty() => params.push((name.to_owned(), (*p).to_owned())),
            Some(_) => return None,
            None if t == p => {}
            None => return None,
        }
    }
    Some(params)
}

// ---- the checker (a subset of OpenAPI 3.0 schema objects) ---------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dir {
    Request,
    Response,
}

/// Keywords the checker applies, and those it knowingly does not (`format`,
/// `pattern`: no regex engine in the test build; `default`, `xml`: no
/// constraint). A keyword outside both sets fails the keyword test below, so
/// a regenerated excerpt cannot bring in a constraint that is silently skipped.
const APPLIED: &[&str] = &[
    "$ref",
    "type",
    "nullable",
    "enum",
    "x-ms-enum-flags",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "allOf",
    "oneOf",
    "anyOf",
    "readOnly",
    "writeOnly",
    "uniqueItems",
    "minimum",
    "maximum",
    "maxLength",
];
const NOT_APPLIED: &[&str] = &["format", "pattern", "default", "xml"];

struct Checker<'a> {
    schemas: &'a Map<String, Value>,
    dir: Dir,
}

impl Checker<'_> {
    fn deref<'s>(&'s self, schema: &'s Value) -> &'s Value {
        let mut s = schema;
        for _ in 0..20 {
            match s.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
                    s = self.schemas.get(name).unwrap_or_else(|| panic!("excerpt lacks schema {name}"));
                }
                None => return s,
            }
        }
        panic!("$ref loop at {schema}")
    }

    fn check(&self, schema: &Value, v: &Value, at: &str) -> Vec<String> {
        let mut errs = Vec::new();
        self.check_into(schema, v, at, &mut errs);
        errs
    }

    fn check_into(&self, schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
        let s = self.deref(schema);
        if v.is_null() {
            if s["nullable"] != true && (s.get("type").is_some() || s.get("enum").is_some()) {
                errs.push(format!("{at}: null where the schema does not allow it"));
            }
            return;
        }
        self.check_scalar(s, v, at, errs);
        for member in s["allOf"].as_array().into_iter().flatten() {
            // Properties are checked once, over the union of every member.
            self.check_scalar(self.deref(member), v, at, errs);
        }
        for (keyword, at_least, at_most) in [("oneOf", 1, 1), ("anyOf", 1, usize::MAX)] {
            if let Some(alternatives) = s[keyword].as_array() {
                let results: Vec<Vec<String>> = alternatives.iter().map(|a| self.check(a, v, at)).collect();
                let passing = results.iter().filter(|r| r.is_empty()).count();
                if passing < at_least || passing > at_most {
                    errs.push(format!("{at}: {passing} of the {keyword} alternatives match: {results:?}"));
                }
            }
        }
        if let Some(items) = s.get("items") {
            for (i, item) in v.as_array().into_iter().flatten().enumerate() {
                self.check_into(items, item, &format!("{at}[{i}]"), errs);
            }
        }
        if let Some(obj) = v.as_object() {
            self.check_object(s, obj, at, errs);
        }
    }

    /// Everything but properties and composition: type, enum, bounds.
    fn check_scalar(&self, s: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
        if let Some(t) = s["type"].as_str() {
            let ok = match t {
                "string" => v.is_string(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                "array" => v.is_array(),
                "object" => v.is_object(),
                other => panic!("unknown type {other}"),
            };
            if !ok {
                errs.push(format!("{at}: {v} is not of type {t}"));
            }
        }
        if let Some(allowed) = s["enum"].as_array() {
            let flags = s["x-ms-enum-flags"]["isFlags"] == true;
            let ok = match v.as_str() {
                // A flags enum is a comma-separated set of its members.
                Some(text) if flags => text.split(',').map(str::trim).all(|p| allowed.iter().any(|a| a == p)),
                _ => allowed.contains(v),
            };
            if !ok {
                errs.push(format!("{at}: {v} is not one of {allowed:?}"));
            }
        }
        if s["uniqueItems"] == true {
            if let Some(items) = v.as_array() {
                let distinct: BTreeSet<String> = items.iter().map(Value::to_string).collect();
                if distinct.len() != items.len() {
                    errs.push(format!("{at}: items are not unique"));
                }
            }
        }
        if let (Some(n), Some(min)) = (v.as_f64(), s["minimum"].as_f64()) {
            if n < min {
                errs.push(format!("{at}: {n} is below the minimum {min}"));
            }
        }
        if let (Some(n), Some(max)) = (v.as_f64(), s["maximum"].as_f64()) {
            if n > max {
                errs.push(format!("{at}: {n} is above the maximum {max}"));
            }
        }
        if let (Some(text), Some(max)) = (v.as_str(), s["maxLength"].as_u64()) {
            if text.chars().count() as u64 > max {
                errs.push(format!("{at}: longer than {max} characters"));
            }
        }
    }

    /// Properties, required and additionalProperties over the schema and
    /// its `allOf` members together.
    fn check_object(&self, s: &Value, obj: &Map<String, Value>, at: &str, errs: &mut Vec<String>) {
        let mut parts = vec![s];
        let mut i = 0;
        while i < parts.len() {
            for member in parts[i]["allOf"].as_array().into_iter().flatten() {
                parts.push(self.deref(member));
            }
            i += 1;
        }
        let mut properties: Map<String, Value> = Map::new();
        let mut required: BTreeSet<&str> = BTreeSet::new();
        // Absent everywhere means closed (see the module doc); present, the
        // most permissive statement wins.
        let mut additional: Option<&Value> = None;
        for p in &parts {
            if let Some(props) = p["properties"].as_object() {
                properties.extend(props.clone());
            }
            required.extend(p["required"].as_array().into_iter().flatten().filter_map(Value::as_str));
            match (&additional, p.get("additionalProperties")) {
                (_, Some(Value::Bool(true))) => additional = p.get("additionalProperties"),
                (None, Some(a)) => additional = Some(a),
                _ => {}
            }
        }
        let open_shape = s.get("type").is_none() && properties.is_empty() && parts.len() == 1;
        for name in &required {
            let Some(prop) = properties.get(*name) else { continue };
            // OpenAPI 3.0: a required readOnly property is required in answers only.
            let exempt = self.dir == Dir::Request && self.flag(prop, "readOnly")
                || self.dir == Dir::Response && self.flag(prop, "writeOnly");
            if !obj.contains_key(*name) && !exempt {
                errs.push(format!("{at}: required property {name:?} is missing"));
            }
        }
        for name in required.iter().filter(|n| !properties.contains_key(**n)) {
            if !obj.contains_key(*name) {
                errs.push(format!("{at}: required property {name:?} is missing"));
            }
        }
        for (name, value) in obj {
            let here = format!("{at}.{name}");
            match properties.get(name) {
                Some(prop) => {
                    if self.dir == Dir::Request && self.flag(prop, "readOnly") {
                        errs.push(format!("{here}: read-only, must not be sent"));
                    }
                    if self.dir == Dir::Response && self.flag(prop, "writeOnly") {
                        errs.push(format!("{here}: write-only, must not be answered"));
                    }
                    self.check_into(prop, value, &here, errs);
                }
                None => match additional {
                    Some(Value::Bool(true)) => {}
                    Some(Value::Object(a)) if a.is_empty() => {}
                    Some(a @ Value::Object(_)) => self.check_into(a, value, &here, errs),
                    // A schema that names no properties and no type (`{}`) is any value.
                    None if open_shape => {}
                    _ => errs.push(format!("{here}: not a property the schema defines")),
                },
            }
        }
    }

    /// `readOnly`/`writeOnly` on the property or on the schema it refers to.
    fn flag(&self, prop: &Value, flag: &str) -> bool {
        prop[flag] == true || self.deref(prop)[flag] == true
    }
}

// ---- captured exchanges and their check ------------------------------------------

#[derive(Debug, Clone)]
struct Exchange {
    method: String,
    path: String,
    query: Option<String>,
    req_type: Option<String>,
    req_body: Bytes,
    status: u16,
    resp_type: Option<String>,
    resp_body: Bytes,
}

type Log = Arc<Mutex<Vec<Exchange>>>;

fn media_type(v: Option<&axum::http::HeaderValue>) -> Option<String> {
    v.and_then(|v| v.to_str().ok()).map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

async fn capture(State(log): State<Log>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let req_body = to_bytes(body, 1 << 20).await.unwrap();
    let mut ex = Exchange {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        req_type: media_type(parts.headers.get("content-type")),
        req_body: req_body.clone(),
        status: 0,
        resp_type: None,
        resp_body: Bytes::new(),
    };
    let resp = next.run(Request::from_parts(parts, Body::from(req_body))).await;
    let (parts, body) = resp.into_parts();
    let resp_body = to_bytes(body, 1 << 20).await.unwrap();
    ex.status = parts.status.as_u16();
    ex.resp_type = media_type(parts.headers.get("content-type"));
    ex.resp_body = resp_body.clone();
    if !ex.path.starts_with("/_sim/") {
        log.lock().unwrap().push(ex);
    }
    Response::from_parts(parts, Body::from(resp_body))
}

/// The simulator on 127.0.0.1, every exchange recorded whole.
async fn start() -> (String, Log) {
    let log: Log = Log::default();
    let app = keyturn_sim::app().layer(axum::middleware::from_fn_with_state(log.clone(), capture));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, log)
}

/// What an exchange was matched with.
enum Matched<'a> {
    OpenApi { excerpt: &'a str, op: &'a Value },
    Transcribed(&'a Value),
}

fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// Problems with a request (if `check_request`) and its answer, or `Err` if
/// it matches no documented operation at all.
fn check_exchange<'a>(
    excerpts: &'a [Excerpt],
    transcribed: &'a [Value],
    ex: &Exchange,
    check_request: bool,
) -> Result<(Matched<'a>, Vec<String>), String> {
    for e in excerpts {
        let Some(path) = vendor_path(e, &ex.path) else { continue };
        for op in e.doc["operations"].as_array().unwrap() {
            if op["method"] != ex.method.as_str() {
                continue;
            }
            let Some(params) = path_params(op["path"].as_str().unwrap(), &path) else { continue };
            let schemas = e.doc["schemas"].as_object().unwrap();
            let mut errs = Vec::new();
            let what = format!("{} {} ({})", ex.method, op["path"].as_str().unwrap(), e.name);
            if check_request {
                errs.extend(
                    check_request_against(op, schemas, &params, ex).into_iter().map(|p| format!("{what} request: {p}")),
                );
            }
            errs.extend(
                check_response_against(op, schemas, ex)
                    .into_iter()
                    .map(|p| format!("{what} answer {}: {p}", ex.status)),
            );
            return Ok((Matched::OpenApi { excerpt: e.name, op }, errs));
        }
    }
    for row in transcribed {
        let prefix = match row["vendor"].as_str().unwrap() {
            "graph" => "/graph/v1.0",
            "okta" => "/okta",
            "jira" => "/jira",
            "entra-login" => "/login",
            _ => "",
        };
        let Some(path) = ex.path.strip_prefix(prefix) else { continue };
        if row["method"] == ex.method.as_str() && path_params(row["path"].as_str().unwrap(), path).is_some() {
            return Ok((Matched::Transcribed(row), Vec::new()));
        }
    }
    Err(format!("{} {}: no documented operation has this method and path", ex.method, ex.path))
}

fn check_request_against(
    op: &Value,
    schemas: &Map<String, Value>,
    path: &[(String, String)],
    ex: &Exchange,
) -> Vec<String> {
    let mut errs = Vec::new();
    let params = op["parameters"].as_array().unwrap();
    let checker = Checker { schemas, dir: Dir::Request };
    let query = query_pairs(ex.query.as_deref());
    for p in params {
        let name = p["name"].as_str().unwrap();
        let sent = match p["in"].as_str().unwrap() {
            "path" => path.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()),
            _ => query.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()),
        };
        match sent {
            None if p["required"] == true => errs.push(format!("required {} parameter {name:?} missing", p["in"])),
            None => {}
            Some(text) => {
                // Query and path values are text; typed ones must parse as their type.
                let value = match checker.deref(&p["schema"])["type"].as_str() {
                    Some("integer") => text.parse::<i64>().map(Value::from).unwrap_or(Value::String(text)),
                    Some("boolean") => text.parse::<bool>().map(Value::from).unwrap_or(Value::String(text)),
                    _ => Value::String(text),
                };
                errs.extend(checker.check(&p["schema"], &value, &format!("parameter {name}")));
            }
        }
    }
    for (name, _) in &query {
        if !params.iter().any(|p| p["in"] == "query" && p["name"] == name.as_str()) {
            errs.push(format!("query parameter {name:?} is not documented"));
        }
    }
    match op.get("requestBody") {
        None if !ex.req_body.is_empty() => errs.push("a body is sent, the operation takes none".into()),
        None => {}
        Some(rb) if ex.req_body.is_empty() && rb["required"] == true => {
            errs.push("the operation requires a body; none was sent".into());
        }
        Some(_) if ex.req_body.is_empty() => {}
        Some(rb) => match ex.req_type.as_deref().and_then(|t| rb["content"].get(t)) {
            None => errs.push(format!(
                "Content-Type {:?} is not one of {:?}",
                ex.req_type,
                rb["content"].as_object().unwrap().keys().collect::<Vec<_>>()
            )),
            Some(schema) => match serde_json::from_slice::<Value>(&ex.req_body) {
                Ok(body) => errs.extend(checker.check(schema, &body, "body")),
                Err(e) => errs.push(format!("body is not JSON: {e}")),
            },
        },
    }
    errs
}

fn check_response_against(op: &Value, schemas: &Map<String, Value>, ex: &Exchange) -> Vec<String> {
    let responses = op["responses"].as_object().unwrap();
    let status = ex.status.to_string();
    let class = format!("{}XX", &status[..1]);
    let Some(content) = responses.get(&status).or_else(|| responses.get(&class)).or_else(|| responses.get("default"))
    else {
        return vec![format!("status not documented (documented: {:?})", responses.keys().collect::<Vec<_>>())];
    };
    let content = content.as_object().unwrap();
    // 204 No Content has no body by definition (RFC 9110 §15.3.5): Graph's
    // generated description gives its 2XX a body where the reference pages
    // say "204 No Content".
    if content.is_empty() || ex.status == 204 && ex.resp_body.is_empty() && !responses.contains_key("204") {
        return if ex.resp_body.is_empty() {
            Vec::new()
        } else {
            vec!["a body where the operation documents none".into()]
        };
    }
    let Some(schema) = ex.resp_type.as_deref().and_then(|t| content.get(t)) else {
        return vec![format!("Content-Type {:?} is not one of {:?}", ex.resp_type, content.keys().collect::<Vec<_>>())];
    };
    match serde_json::from_slice::<Value>(&ex.resp_body) {
        Ok(body) => Checker { schemas, dir: Dir::Response }.check(schema, &body, "body"),
        Err(e) => vec![format!("body is not JSON: {e}")],
    }
}

/// The rows keyturn's adapters call today; rows with a `kind` are the
/// client-secret connectors' calls, served and checked by tests/apps.rs.
fn transcribed() -> Vec<Value> {
    let spec: Value = serde_json::from_str(include_str!("../spec/operations.json")).unwrap();
    spec["operations"].as_array().unwrap().iter().filter(|op| op.get("kind").is_none()).cloned().collect()
}

// ---- tests ---------------------------------------------------------------------------

/// Loopback is allowed to keyturn's outbound guard only when the AWS endpoint
/// is local, as on the local stack; set before the first adapter call.
fn local_stack_policy() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::env::set_var("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"));
}

async fn put(http: &reqwest::Client, url: String, body: Value) {
    let resp = http.put(url).json(&body).send().await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
}

#[tokio::test]
async fn the_adapters_requests_and_the_simulators_answers_follow_the_vendors_openapi() {
    local_stack_policy();
    let (url, log) = start().await;
    let http = reqwest::Client::new();
    let scim_key = SecretValue::new("scim-key-0123456789");
    let org_key = SecretValue::new("org-key-0123456789");
    put(&http, format!("{url}/_sim/atlassian/directories/d1"), json!({"key": scim_key.expose(), "org": "o1"})).await;
    put(&http, format!("{url}/_sim/atlassian/orgs/o1/keys/k1"), json!({"key": org_key.expose(), "label": "CI"})).await;
    put(&http, format!("{url}/_sim/atlassian/orgs/o1/keys/k2"), json!({"key": "org-key-second-0123", "label": "old"}))
        .await;
    put(&http, format!("{url}/_sim/entra/jobs/sp-1/job-1"), json!({"status": "Quarantine"})).await;
    put(&http, format!("{url}/_sim/okta/apps/0oa1/token"), json!({"token": scim_key.expose()})).await;

    // Atlassian: the SCIM probe (good key, wrong key, unknown directory) and the org key calls.
    let atlassian = Atlassian::new(reqwest::Client::new(), &url);
    atlassian.scim_probe("d1", &scim_key).await.unwrap();
    assert!(atlassian.scim_probe("d1", &SecretValue::new("wrong-key-0123456789")).await.is_err());
    assert!(atlassian.scim_probe("d-unknown", &scim_key).await.is_err());
    assert_eq!(atlassian.api_keys("o1", &org_key).await.unwrap().len(), 2);
    atlassian.revoke_org_key("o1", &org_key, "k2").await.unwrap();
    atlassian.org_probe("o1", &org_key).await.unwrap();
    assert_eq!(atlassian.directories("o1", &org_key).await.unwrap().len(), 1);

    // Entra: validate a candidate (accepted, refused), save, validate the saved, read, restart.
    let entra = Entra::new(
        reqwest::Client::new(),
        &format!("{url}/login"),
        &format!("{url}/graph/v1.0"),
        EntraCredentials {
            tenant_id: "tenant-1".into(),
            client_id: "client-1".into(),
            client_secret: SecretValue::new("fake-client-secret"),
        },
    );
    let base = format!("{url}/scim/directory/d1");
    entra.validate("sp-1", "job-1", &base, Some(&scim_key)).await.unwrap();
    assert!(entra.validate("sp-1", "job-1", &base, Some(&SecretValue::new("wrong-key-0123456789"))).await.is_err());
    entra.save("sp-1", &base, &scim_key).await.unwrap();
    entra.validate("sp-1", "job-1", &base, None).await.unwrap();
    assert!(entra.unquarantine("sp-1", "job-1").await.unwrap(), "the quarantined job is restarted");
    assert_eq!(entra.job_status("sp-1", "job-1").await.unwrap(), "Active");

    // Okta: read only.
    let okta = Okta::new(reqwest::Client::new(), &format!("{url}/okta"), SecretValue::new("fake-okta-token"));
    assert_eq!(okta.status("0oa1").await.unwrap(), "ENABLED");
    okta.check("0oa1").await.unwrap();
    // Okta: keyturn's own API token's metadata, by its id (known, unknown).
    put(&http, format!("{url}/_sim/okta/api-tokens/00Tkeyturn1"), json!({"token": "fake-okta-token"})).await;
    let own = okta.clone().with_api_token_id("00Tkeyturn1");
    assert!(keyturn_vendors::own::okta_token(&own).await.unwrap().expires_at.is_some());
    assert!(keyturn_vendors::own::okta_token(&own.with_api_token_id("00Tnope")).await.is_err());

    // Jira: a ticket with the default shape, one configured without labels, a comment.
    let jira =
        Jira::new(reqwest::Client::new(), &format!("{url}/jira"), "OPS", JiraAuth::Bearer("fake-jira-pat".into()));
    let key = jira.open("urgent rotation", "why").await.unwrap();
    jira.comment(&key, "rotated").await.unwrap();
    let plain = jira.clone().with_issue_shape("Incident", &[]);
    plain.open("urgent rotation", "why").await.unwrap();

    // The simulator's side alone (keyturn sends none of these): Okta's token
    // push for an Org2Org app, and error answers the adapters never provoke.
    put(&http, format!("{url}/_sim/okta/apps/o2o"), json!({"org2org": true})).await;
    let o2o = http
        .post(format!("{url}/okta/api/v1/apps/o2o/connections/default?activate=true"))
        .header("authorization", "SSWS fake-okta-token")
        .json(&json!({"profile": {"authScheme": "TOKEN", "token": "t-0123456789"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(o2o.status(), 200);
    let adapters_sent = log.lock().unwrap().len();
    let no_token = http.get(format!("{url}/graph/v1.0/servicePrincipals/sp-1/synchronization/jobs/job-1")).send();
    assert_eq!(no_token.await.unwrap().status(), 401);
    let no_auth = http.post(format!("{url}/jira/rest/api/2/issue")).json(&json!({"fields": {}})).send();
    assert_eq!(no_auth.await.unwrap().status(), 401);
    let no_fields = http.post(format!("{url}/jira/rest/api/2/issue")).bearer_auth("fake").json(&json!({"fields": {}}));
    assert_eq!(no_fields.send().await.unwrap().status(), 400);
    let not_org2org = http
        .post(format!("{url}/okta/api/v1/apps/0oa1/connections/default"))
        .header("authorization", "SSWS fake-okta-token")
        .json(&json!({"profile": {"authScheme": "TOKEN", "token": "t-0123456789"}}));
    assert_eq!(not_org2org.send().await.unwrap().status(), 400);

    let Some(excerpts) = excerpts() else { return };
    let transcribed = transcribed();
    let exchanges = log.lock().unwrap().clone();
    let mut problems = Vec::new();
    let mut covered = BTreeSet::new();
    let mut by_transcription = BTreeSet::new();
    for (i, ex) in exchanges.iter().enumerate() {
        // The Okta POST above is the simulator's check; every other request before it is an adapter's.
        let from_adapter = i < adapters_sent && !ex.path.contains("/apps/o2o/");
        match check_exchange(&excerpts, &transcribed, ex, from_adapter) {
            Ok((Matched::OpenApi { excerpt, op }, errs)) => {
                covered.insert(format!(
                    "{excerpt} {} {}",
                    op["method"].as_str().unwrap(),
                    op["path"].as_str().unwrap()
                ));
                problems.extend(errs);
            }
            Ok((Matched::Transcribed(row), _)) => {
                by_transcription.insert(format!(
                    "{} {} {}",
                    row["vendor"].as_str().unwrap(),
                    row["method"].as_str().unwrap(),
                    row["path"].as_str().unwrap()
                ));
            }
            Err(e) => problems.push(e),
        }
    }
    assert!(problems.is_empty(), "not as the vendors' OpenAPI descriptions say:\n{}", problems.join("\n"));

    // Every operation of every excerpt was exercised, and so was every
    // transcribed row keyturn calls.
    let every: BTreeSet<String> = excerpts
        .iter()
        .flat_map(|e| {
            e.doc["operations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|op| format!("{} {} {}", e.name, op["method"].as_str().unwrap(), op["path"].as_str().unwrap()))
        })
        .collect();
    assert_eq!(covered, every, "operations of the excerpts never exercised");
    let rows: BTreeSet<String> = transcribed
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r["vendor"].as_str().unwrap(),
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(by_transcription, rows, "rows of operations.json never exercised");
}

/// The check can fail: requests in shapes the vendors do not document are
/// each refused, with a reason naming the field.
#[test]
fn the_check_refuses_shapes_the_vendors_do_not_document() {
    let Some(excerpts) = excerpts() else { return };
    let transcribed = transcribed();
    let request = |method: &str, path: &str, query: Option<&str>, body: Value| Exchange {
        method: method.into(),
        path: path.into(),
        query: query.map(str::to_owned),
        req_type: Some("application/json".into()),
        req_body: if body.is_null() { Bytes::new() } else { Bytes::from(body.to_string()) },
        status: 204,
        resp_type: None,
        resp_body: Bytes::new(),
    };
    let secrets = "/graph/v1.0/servicePrincipals/sp/synchronization/secrets";
    let pair = json!([{"key": "BaseAddress", "value": "https://x"}, {"key": "SecretToken", "value": "k"}]);
    let okta = "/okta/api/v1/apps/a1/connections/default";
    let restart = "/graph/v1.0/servicePrincipals/sp/synchronization/jobs/j/restart";
    for (case, ex, expect) in [
        ("documented", request("PUT", secrets, None, json!({"value": pair})), ""),
        (
            "extra top-level field",
            request("PUT", secrets, None, json!({"value": pair, "authScheme": "TOKEN"})),
            "authScheme",
        ),
        (
            "unknown secret key",
            request("PUT", secrets, None, json!({"value": [{"key": "ApiKey", "value": "k"}]})),
            "ApiKey",
        ),
        ("no body", request("PUT", secrets, None, Value::Null), "requires a body"),
        (
            "wrong restart scope",
            request("POST", restart, None, json!({"criteria": {"resetScope": "QuarantineState,Everything"}})),
            "Everything",
        ),
        (
            "flags set",
            request("POST", restart, None, json!({"criteria": {"resetScope": "QuarantineState, Watermark"}})),
            "",
        ),
        (
            "Okta top-level authScheme",
            request(
                "POST",
                okta,
                Some("activate=true"),
                json!({"authScheme": "TOKEN", "profile": {"authScheme": "TOKEN", "token": "t"}}),
            ),
            "authScheme",
        ),
        (
            "Okta undocumented query",
            request("POST", okta, Some("force=true"), json!({"profile": {"authScheme": "TOKEN", "token": "t"}})),
            "force",
        ),
        (
            "Okta activate not a boolean",
            request("POST", okta, Some("activate=yes"), json!({"profile": {"authScheme": "TOKEN", "token": "t"}})),
            "activate",
        ),
        (
            "Jira comment sends a read-only field",
            request("POST", "/jira/rest/api/2/issue/KT-1/comment", None, json!({"body": "x", "id": "1"})),
            "read-only",
        ),
        (
            "SCIM count not an integer",
            request("GET", "/scim/directory/d1/Users", Some("startIndex=1&count=one"), Value::Null),
            "count",
        ),
    ] {
        let (_, errs) = check_exchange(&excerpts, &transcribed, &ex, true).unwrap_or_else(|e| panic!("{case}: {e}"));
        let request_errs: Vec<&String> = errs.iter().filter(|e| e.contains(" request: ")).collect();
        if expect.is_empty() {
            assert!(request_errs.is_empty(), "{case}: {request_errs:?}");
        } else {
            assert!(
                request_errs.iter().any(|e| e.contains(expect)),
                "{case}: expected a problem naming {expect:?}, got {errs:?}"
            );
        }
    }
    // A method or path no vendor documents matches nothing.
    for (method, path) in [
        ("DELETE", "/admin/api-access/v1/orgs/o1/api-keys/k1"),
        ("POST", "/admin/api-access/v1/orgs/o1/api-keys"),
        ("PATCH", "/graph/v1.0/servicePrincipals/sp/synchronization/jobs/j/restart"),
        ("POST", "/okta/api/v1/apps/a1/connections/default/lifecycle/activate"),
    ] {
        let ex = request(method, path, None, Value::Null);
        assert!(check_exchange(&excerpts, &transcribed, &ex, true).is_err(), "{method} {path}");
    }
    // Answers too: a Graph error without its required message, an Okta connection without its profile.
    let mut answer = request("GET", "/graph/v1.0/servicePrincipals/sp/synchronization/jobs/j", None, Value::Null);
    answer.status = 401;
    answer.resp_type = Some("application/json".into());
    answer.resp_body = Bytes::from(json!({"error": {"code": "InvalidAuthenticationToken"}}).to_string());
    let (_, errs) = check_exchange(&excerpts, &transcribed, &answer, false).unwrap();
    assert!(errs.iter().any(|e| e.contains("\"message\" is missing")), "{errs:?}");
    let mut answer = request("GET", okta, None, Value::Null);
    answer.status = 200;
    answer.resp_type = Some("application/json".into());
    answer.resp_body = Bytes::from(json!({"authScheme": "TOKEN", "status": "ENABLED"}).to_string());
    let (_, errs) = check_exchange(&excerpts, &transcribed, &answer, false).unwrap();
    assert!(errs.iter().any(|e| e.contains("\"profile\" is missing")), "{errs:?}");
}

/// A regenerated excerpt cannot bring in a constraint the checker skips unnoticed.
#[test]
fn the_excerpts_use_only_keywords_the_checker_knows() {
    fn walk(v: &Value, in_properties: bool, seen: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if !in_properties {
                        seen.insert(k.clone());
                    }
                    // These hold values or their own vocabulary, not schemas.
                    if !matches!(k.as_str(), "x-ms-enum-flags" | "xml" | "enum" | "default") {
                        walk(v, k == "properties" && !in_properties, seen);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, false, seen)),
            _ => {}
        }
    }
    for e in excerpts().unwrap_or_default() {
        let mut seen = BTreeSet::new();
        for s in e.doc["schemas"].as_object().unwrap().values() {
            walk(s, false, &mut seen);
        }
        for op in e.doc["operations"].as_array().unwrap() {
            for p in op["parameters"].as_array().unwrap() {
                walk(&p["schema"], false, &mut seen);
            }
            for s in op["requestBody"]["content"].as_object().into_iter().flat_map(|c| c.values()) {
                walk(s, false, &mut seen);
            }
            for s in op["responses"].as_object().unwrap().values().flat_map(|r| r.as_object().unwrap().values()) {
                walk(s, false, &mut seen);
            }
        }
        let unknown: Vec<&String> =
            seen.iter().filter(|k| !APPLIED.contains(&k.as_str()) && !NOT_APPLIED.contains(&k.as_str())).collect();
        assert!(unknown.is_empty(), "{}: keywords the checker does not know: {unknown:?}", e.name);
        assert!(e.doc["source"]["commit"].as_str().is_some_and(|c| c.len() == 40), "{}: source commit", e.name);
    }
}
