//! Declarative HTTP templates: how a `generic-http` connector's vendor
//! creates, revokes and proves a key. A new vendor needs data, not code.
//!
//! ```
//! use keyturn_domain::HttpTemplate;
//! let t = HttpTemplate::parse(r#"{
//!   "base": "https://api.vendor.example",
//!   "create": {"method": "POST", "path": "/v1/keys", "body": {"name": "{label}"},
//!              "key": "/data/secret", "key_id": "/data/id"},
//!   "revoke": {"method": "DELETE", "path": "/v1/keys/{key_id}"},
//!   "probe":  {"method": "GET", "path": "/v1/me"}
//! }"#).unwrap();
//! assert_eq!(t.create.path, "/v1/keys");
//! ```
//!
//! Placeholders in paths, query values and body strings: `{label}`,
//! `{key_id}`, `{org}`, `{app_id}`. In a URL each is percent-encoded into the
//! one path segment or query value it sits in ([`fill_url`]). Every call authenticates with a key: create and revoke with
//! the current one, probe with the one being proven. `key`, `key_id` and
//! `expires_at` are JSON pointers into create's answer.

use serde::{Deserialize, Serialize};

use super::destination::{Outbound, Purpose, Url};

/// One HTTP call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    pub method: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTemplate {
    /// `https://…` (plain `http://` only to this machine), no placeholders.
    pub base: String,
    /// Header that carries the key; `Authorization: Bearer <key>` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_header: Option<String>,
    pub create: Call,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke: Option<Call>,
    pub probe: Call,
    /// The SCIM endpoint an identity provider provisions into with the key
    /// (Entra's tenant URL); `{org}` and `{app_id}` are filled in. Absent:
    /// `base`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_base: Option<String>,
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 4] = ["label", "key_id", "org", "app_id"];

/// Headers the key may not be put in: they frame the message or belong to
/// one connection (hop-by-hop), so a key there would be lost, leak to a proxy
/// or change where and how the request goes.
const RESERVED_HEADERS: [&str; 15] = [
    "host",
    "content-length",
    "content-type",
    "content-encoding",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "cookie",
];

/// An RFC 9110 `token`: what a header name is made of.
fn is_token(h: &str) -> bool {
    !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Characters a path or query may hold outside placeholders: RFC 3986
/// `pchar` without `%` (values are encoded by keyturn, so a literal is never
/// pre-encoded, and one encoding rule holds for the whole URL).
fn literal_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@".contains(c)
}

/// `text` with each `{name}` replaced once, in one pass: a value that holds
/// `{key_id}` stays that text, it is never filled in turn.
fn fill_once(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let known = after.find('}').and_then(|close| {
            let name = &after[1..close];
            values.iter().find(|(k, _)| *k == name).map(|(_, v)| (close, *v))
        });
        match known {
            Some((close, v)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The placeholder names in `text`, or the problem with its braces.
fn placeholders_in(text: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("has a } without {".into());
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("has a { without }")?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!("names {{{name}}}, which is not one of {{{}}}", PLACEHOLDERS.join("}, {")));
        }
        names.push(name);
        rest = &after[close + 1..];
    }
    Ok(names)
}

/// What is wrong with a path template (`/v1/orgs/{org}/keys?x={label}`).
fn path_problems(path: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !path.starts_with('/') {
        problems.push("must start with /".to_owned());
        return problems;
    }
    let (segments, query) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
    let last = segments[1..].split('/').count() - 1;
    for (i, seg) in segments[1..].split('/').enumerate() {
        if let Err(e) = placeholders_in(seg) {
            problems.push(e);
        }
        let literal = fill_once(seg, &PLACEHOLDERS.map(|p| (p, "")));
        if let Some(c) = literal.chars().find(|c| !literal_ok(*c)) {
            problems.push(format!("has {c:?}, which a path may not hold (placeholders are encoded by keyturn)"));
        }
        if seg == "." || seg == ".." {
            problems.push("has a . or .. segment".into());
        } else if seg.is_empty() && i != last {
            problems.push("has an empty segment (//)".into());
        }
    }
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        if let Err(e) = placeholders_in(pair) {
            problems.push(e);
        }
        let literal = fill_once(pair, &PLACEHOLDERS.map(|p| (p, "")));
        if let Some(c) = literal.chars().find(|c| !literal_ok(*c) && *c != '?' && *c != '/') {
            problems.push(format!("has {c:?}, which a query may not hold (placeholders are encoded by keyturn)"));
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

/// `base` with the filled `path` template appended: each value
/// percent-encoded into the one path segment or query value it sits in, so a
/// value can neither add a segment, climb out (`..`), nor start a query or
/// fragment. A value that would make its segment empty, `.` or `..` is
/// refused (a `DELETE /keys/` with an empty `key_id` could mean all keys).
///
/// ```
/// use keyturn_domain::fill_url;
/// let u = fill_url("https://api.vendor.example/api", "/orgs/{org}/keys?name={org}", &[("org", "../../admin/users?x=")]).unwrap();
/// assert_eq!(u.as_str(), "https://api.vendor.example/api/orgs/..%2F..%2Fadmin%2Fusers%3Fx=/keys?name=..%2F..%2Fadmin%2Fusers%3Fx%3D");
/// ```
pub fn fill_url(base: &str, path: &str, values: &[(&str, &str)]) -> Result<Url, String> {
    let mut url = super::destination::parse("base", base).map_err(|e| e.to_string())?;
    if !path.starts_with('/') {
        return Err("path must start with /".into());
    }
    let (segments, query) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
    let host = url.host_str().map(str::to_owned);
    let before = url.path_segments().map_or(0, |s| s.filter(|s| !s.is_empty()).count());
    let template: Vec<&str> = segments[1..].split('/').collect();
    {
        let mut out = url.path_segments_mut().map_err(|()| "base cannot take a path".to_owned())?;
        out.pop_if_empty();
        for seg in &template {
            let filled = fill_once(seg, values);
            // `push` encodes `%`, so only these literal forms could collapse.
            if filled != *seg && matches!(filled.as_str(), "" | "." | "..") {
                let names = placeholders_in(seg).unwrap_or_default().join(", ");
                return Err(format!("{names} would make an empty, . or .. path segment"));
            }
            // The URL parser drops tabs and line breaks from what is pushed,
            // so such a value would silently become another segment.
            if filled.contains(['\t', '\n', '\r']) {
                let names = placeholders_in(seg).unwrap_or_default().join(", ");
                return Err(format!("{names} holds a tab or line break"));
            }
            out.push(&filled);
        }
    }
    if let Some(q) = query {
        let mut pairs = url.query_pairs_mut();
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            pairs.append_pair(&fill_once(k, values), &fill_once(v, values));
        }
    }
    // What the encoding guarantees, checked: a bug here must not send a key elsewhere.
    let after = url.path_segments().map_or(0, Iterator::count);
    if url.host_str().map(str::to_owned) != host || after != before + template.len() || url.fragment().is_some() {
        return Err("the filled URL does not keep the template's shape".into());
    }
    Ok(url)
}

/// `scheme://authority` and the path template of a URL with placeholders in
/// its path (`https://scim.vendor.example/{org}`).
fn split_origin(raw: &str) -> Option<(&str, &str)> {
    let after_scheme = raw.find("://")? + 3;
    match raw[after_scheme..].find(['/', '?']) {
        Some(i) => Some((&raw[..after_scheme + i], &raw[after_scheme + i..])),
        None => Some((raw, "/")),
    }
}

impl HttpTemplate {
    /// Parses and checks a template; the error lists every problem.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let t: Self = serde_json::from_str(raw).map_err(|e| format!("is not a valid template: {e}"))?;
        let mut problems = Vec::new();
        // Where it runs decides loopback, private ranges and the allow-list;
        // what no deployment may reach is refused now (crate::destination).
        let shape = Outbound::shape_only();
        if let Err(e) = shape.check("base", &t.base, Purpose::Request) {
            problems.push(format!("{e} (base must be an https:// URL)"));
        } else if t.base.contains(['{', '}']) {
            problems.push("base: placeholders belong in paths, not in base".to_owned());
        }
        if let Some(scim) = &t.scim_base {
            let origin = split_origin(scim).filter(|(o, _)| !o.contains(['{', '}']));
            match (shape.check("scim_base", scim, Purpose::Request), origin) {
                (Err(e), _) => problems.push(format!("{e} (scim_base must be an https:// URL)")),
                (Ok(_), None) => problems.push("scim_base: write https://host/path, placeholders in the path".into()),
                (Ok(_), Some((_, path))) => {
                    problems.extend(path_problems(path).into_iter().map(|p| format!("scim_base path {p}")));
                }
            }
        }
        let calls = [("create", Some(&t.create)), ("revoke", t.revoke.as_ref()), ("probe", Some(&t.probe))];
        for (name, call) in calls {
            let Some(call) = call else { continue };
            if !METHODS.contains(&call.method.as_str()) {
                problems.push(format!("{name}.method {:?} is not one of {}", call.method, METHODS.join(", ")));
            }
            problems.extend(path_problems(&call.path).into_iter().map(|p| format!("{name}.path {p}")));
        }
        if t.create.key.as_deref().is_none_or(|p| !p.starts_with('/')) {
            problems.push("create.key must be a JSON pointer (/data/secret) to the new key in the answer".to_owned());
        }
        if let Some(h) = &t.auth_header {
            if !is_token(h) {
                problems.push(format!("auth_header {h:?} is not a header name"));
            } else if RESERVED_HEADERS.contains(&h.to_ascii_lowercase().as_str()) {
                problems
                    .push(format!("auth_header {h:?} may not carry the key (it frames the request or is hop-by-hop)"));
            }
        }
        if problems.is_empty() {
            Ok(t)
        } else {
            Err(problems.join("; "))
        }
    }

    /// The URL of one of this template's calls, placeholders filled and encoded.
    pub fn call_url(&self, call: &Call, values: &[(&str, &str)]) -> Result<Url, String> {
        fill_url(&self.base, &call.path, values)
    }

    /// The SCIM endpoint an identity provider is given (`scim_base` filled,
    /// else `base` as written).
    pub fn scim_url(&self, values: &[(&str, &str)]) -> Result<String, String> {
        match self.scim_base.as_deref().and_then(split_origin) {
            Some((origin, path)) => fill_url(origin, path, values).map(String::from),
            None => super::destination::parse("base", &self.base).map(|_| self.base.clone()).map_err(|e| e.to_string()),
        }
    }

    /// The stored form: compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Fills `{name}` placeholders in a string (one pass: a value is never
/// filled in turn).
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    fill_once(text, values)
}

/// Fills placeholders in every string of a JSON value.
pub fn fill_json(value: &serde_json::Value, values: &[(&str, &str)]) -> serde_json::Value {
    match value {
        serde_json::Value::String(s) => serde_json::Value::String(fill(s, values)),
        serde_json::Value::Array(a) => a.iter().map(|v| fill_json(v, values)).collect(),
        serde_json::Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), fill_json(v, values))).collect(),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_named() {
        let err = HttpTemplate::parse(
            r#"{"base": "http://vendor.example", "auth_header": "X Api",
                "create": {"method": "FETCH", "path": "keys"}, "probe": {"method": "GET", "path": "/me"}}"#,
        )
        .unwrap_err();
        let err = format!("{err}; {}", HttpTemplate::parse(r#"{"base": "https://x", "scim_base": "http://x", "create": {"method": "POST", "path": "/k", "key": "/k"}, "probe": {"method": "GET", "path": "/me"}}"#).unwrap_err());
        for part in ["base must be", "create.method", "create.path", "create.key", "auth_header", "scim_base must be"] {
            assert!(err.contains(part), "{part} missing from {err}");
        }
        assert!(HttpTemplate::parse(r#"{"base": "https://x", "create": {}, "probe": {}, "extra": 1}"#).is_err());
    }

    fn with(base: &str, extra: &str) -> Result<HttpTemplate, String> {
        HttpTemplate::parse(&format!(
            r#"{{"base": {base:?}, {extra} "create": {{"method": "POST", "path": "/v1/orgs/{{org}}/keys", "key": "/k"}},
                "revoke": {{"method": "DELETE", "path": "/v1/orgs/{{org}}/keys/{{key_id}}?app={{app_id}}&x=1"}},
                "probe": {{"method": "GET", "path": "/v1/me"}}}}"#
        ))
    }

    #[test]
    fn hostile_bases_are_refused_at_load_naming_the_field() {
        for base in [
            "http://localhost:@evil.example",
            "http://127.0.0.1:80@evil.example",
            "https://user:pass@api.vendor.example",
            "http://api.vendor.example",
            "HTTP://api.vendor.example",
            "https://169.254.169.254/latest",
            "https://169.254.170.2",
            "https://[fd00:ec2::254]",
            "https://[fe80::1]",
            "https://[::ffff:169.254.169.254]",
            "https://0.0.0.0",
            "https://good.example\\@evil.example",
            "https://evil.example#@good.example",
            "https://ev\til.example",
            "https://{org}.vendor.example",
        ] {
            let err = with(base, "").unwrap_err();
            assert!(err.starts_with("base"), "{base}: {err}");
            assert!(!err.contains("pass@"), "{base}: {err}");
        }
        assert!(with("http://127.0.0.1:4568", "").is_ok(), "the local stack's simulator");
        assert!(with("https://10.0.0.5", "").is_ok(), "private: decided where it is sent");
        for scim in ["https://{org}.scim.vendor.example/x", "http://scim.vendor.example/{org}", "https://x/{nope}"] {
            let err = with("https://x", &format!(r#""scim_base": "{scim}","#)).unwrap_err();
            assert!(err.starts_with("scim_base"), "{scim}: {err}");
        }
    }

    #[test]
    fn auth_header_may_not_frame_or_reroute_the_request() {
        for h in ["Host", "content-length", "Transfer-Encoding", "Connection", "Upgrade", "TE", "Proxy-Authorization"] {
            let err = with("https://x", &format!(r#""auth_header": "{h}","#)).unwrap_err();
            assert!(err.contains("auth_header") && err.contains("may not carry the key"), "{h}: {err}");
        }
        for h in [":authority", "X Api", "X-Api\\r\\nHost: evil", "", "Ключ"] {
            let err = with("https://x", &format!(r#""auth_header": "{h}","#)).unwrap_err();
            assert!(err.contains("is not a header name"), "{h}: {err}");
        }
        assert!(with("https://x", r#""auth_header": "X-Api-Key","#).is_ok());
    }

    #[test]
    fn paths_are_checked_at_load() {
        for (path, why) in [
            ("/v1/../admin", ". or .."),
            ("/v1//keys", "empty segment"),
            ("/v1/{nope}", "{nope}"),
            ("/v1/{org", "{ without }"),
            ("/v1/%2e%2e/admin", "'%'"),
            ("/v1/keys#x", "'#'"),
            ("/v1/a b", "' '"),
            ("/v1/a\\\\b", "'\\\\'"),
        ] {
            let raw = format!(
                r#"{{"base": "https://x", "create": {{"method": "POST", "path": "{path}", "key": "/k"}}, "probe": {{"method": "GET", "path": "/me"}}}}"#
            );
            let err = HttpTemplate::parse(&raw).unwrap_err();
            assert!(err.contains("create.path") && err.contains(why), "{path}: {err}");
        }
    }

    #[test]
    fn placeholders_never_leave_their_segment() {
        let t = with("https://api.vendor.example/api", "").unwrap();
        let revoke = t.revoke.clone().unwrap();
        for hostile in ["../../admin/users?x=", "a/b", "x#frag", "%2e%2e", "..%2f", "@evil.example", "k&app=other", "é"]
        {
            let values = [("org", hostile), ("key_id", hostile), ("app_id", hostile), ("label", "")];
            let u = t.call_url(&revoke, &values).unwrap();
            assert_eq!(u.host_str(), Some("api.vendor.example"), "{hostile}: {u}");
            let segs: Vec<String> = u.path_segments().unwrap().map(str::to_owned).collect();
            assert_eq!(segs.len(), 6, "{hostile}: {u}");
            assert_eq!((&*segs[0], &*segs[1], &*segs[2], &*segs[4]), ("api", "v1", "orgs", "keys"), "{hostile}: {u}");
            let query: Vec<(String, String)> = u.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
            assert_eq!(query, [("app".into(), hostile.to_owned()), ("x".into(), "1".into())], "{hostile}: {u}");
            assert_eq!(u.fragment(), None);
        }
        // An answer's key_id that would collapse the revoke path is refused, not sent.
        for collapses in ["", ".", ".."] {
            let err = t.call_url(&revoke, &[("org", "acme"), ("key_id", collapses), ("app_id", "a")]).unwrap_err();
            assert!(err.contains("key_id"), "{collapses:?}: {err}");
        }
        let u = t.call_url(&revoke, &[("org", "acme"), ("key_id", "k 9"), ("app_id", "")]).unwrap();
        assert_eq!(u.as_str(), "https://api.vendor.example/api/v1/orgs/acme/keys/k%209?app=&x=1");
    }

    #[test]
    fn the_scim_base_is_filled_like_a_path() {
        let t = with("https://api.vendor.example", r#""scim_base": "https://scim.vendor.example/scim/orgs/{org}","#)
            .unwrap();
        assert_eq!(t.scim_url(&[("org", "acme")]).unwrap(), "https://scim.vendor.example/scim/orgs/acme");
        assert_eq!(t.scim_url(&[("org", "../x")]).unwrap(), "https://scim.vendor.example/scim/orgs/..%2Fx");
        assert!(t.scim_url(&[("org", "..")]).is_err());
        let plain = with("http://127.0.0.1:4568", "").unwrap();
        assert_eq!(plain.scim_url(&[]).unwrap(), "http://127.0.0.1:4568", "base as written");
    }

    proptest::proptest! {
        /// For any path template and any values: the host is the template's,
        /// the segments are exactly the template's, literal segments are sent
        /// as written, and nothing panics (the fuzz target `url_building`
        /// checks the same over any bytes).
        #[test]
        fn built_urls_keep_the_templates_host_and_segments(
            base in proptest::sample::select(vec![
                "https://api.vendor.example", "https://api.vendor.example/api/", "http://127.0.0.1:4568/x",
                "https://[2606:4700::1]:8443", "https://2130706433", "http://localhost:@evil.example",
            ]),
            path in "(/([a-z._~:@=&-]{0,4}|\\{(org|key_id|app_id|label|x)\\})){1,4}(\\?[a-z]=\\{(org|label)\\})?",
            values in proptest::collection::vec("[a-z./?#%@:{}&= \\\\\t\n\u{e9}-]{0,10}", 4),
            raw in "\\PC{0,40}",
        ) {
            let _ = Outbound::default().check("f", &raw, Purpose::Request);
            let _ = Outbound::shape_only().check("f", &format!("https://{raw}"), Purpose::Link);
            let values: Vec<(&str, &str)> = PLACEHOLDERS.iter().copied().zip(values.iter().map(String::as_str)).collect();
            let t = HttpTemplate::parse(&serde_json::json!({
                "base": base, "create": {"method": "POST", "path": path, "key": "/k"}, "probe": {"method": "GET", "path": "/"},
            }).to_string());
            if let Ok(t) = t {
                let parsed = Url::parse(base).unwrap();
                let before = parsed.path_segments().map_or(0, |s| s.filter(|s| !s.is_empty()).count());
                let template: Vec<&str> = path.split('?').next().unwrap()[1..].split('/').collect();
                let u = match t.call_url(&t.create, &values) {
                    Ok(u) => u,
                    // The refusals a valid template may meet.
                    Err(e) => {
                        proptest::prop_assert!(
                            e.contains("would make an empty, . or .. path segment") || e.contains("holds a tab or line break"),
                            "{}",
                            e
                        );
                        return Ok(());
                    }
                };
                {
                    proptest::prop_assert_eq!(u.host_str(), parsed.host_str());
                    proptest::prop_assert_eq!(u.fragment(), None);
                    let built: Vec<&str> = u.path_segments().unwrap().collect();
                    proptest::prop_assert_eq!(built.len(), before + template.len(), "{}", u);
                    for (seg, b) in template.iter().zip(&built[before..]) {
                        if !seg.contains('{') {
                            proptest::prop_assert_eq!(seg, b);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn placeholders_are_filled_once() {
        let values = [("label", "{key_id}"), ("key_id", "k-9")];
        assert_eq!(fill("/k/{label}/{key_id}/{other}", &values), "/k/{key_id}/k-9/{other}");
    }

    #[test]
    fn placeholders_fill_paths_and_bodies() {
        let values = [("label", "keyturn chg-1"), ("key_id", "k-9")];
        assert_eq!(fill("/keys/{key_id}", &values), "/keys/k-9");
        let body = serde_json::json!({"name": "{label}", "tags": ["{key_id}", 3]});
        assert_eq!(fill_json(&body, &values), serde_json::json!({"name": "keyturn chg-1", "tags": ["k-9", 3]}));
    }
}
