//! Validation: a raw record becomes a [`Connector`] or a list of field errors.

use std::fmt;

use time::{Duration, OffsetDateTime};

use super::read::Item;
use super::{usable_id, Checked, InventoryError, Location, Problems, RawRecord, RecordError};
use crate::destination::{Outbound, Purpose};
use crate::procedures::{procedure, KeySource};
use crate::timefmt::parse_instant;
use crate::{
    excerpt, forbidden_char, ChangeWindow, ClientApp, Connector, ConnectorId, ConnectorKind, ConnectorStatus,
    HttpTemplate, IdpBinding, SecretArn,
};

/// Every field an inventory record may have.
pub const FIELDS: [&str; 26] = [
    "id",
    "kind",
    "org",
    "directory_id",
    "app_id",
    "idp",
    "idp_app_id",
    "idp_job_id",
    "owner",
    "approver_group",
    "change_window",
    "secret_arn",
    "expires_at",
    "status",
    "last_rotated_at",
    "http_template",
    "scim_base",
    "vendor",
    "console_url",
    "old_key_survives",
    "tenant_id",
    "application_object_id",
    "client_id",
    "auth_server_id",
    "scope",
    "overlap",
];

/// Fields only the client-secret kinds use, with the kinds that use them.
const CLIENT_APP_FIELDS: [(&str, &[ConnectorKind]); 5] = [
    ("tenant_id", &[ConnectorKind::EntraAppSecret]),
    ("application_object_id", &[ConnectorKind::EntraAppSecret]),
    ("client_id", &[ConnectorKind::EntraAppSecret, ConnectorKind::OktaClientSecret]),
    ("auth_server_id", &[ConnectorKind::OktaClientSecret]),
    ("scope", &[ConnectorKind::OktaClientSecret]),
];

/// The fields only a `scim-token` record has.
const SCIM_TOKEN_FIELDS: [&str; 4] = ["scim_base", "vendor", "console_url", "old_key_survives"];

/// Longest value accepted in any field.
const MAX_FIELD_LEN: usize = 512;
/// A template is a small JSON document.
const MAX_TEMPLATE_LEN: usize = 4096;

/// One thing wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// What validation needs to know about the world.
#[derive(Debug, Clone, Copy)]
pub struct ValidationContext {
    pub now: OffsetDateTime,
    /// An expiry further out than this is almost surely a typo (default 5 years;
    /// vendors issue keys for at most a year or two).
    pub max_expiry_ahead: Duration,
}

impl ValidationContext {
    pub fn at(now: OffsetDateTime) -> Self {
        Self { now, max_expiry_ahead: Duration::days(5 * 365) }
    }
}

/// Collects field errors while reading fields.
struct Checker<'a> {
    rec: &'a RawRecord,
    errors: Vec<FieldError>,
}

impl<'a> Checker<'a> {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// An optional field: present, printable and not too long.
    fn optional(&mut self, field: &str) -> Option<&'a str> {
        let v = self.rec.get(field)?;
        if v.len() > MAX_FIELD_LEN {
            self.fail(field, format!("is longer than {MAX_FIELD_LEN} characters"));
            return None;
        }
        if let Some(why) = forbidden_char(v) {
            self.fail(field, why);
            return None;
        }
        Some(v)
    }

    fn required(&mut self, field: &str) -> Option<&'a str> {
        let v = self.optional(field);
        if v.is_none() && self.rec.get(field).is_none() {
            self.fail(field, "is required");
        }
        v
    }

    fn parsed<T>(&mut self, field: &str, required: bool, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let raw = if required { self.required(field) } else { self.optional(field) }?;
        match parse(raw) {
            Ok(v) => Some(v),
            Err(message) => {
                self.fail(field, message);
                None
            }
        }
    }
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
        && !domain.contains('@')
}

/// A date or time in years 0001 to 9999. Year 0, negative years and years of
/// five digits are refused by name: they sort wrongly in the fixed-width
/// expiry index and no key expires then.
fn instant(raw: &str) -> Result<OffsetDateTime, String> {
    let year_digits = raw.bytes().take_while(u8::is_ascii_digit).count();
    if raw.starts_with(['-', '+']) || year_digits > 4 || (year_digits == 4 && raw.starts_with("0000")) {
        return Err(format!("{} has a year outside 0001 to 9999", excerpt(raw)));
    }
    parse_instant(raw).ok_or_else(|| format!("{} is not a date (use 2026-05-01 or 2026-05-01T00:00:00Z)", excerpt(raw)))
}

/// A `scim_base`: where keyturn sends the token (the probe) and where the
/// identity provider is told to send it. The outbound rules, on the parsed
/// URL: https (http only to loopback, which only the local stack reaches),
/// no `user:password@`, never a link-local, metadata or private address (a
/// private host is reached by name, listed in `KEYTURN_ALLOWED_HOSTS`, and
/// judged again where the request is sent). No query: keyturn adds
/// `/Users?startIndex=1&count=1`, and a token never belongs in a URL. The
/// reasons name the host at most, never the path or query.
fn scim_base(raw: &str) -> Result<String, String> {
    let rules = Outbound { allow_loopback: true, ..Outbound::default() };
    let url = rules.check("scim_base", raw, Purpose::Request).map_err(|e| e.reason)?;
    if url.query().is_some() || raw.contains('?') {
        return Err("has a query (?…): keyturn adds /Users?startIndex=1&count=1 itself".into());
    }
    if url.cannot_be_a_base() {
        return Err("cannot take a path".into());
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// A `console_url`: a page the owner opens, so a link's rules (https, or
/// http to loopback on the local stack; no userinfo).
fn console_url(raw: &str) -> Result<String, String> {
    let rules = Outbound { allow_loopback: true, ..Outbound::default() };
    rules.check("console_url", raw, Purpose::Link).map(|_| raw.to_owned()).map_err(|e| e.reason)
}

/// An `overlap`: `0s` (the old key revoked at once) to `7d`, in `s`, `m`,
/// `h` or `d`. Capped well below the workflow's stuck-run bound (14 days):
/// the rotation's execution waits out the overlap.
fn overlap(raw: &str) -> Result<u64, String> {
    let raw = raw.trim();
    let bad = || format!("{} is not a duration from 0s to 7d (e.g. 30m, 1h, 2d)", excerpt(raw));
    let unit = raw.chars().last().ok_or_else(bad)?;
    let n: u64 = raw[..raw.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).filter(|s| *s <= MAX_OVERLAP_SECONDS).ok_or_else(bad)
}

/// The longest `overlap` accepted.
pub const MAX_OVERLAP_SECONDS: u64 = 7 * 86_400;

fn flag(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" => Ok(true),
        "false" | "no" => Ok(false),
        _ => Err(format!("{} is not true or false", excerpt(raw))),
    }
}

/// `8-4-4-4-12` hexadecimal digits: how Entra spells object, application and
/// tenant ids.
fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn guid(what: &'static str) -> impl FnOnce(&str) -> Result<String, String> {
    move |raw| {
        if is_guid(raw) {
            Ok(raw.to_owned())
        } else {
            Err(format!("{} is not a GUID ({what}, like 00000000-0000-0000-0000-000000000000)", excerpt(raw)))
        }
    }
}

/// A tenant is named by its GUID or one of its domains (`contoso.onmicrosoft.com`).
fn tenant(raw: &str) -> Result<String, String> {
    let domain = raw.contains('.')
        && raw.len() <= 253
        && raw.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if is_guid(raw) || domain {
        Ok(raw.to_owned())
    } else {
        Err(format!(
            "{} is not a tenant id (the directory's GUID or a domain like contoso.onmicrosoft.com)",
            excerpt(raw)
        ))
    }
}

/// Okta ids (`0oa1b2c3…`, `aus…`, `default`): letters and digits, at most 64.
fn okta_id(what: &'static str) -> impl FnOnce(&str) -> Result<String, String> {
    move |raw| {
        if !raw.is_empty()
            && raw.len() <= 64
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            Ok(raw.to_owned())
        } else {
            Err(format!("{} is not an Okta {what} (letters, digits, _ and -, at most 64)", excerpt(raw)))
        }
    }
}

/// RFC 6749 §3.3: scope tokens separated by single spaces, each of printable
/// ASCII without `"` and `\`.
fn scope(raw: &str) -> Result<String, String> {
    let ok = !raw.is_empty()
        && raw
            .split(' ')
            .all(|t| !t.is_empty() && t.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\'));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(format!("{} is not an OAuth scope (custom scopes separated by single spaces)", excerpt(raw)))
    }
}

fn is_group_name(s: &str) -> bool {
    s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// Validates one record; on failure returns every problem, not just the first.
pub fn validate_record(rec: &RawRecord, ctx: &ValidationContext) -> Result<Connector, Vec<FieldError>> {
    let mut c = Checker { rec, errors: Vec::new() };

    let id = c.parsed("id", true, ConnectorId::parse);
    let kind = c.parsed("kind", true, |raw| {
        ConnectorKind::parse(raw).ok_or_else(|| {
            let known: Vec<&str> = ConnectorKind::ALL.iter().map(|k| k.as_str()).collect();
            format!("{} is not a known kind ({})", excerpt(raw), known.join(", "))
        })
    });
    let org = c.required("org").map(str::to_owned);
    let directory_id = c.optional("directory_id").map(str::to_owned);
    let app_id = c.optional("app_id").map(str::to_owned);
    let http_template = c.rec.get("http_template").and_then(|raw| {
        if raw.len() > MAX_TEMPLATE_LEN {
            c.fail("http_template", format!("is longer than {MAX_TEMPLATE_LEN} characters"));
            return None;
        }
        // Line breaks are a template's own whitespace; invisible characters
        // in a URL or a header are never meant.
        if let Some(why) = forbidden_char(&raw.replace(['\n', '\r', '\t'], " ")) {
            c.fail("http_template", why);
            return None;
        }
        HttpTemplate::parse(raw).map_err(|e| c.fail("http_template", e)).ok()
    });
    let owner = c.parsed("owner", true, |raw| {
        if is_email(raw) {
            Ok(raw.to_owned())
        } else {
            Err(format!("{} is not an email address; every key needs a reachable owner", excerpt(raw)))
        }
    });
    let approver_group = c.parsed("approver_group", true, |raw| {
        if is_group_name(raw) {
            Ok(raw.to_owned())
        } else {
            Err(format!("{} is not a group name (letters, digits, . _ -, at most 64)", excerpt(raw)))
        }
    });
    let change_window = c.parsed("change_window", false, |raw| raw.parse::<ChangeWindow>());
    let secret_arn = c.parsed("secret_arn", true, SecretArn::parse);
    let expires_at = c.parsed("expires_at", true, |raw| {
        let t = instant(raw)?;
        if t > ctx.now + ctx.max_expiry_ahead {
            return Err(format!(
                "{} is more than {} days away; check the date",
                excerpt(raw),
                ctx.max_expiry_ahead.whole_days()
            ));
        }
        Ok(t)
    });
    let status = c
        .parsed("status", false, |raw| {
            ConnectorStatus::parse(raw).ok_or_else(|| {
                let known: Vec<&str> = ConnectorStatus::ALL.iter().map(|s| s.as_str()).collect();
                format!("{} is not a status ({})", excerpt(raw), known.join(", "))
            })
        })
        .unwrap_or_default();
    let last_rotated_at = c.parsed("last_rotated_at", false, instant);
    let scim_base = c.parsed("scim_base", false, scim_base);
    let vendor = c.parsed("vendor", false, |raw| {
        if raw.chars().count() <= 64 {
            Ok(raw.trim().to_owned())
        } else {
            Err("is longer than 64 characters (a vendor's name)".into())
        }
    });
    let console_url = c.parsed("console_url", false, console_url);
    let old_key_survives = c.parsed("old_key_survives", false, flag);
    let overlap_seconds = c.parsed("overlap", false, overlap);

    let idp_name = c.required("idp");
    let idp_app_id = c.optional("idp_app_id").map(str::to_owned);
    let idp_job_id = c.optional("idp_job_id").map(str::to_owned);
    let idp = match idp_name {
        Some("entra") => match (idp_app_id, idp_job_id) {
            (Some(service_principal_id), Some(job_id)) => Some(IdpBinding::Entra { service_principal_id, job_id }),
            (sp, job) => {
                if sp.is_none() {
                    c.fail("idp_app_id", "is required for idp entra (the enterprise app's service principal id)");
                }
                if job.is_none() {
                    c.fail("idp_job_id", "is required for idp entra (the provisioning job id)");
                }
                None
            }
        },
        Some("okta") => {
            if idp_job_id.is_some() {
                c.fail("idp_job_id", "is only used with idp entra");
            }
            match idp_app_id {
                Some(app_id) => Some(IdpBinding::Okta { app_id }),
                None => {
                    c.fail("idp_app_id", "is required for idp okta (the Okta app id)");
                    None
                }
            }
        }
        Some("none") => {
            for field in ["idp_app_id", "idp_job_id"] {
                if c.rec.get(field).is_some() {
                    c.fail(field, "is set but idp is none");
                }
            }
            Some(IdpBinding::None)
        }
        Some(other) => {
            c.fail("idp", format!("{} is not a known identity provider (entra, okta, none)", excerpt(other)));
            None
        }
        None => None,
    };

    let client_app = match kind {
        Some(ConnectorKind::EntraAppSecret) => {
            let tenant_id = c.parsed("tenant_id", false, tenant);
            let application_object_id =
                c.parsed("application_object_id", false, guid("the app registration's object id"));
            let client_id = c.parsed("client_id", false, guid("the application (client) id"));
            match (tenant_id, application_object_id, client_id) {
                (Some(tenant_id), Some(application_object_id), Some(client_id)) => {
                    Some(ClientApp::Entra { tenant_id, application_object_id, client_id })
                }
                _ => None,
            }
        }
        Some(ConnectorKind::OktaClientSecret) => {
            let app = app_id.as_deref().map(|raw| okta_id("app id")(raw).map_err(|e| c.fail("app_id", e)).ok());
            let client_id = c.parsed("client_id", false, okta_id("client id"));
            let auth_server_id = c.parsed("auth_server_id", false, okta_id("authorization server id"));
            let scope = c.parsed("scope", false, scope);
            match (app.flatten(), client_id, auth_server_id, scope) {
                (Some(app_id), Some(client_id), Some(auth_server_id), Some(scope)) => {
                    Some(ClientApp::Okta { app_id, client_id, auth_server_id, scope })
                }
                _ => None,
            }
        }
        _ => None,
    };
    if let Some(kind) = kind {
        for (field, kinds) in CLIENT_APP_FIELDS {
            if !kinds.contains(&kind) && c.rec.get(field).is_some() {
                let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                c.fail(field, format!("is only used with kind {}", names.join(" or ")));
            }
        }
    }

    if kind.is_some_and(|k| k != ConnectorKind::GenericHttp) && c.rec.get("http_template").is_some() {
        c.fail("http_template", "is only used with kind generic-http");
    }
    if kind.is_some_and(|k| k != ConnectorKind::ScimToken) {
        for field in SCIM_TOKEN_FIELDS {
            if c.rec.get(field).is_some() && !c.errors.iter().any(|e| e.field == field) {
                c.fail(field, "is only used with kind scim-token");
            }
        }
    }
    // Only a key keyturn revokes itself can be kept alive for a while first.
    if let Some(kind) = kind {
        let proc = procedure(kind);
        if overlap_seconds.is_some() && !(proc.revokes_old_key && proc.key_source == KeySource::VendorApi) {
            c.fail("overlap", format!("is not used with kind {kind} (keyturn does not revoke its old key by API)"));
        }
    }
    if let Some(kind) = kind {
        let proc = procedure(kind);
        for field in proc.requires {
            if c.rec.get(field).is_none() && !c.errors.iter().any(|e| e.field == *field) {
                c.fail(field, format!("is required for kind {kind}"));
            }
        }
        if let Some(binding) = &idp {
            let allowed = match binding {
                IdpBinding::Entra { .. } => proc.consumers.entra,
                IdpBinding::Okta { .. } => proc.consumers.okta,
                IdpBinding::None => proc.consumers.none,
            };
            if !allowed {
                c.fail("idp", format!("{} cannot consume a {kind} key", binding.name()));
            }
        }
    }

    match (id, kind, org, owner, approver_group, secret_arn, expires_at, idp) {
        (
            Some(id),
            Some(kind),
            Some(org),
            Some(owner),
            Some(approver_group),
            Some(secret_arn),
            Some(expires_at),
            Some(idp),
        ) if c.errors.is_empty() => Ok(Connector {
            id,
            kind,
            org,
            directory_id,
            app_id,
            idp,
            owner,
            approver_group,
            change_window,
            secret_arn,
            expires_at,
            status,
            version: 0,
            last_rotated_at,
            scim_base,
            vendor,
            console_url,
            old_key_survives,
            http_template,
            client_app,
            overlap_seconds,
            active_change: None,
        }),
        _ => Err(c.errors),
    }
}

/// Validates a whole file's records: all or nothing. Duplicate ids are errors
/// on every occurrence after the first, naming where the first one was.
pub fn validate_all(
    records: &[RawRecord],
    source: &str,
    ctx: &ValidationContext,
) -> Result<Vec<Connector>, Vec<RecordError>> {
    let mut v = Validator::new(source, ctx);
    let mut good = Vec::with_capacity(records.len());
    for rec in records {
        v.push(Item::Record(rec.clone(), Vec::new()), &mut |c| good.push(c));
    }
    match v.finish() {
        Ok(_) => Ok(good),
        Err(InventoryError::Invalid(p)) => Err(p.shown),
        Err(other) => Err(vec![RecordError {
            source: source.to_owned(),
            location: Location::Item,
            id: None,
            errors: vec![FieldError::new("record", other.to_string())],
        }]),
    }
}

/// Validation of a stream of records, one at a time: what it keeps between
/// records is the ids seen (for duplicates) and the first problems found.
pub(crate) struct Validator<'a> {
    source: &'a str,
    ctx: &'a ValidationContext,
    ids: IdIndex,
    problems: Problems,
    records: usize,
}

impl<'a> Validator<'a> {
    pub(crate) fn new(source: &'a str, ctx: &'a ValidationContext) -> Self {
        Self { source, ctx, ids: IdIndex::default(), problems: Problems::default(), records: 0 }
    }

    /// One record as read, with what was wrong with its shape. A valid
    /// record's connector goes to `each` while the file is still usable.
    pub(crate) fn push(&mut self, item: Item, each: &mut dyn FnMut(Connector)) {
        let (rec, shape) = match item {
            Item::Record(rec, shape) => (rec, shape),
            Item::Problem { location, label, errors } => {
                self.problems.add(RecordError {
                    source: self.source.to_owned(),
                    location,
                    id: label.map(str::to_owned),
                    errors,
                });
                return;
            }
        };
        self.records += 1;
        let result = validate_record(&rec, self.ctx);
        let mut errors = shape;
        let connector = match result {
            Ok(c) if errors.is_empty() => Some(c),
            Ok(_) => None,
            Err(e) => {
                errors.extend(e);
                None
            }
        };
        let id = usable_id(&rec);
        if let Some(id) = &id {
            self.ids.add(id, rec.location, errors.is_empty());
        }
        match connector {
            Some(c) if self.problems.records == 0 => each(c),
            Some(_) => {}
            None => {
                self.problems.add(RecordError { source: self.source.to_owned(), location: rec.location, id, errors })
            }
        }
    }

    /// The end of the stream: duplicate ids are known only now.
    pub(crate) fn finish(mut self) -> Result<Checked, InventoryError> {
        for (dup, first) in self.ids.duplicates() {
            self.problems.add_late(
                self.source,
                IdIndex::location(&dup),
                self.ids.id(&dup),
                dup.valid,
                FieldError::new("id", format!("duplicate of {}", IdIndex::location(&first))),
            );
        }
        if self.problems.records == 0 {
            Ok(Checked { records: self.records })
        } else {
            Err(InventoryError::Invalid(self.problems))
        }
    }
}

/// Every valid id seen, packed: the ids' text end to end in one string, and
/// 12 bytes per record. Duplicates are found at the end by sorting, so a file
/// of a million short rows costs tens of megabytes here, not the hundreds a
/// map of strings would.
#[derive(Default)]
struct IdIndex {
    text: String,
    entries: Vec<IdEntry>,
}

#[derive(Clone, Copy)]
struct IdEntry {
    start: u32,
    /// `Location` packed: its number and which kind it is.
    at: u32,
    len: u8,
    kind: u8,
    valid: bool,
}

impl IdIndex {
    fn add(&mut self, id: &str, location: Location, valid: bool) {
        let (kind, n) = match location {
            Location::Row(n) => (0, u32::try_from(n).ok()),
            Location::Record(n) => (1, u32::try_from(n).ok()),
            Location::Item => (2, Some(0)),
        };
        // Ids are at most MAX_ID_LEN (128) bytes and files at most 64 MiB,
        // so these never fail; if they did, that id would go unchecked for
        // duplicates rather than be confused with another.
        let (Some(at), Ok(start), Ok(len)) = (n, u32::try_from(self.text.len()), u8::try_from(id.len())) else {
            return;
        };
        self.text.push_str(id);
        self.entries.push(IdEntry { start, at, len, kind, valid });
    }

    fn id(&self, e: &IdEntry) -> &str {
        let start = e.start as usize;
        self.text.get(start..start + usize::from(e.len)).unwrap_or_default()
    }

    fn location(e: &IdEntry) -> Location {
        match e.kind {
            0 => Location::Row(u64::from(e.at)),
            1 => Location::Record(e.at as usize),
            _ => Location::Item,
        }
    }

    /// Every occurrence after the first of an id, beside that first one, in
    /// file order.
    fn duplicates(&mut self) -> Vec<(IdEntry, IdEntry)> {
        let mut entries = std::mem::take(&mut self.entries);
        // Stable, so within one id the file order stays: the first of each
        // run is the first in the file.
        entries.sort_by(|a, b| self.id(a).cmp(self.id(b)));
        let mut out = Vec::new();
        let mut first: Option<IdEntry> = None;
        for e in entries {
            match first {
                Some(f) if self.id(&f) == self.id(&e) => out.push((e, f)),
                _ => first = Some(e),
            }
        }
        out.sort_by_key(|(e, _)| Self::location(e));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{read_str, Format, Location};
    use proptest::prelude::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 06:00 UTC);
    const HEADER: &str =
        "id,kind,org,directory_id,idp,idp_app_id,idp_job_id,owner,approver_group,change_window,secret_arn,expires_at";
    const GOOD: &str = "atlassian/acme/entra,atlassian-scim,acme,dir-1,entra,sp-1,job-1,ann@acme.example,it-change,sat 02:00-04:00,arn:aws:secretsmanager:eu-west-1:123456789012:secret:scim/acme,2026-12-01";

    fn check(csv: &str) -> Result<Vec<Connector>, Vec<RecordError>> {
        let recs = read_str(csv, Format::Csv, "inventory.csv").unwrap();
        validate_all(&recs, "inventory.csv", &ValidationContext::at(NOW))
    }

    #[test]
    fn a_good_record_becomes_a_connector() {
        let c = check(&format!("{HEADER}\n{GOOD}\n")).unwrap().remove(0);
        assert_eq!(c.id.as_str(), "atlassian/acme/entra");
        assert_eq!(c.kind, ConnectorKind::AtlassianScim);
        assert_eq!(c.idp, IdpBinding::Entra { service_principal_id: "sp-1".into(), job_id: "job-1".into() });
        assert_eq!(c.expires_at, datetime!(2026-12-01 00:00 UTC));
        assert_eq!(c.status, ConnectorStatus::Active);
    }

    #[test]
    fn the_issue_example_message_is_exact() {
        // Five good rows (2..=6), then the bad one on row 7.
        let mut lines = vec![HEADER.to_owned()];
        for i in 0..5 {
            lines.push(GOOD.replacen("atlassian/acme/entra", &format!("c{i}"), 1));
        }
        lines.push(GOOD.replace("2026-12-01", "2026-13-01"));
        let errs = check(&(lines.join("\n") + "\n")).unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            r#"inventory.csv row 7 (atlassian/acme/entra): expires_at: "2026-13-01" is not a date (use 2026-05-01 or 2026-05-01T00:00:00Z)"#
        );
    }

    #[test]
    fn every_problem_is_listed() {
        let rec = "x y,atlassian-scim,,,entra,,,nobody,,someday,arn:nope,2026-13-01";
        let errs = check(&format!("{HEADER}\n{rec}\n")).unwrap_err();
        let fields: Vec<&str> = errs[0].errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "id",
            "org",
            "owner",
            "approver_group",
            "change_window",
            "secret_arn",
            "expires_at",
            "idp_app_id",
            "idp_job_id",
            "directory_id",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn unknown_kind_and_idp_mismatch() {
        let rec = GOOD.replace("atlassian-scim", "atlassian");
        let errs = check(&format!("{HEADER}\n{rec}\n")).unwrap_err();
        assert!(errs[0].to_string().contains(r#"kind: "atlassian" is not a known kind"#));
        let rec = GOOD.replace("atlassian-scim", "atlassian-api-key");
        let errs = check(&format!("{HEADER}\n{rec}\n")).unwrap_err();
        assert!(errs[0].to_string().contains("idp: entra cannot consume a atlassian-api-key key"));
    }

    const SCIM_HEADER: &str = "id,kind,org,idp,idp_app_id,idp_job_id,owner,approver_group,secret_arn,expires_at,scim_base,vendor,console_url,old_key_survives";
    const SCIM_GOOD: &str = "github/acme,scim-token,acme,entra,sp-1,job-1,ann@acme.example,it-change,arn:aws:secretsmanager:eu-west-1:123456789012:secret:scim/gh,2026-12-01,https://api.github.com/scim/v2/enterprises/acme/,GitHub,https://github.com/enterprises/acme/settings/security,false";

    #[test]
    fn a_scim_token_record_keeps_its_endpoint_vendor_and_console() {
        let c = check(&format!("{SCIM_HEADER}\n{SCIM_GOOD}\n")).unwrap().remove(0);
        assert_eq!(c.kind, ConnectorKind::ScimToken);
        assert_eq!(c.scim_base.as_deref(), Some("https://api.github.com/scim/v2/enterprises/acme"), "no trailing /");
        assert_eq!(c.vendor.as_deref(), Some("GitHub"));
        assert_eq!(c.console_url.as_deref(), Some("https://github.com/enterprises/acme/settings/security"));
        assert_eq!(c.old_key_survives, Some(false));
        // The local stack's server: plain http, but only to this machine.
        let local = SCIM_GOOD.replace("https://api.github.com/scim/v2/enterprises/acme/", "http://127.0.0.1:4569/v2");
        let c = check(&format!("{SCIM_HEADER}\n{local}\n")).unwrap().remove(0);
        assert_eq!(c.scim_base.as_deref(), Some("http://127.0.0.1:4569/v2"));
        let minimal = "id,kind,org,idp,owner,approver_group,secret_arn,expires_at,scim_base\n\
                       z/acme,scim-token,acme,none,ann@acme.example,it-change,arn:aws:secretsmanager:eu-west-1:123456789012:secret:z,2026-12-01,https://api.zoom.us/scim2\n";
        let c = check(minimal).unwrap().remove(0);
        assert_eq!((c.vendor, c.console_url, c.old_key_survives), (None, None, None));
    }

    /// Where a SCIM token would go is refused unless it is the vendor's
    /// public https endpoint (or the local stack's loopback): named on the
    /// field, on the connector, never echoing the path or query (a token
    /// pasted into a URL stays out of the message).
    #[test]
    fn a_scim_base_keyturn_must_not_send_a_token_to_is_refused_by_name() {
        let secret = "tok-3f9a8b7c6d5e4f3a2b1c";
        for (base, why) in [
            ("http://scim.vendor.example/v2", "only https://"),
            ("http://10.0.0.5/scim", "only https://"),
            ("https://10.0.0.5/scim", "private addresses are refused"),
            ("https://192.168.1.20/scim", "private addresses are refused"),
            ("https://[fd12::1]/scim", "private addresses are refused"),
            ("https://169.254.169.254/latest/meta-data", "metadata"),
            ("https://0.0.0.0/scim", "metadata"),
            (&format!("https://{secret}@scim.vendor.example/v2"), "user:password@"),
            (&format!("https://scim.vendor.example/v2?token={secret}"), "has a query"),
            (&format!("https://scim.vendor.example/v2#{secret}"), "#fragment"),
            ("ftp://scim.vendor.example/v2", "only https://"),
            ("scim.vendor.example/v2", "is not a URL"),
            ("http://localhost:@evil.example/v2", "user:password@"),
        ] {
            let row = SCIM_GOOD.replace("https://api.github.com/scim/v2/enterprises/acme/", base);
            let errs = check(&format!("{SCIM_HEADER}\n{row}\n")).unwrap_err();
            let shown = errs[0].to_string();
            assert!(shown.starts_with("inventory.csv row 2 (github/acme): scim_base: "), "{base}: {shown}");
            assert!(shown.contains(why), "{base}: {shown}");
            assert!(!shown.contains(secret), "never the token: {shown}");
        }
        let row = SCIM_GOOD.replace("https://api.github.com/scim/v2/enterprises/acme/", "");
        let errs = check(&format!("{SCIM_HEADER}\n{row}\n")).unwrap_err();
        assert!(errs[0].to_string().ends_with("(github/acme): scim_base: is required for kind scim-token"), "{errs:?}");
    }

    #[test]
    fn the_scim_token_fields_are_checked_and_belong_to_that_kind() {
        let bad = SCIM_GOOD
            .replace(",false", ",sometimes")
            .replace("https://github.com/enterprises/acme/settings/security", "javascript:alert(1)");
        let errs = check(&format!("{SCIM_HEADER}\n{bad}\n")).unwrap_err();
        let shown = errs[0].to_string();
        assert!(shown.contains(r#"old_key_survives: "sometimes" is not true or false"#), "{shown}");
        assert!(shown.contains("console_url: "), "{shown}");
        // An Atlassian SCIM key has its endpoint from directory_id: these fields are a mistake there.
        let header = format!("{HEADER},scim_base,vendor,console_url,old_key_survives");
        let row = format!("{GOOD},https://scim.vendor.example/v2,X,https://x.example/,true");
        let errs = check(&format!("{header}\n{row}\n")).unwrap_err();
        for field in SCIM_TOKEN_FIELDS {
            assert!(
                errs[0].errors.iter().any(|e| e.field == field && e.message == "is only used with kind scim-token"),
                "{field}: {errs:?}"
            );
        }
    }

    #[test]
    fn duplicates_name_the_first_occurrence() {
        let errs = check(&format!("{HEADER}\n{GOOD}\n{GOOD}\n")).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].location, Location::Row(3));
        assert!(errs[0].to_string().ends_with("id: duplicate of row 2"));
    }

    #[test]
    fn far_future_expiry_is_suspicious() {
        let rec = GOOD.replace("2026-12-01", "2099-01-01");
        let errs = check(&format!("{HEADER}\n{rec}\n")).unwrap_err();
        assert!(errs[0].to_string().contains("check the date"));
    }

    #[test]
    fn control_characters_are_refused() {
        let recs = vec![RawRecord {
            location: Location::Record(1),
            fields: [("org", "acme\r\nBcc: evil@x.example")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }];
        let errs = validate_all(&recs, "x.json", &ValidationContext::at(NOW)).unwrap_err();
        assert!(errs[0].to_string().contains("org: contains control characters"));
    }

    /// Invisible format characters (Cf) and line/paragraph separators read
    /// as nothing on screen: `acme\u{200B}` is not `acme`, and U+202E turns
    /// `moc.elpmaxe@nna` into what looks like an address. Refused in every
    /// field, named by code point, never echoed.
    #[test]
    fn invisible_characters_and_separators_are_refused_in_every_field() {
        for (field, c) in [
            ("org", '\u{202E}'),
            ("org", '\u{200B}'),
            ("directory_id", '\u{FEFF}'),
            ("directory_id", '\u{2028}'),
            ("idp_app_id", '\u{2029}'),
            ("idp_job_id", '\u{2060}'),
            ("owner", '\u{200B}'),
            ("owner", '\u{202E}'),
            ("org", '\u{E0041}'),
            ("org", '\u{85}'),
        ] {
            let mut rec = read_str(&format!("{HEADER}\n{GOOD}\n"), Format::Csv, "x.csv").unwrap().remove(0);
            rec.fields.get_mut(field).unwrap().insert(2, c);
            let errs = validate_record(&rec, &ValidationContext::at(NOW)).unwrap_err();
            let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
            let code = format!("U+{:04X}", u32::from(c));
            assert!(
                shown.iter().any(|e| e.starts_with(&format!("{field}: contains")) && e.contains(&code)),
                "{field} {code}: {shown:?}"
            );
            assert!(!shown.iter().any(|e| e.contains(c)), "the character itself is not echoed: {shown:?}");
        }
    }

    /// Year 0, negative years and years past 9999 are not dates a key
    /// expires on, and would sort out of place in the expiry index.
    #[test]
    fn expiry_years_outside_0001_to_9999_are_refused() {
        for date in ["0000-06-01", "0000-06-01T00:00:00Z", "-0001-06-01", "+10000-01-01", "10000-01-01", "+2026-12-01"]
        {
            let errs = check(&format!("{HEADER}\n{}\n", GOOD.replace("2026-12-01", date))).unwrap_err();
            let shown = errs[0].to_string();
            assert!(shown.contains("expires_at: ") && shown.contains("year outside 0001 to 9999"), "{date}: {shown}");
        }
        let errs =
            check(&format!("{HEADER}\n{}\n", GOOD.replace("2026-12-01", "0001-01-01T00:00:00+01:00"))).unwrap_err();
        assert!(errs[0].to_string().contains("expires_at: \"0001-01-01T00:00:00+01:00\" is not a date"), "{errs:?}");
    }

    /// A bad ARN is named on the field and refused whole: a region that is
    /// not one, a name with characters Secrets Manager never gives.
    #[test]
    fn secret_arns_are_checked_on_the_field() {
        for arn in [
            "arn:aws:secretsmanager:x:123456789012:secret:scim/acme",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:scim/acme?x=1",
            "arn:aws-cn:secretsmanager:eu-west-1:123456789012:secret:scim/acme",
        ] {
            let row = GOOD.replace("arn:aws:secretsmanager:eu-west-1:123456789012:secret:scim/acme", arn);
            let errs = check(&format!("{HEADER}\n{row}\n")).unwrap_err();
            assert!(errs[0].to_string().contains("secret_arn: "), "{arn}: {errs:?}");
        }
    }

    /// Values are echoed short: a 500-character owner comes back as its
    /// first 64 characters and a count, and an id that is not a valid one
    /// is never repeated as the record's name.
    #[test]
    fn errors_echo_values_short_and_bad_ids_not_at_all() {
        let long = "x".repeat(500);
        let row = GOOD.replace("ann@acme.example", &long).replacen("atlassian/acme/entra", "\u{1b}[2Jid", 1);
        let errs = check(&format!("{HEADER}\n{row}\n")).unwrap_err();
        let shown = errs[0].to_string();
        assert!(shown.contains(&format!("owner: \"{}\"… (500 characters) is not an email", "x".repeat(64))), "{shown}");
        assert!(!shown.contains(&"x".repeat(65)), "{shown}");
        assert_eq!(errs[0].id, None);
        assert!(shown.starts_with("inventory.csv row 2: "), "{shown}");
        assert!(!shown.contains('\u{1b}'), "{shown:?}");
    }

    /// Duplicates are found when the file has been read, and still take
    /// their place in file order, beside the record's other problems.
    #[test]
    fn duplicates_found_at_the_end_take_their_place_in_file_order() {
        let bad_date = |id: &str| GOOD.replacen("atlassian/acme/entra", id, 1).replace("2026-12-01", "2026-13-01");
        let good = |id: &str| GOOD.replacen("atlassian/acme/entra", id, 1);
        let rows = [good("a"), bad_date("b"), good("a"), bad_date("b"), good("c")];
        let errs = check(&format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap_err();
        let got: Vec<(Location, Vec<&str>)> =
            errs.iter().map(|e| (e.location, e.errors.iter().map(|f| f.message.as_str()).collect())).collect();
        assert_eq!(got.len(), 3, "{got:#?}");
        assert_eq!(got[0].0, Location::Row(3));
        assert_eq!(got[1], (Location::Row(4), vec!["duplicate of row 2"]));
        assert_eq!(got[2].0, Location::Row(5));
        assert!(got[2].1[0].contains("is not a date") && got[2].1[1] == "duplicate of row 3", "{got:#?}");
    }

    /// A file of very many bad records reports the first
    /// MAX_SHOWN_RECORDS in file order and counts the rest; a duplicate
    /// found at the end still lands in its place among the shown.
    #[test]
    fn very_many_problems_are_capped_and_counted() {
        use crate::inventory::{load_str, InventoryError, MAX_SHOWN_RECORDS};
        let mut lines = vec![HEADER.to_owned(), GOOD.replacen("atlassian/acme/entra", "dup", 1)];
        lines.push(GOOD.replacen("atlassian/acme/entra", "dup", 1));
        for i in 0..MAX_SHOWN_RECORDS + 500 {
            lines.push(GOOD.replacen("atlassian/acme/entra", &format!("c{i}"), 1).replace("2026-12-01", "never"));
        }
        let Err(InventoryError::Invalid(p)) =
            load_str(&(lines.join("\n") + "\n"), Format::Csv, "big.csv", &ValidationContext::at(NOW))
        else {
            panic!("expected invalid");
        };
        assert_eq!(p.records, MAX_SHOWN_RECORDS + 501);
        assert_eq!(p.problems, MAX_SHOWN_RECORDS + 501);
        assert_eq!(p.shown.len(), MAX_SHOWN_RECORDS);
        assert_eq!(p.shown[0].location, Location::Row(3), "the late duplicate is first");
        assert_eq!(p.shown[0].errors[0].message, "duplicate of row 2");
        assert!(p.shown.windows(2).all(|w| w[0].location < w[1].location));
        assert!(p.to_string().ends_with("… and 501 more invalid record(s) not shown"), "{}", p.to_string().len());
    }

    const ENTRA_HEADER: &str =
        "id,kind,org,idp,owner,approver_group,secret_arn,expires_at,tenant_id,application_object_id,client_id";
    const ENTRA_GOOD: &str = "entra/app/payroll,entra-app-secret,contoso,none,ann@acme.example,it-change,arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/payroll,2026-12-01,11111111-2222-3333-4444-555555555555,aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee,0f0f0f0f-1234-5678-9abc-def012345678";

    /// An app registration's secret: its three ids become the connector's
    /// client app, and only `idp none` may hold it.
    #[test]
    fn an_entra_app_secret_record_names_its_app_registration() {
        let c = check(&format!("{ENTRA_HEADER}\n{ENTRA_GOOD}\n")).unwrap().remove(0);
        assert_eq!(c.kind, ConnectorKind::EntraAppSecret);
        assert_eq!(
            c.client_app,
            Some(ClientApp::Entra {
                tenant_id: "11111111-2222-3333-4444-555555555555".into(),
                application_object_id: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee".into(),
                client_id: "0f0f0f0f-1234-5678-9abc-def012345678".into(),
            })
        );
        let domain = ENTRA_GOOD.replace("11111111-2222-3333-4444-555555555555", "contoso.onmicrosoft.com");
        assert!(check(&format!("{ENTRA_HEADER}\n{domain}\n")).is_ok(), "a tenant may be named by its domain");
    }

    #[test]
    fn bad_entra_app_secret_fields_are_named() {
        for (from, to, expected) in [
            ("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "my-app", "application_object_id: \"my-app\" is not a GUID"),
            ("0f0f0f0f-1234-5678-9abc-def012345678", "0f0f0f0f", "client_id: \"0f0f0f0f\" is not a GUID"),
            ("11111111-2222-3333-4444-555555555555", "not a tenant", "tenant_id: \"not a tenant\" is not a tenant id"),
            (",none,", ",entra,", "idp_app_id: is required for idp entra"),
            ("0f0f0f0f-1234-5678-9abc-def012345678", "", "client_id: is required for kind entra-app-secret"),
        ] {
            let row = ENTRA_GOOD.replace(from, to);
            let errs = check(&format!("{ENTRA_HEADER}\n{row}\n")).unwrap_err();
            let shown = errs[0].to_string();
            assert!(shown.starts_with("inventory.csv row 2 (entra/app/payroll): "), "{shown}");
            assert!(shown.contains(expected), "{expected}: {shown}");
        }
        let row = ENTRA_GOOD.replace(",none,", ",okta,") + ",";
        let errs = check(&format!("{ENTRA_HEADER},idp_app_id\n{row}0oa1\n")).unwrap_err();
        assert!(errs[0].to_string().contains("idp: okta cannot consume a entra-app-secret key"), "{errs:?}");
        // A client-secret field on another kind is a mistake, named.
        let errs = check(&format!("{HEADER},client_id\n{GOOD},0f0f0f0f-1234-5678-9abc-def012345678\n")).unwrap_err();
        assert!(errs[0]
            .to_string()
            .contains("client_id: is only used with kind entra-app-secret or okta-client-secret"));
    }

    /// `overlap`: how long the old secret lives on; bad values and kinds
    /// whose old key keyturn does not revoke are named.
    #[test]
    fn an_overlap_is_a_bounded_duration_on_kinds_keyturn_revokes() {
        let row = |v: &str| format!("{ENTRA_HEADER},overlap\n{ENTRA_GOOD},{v}\n");
        assert_eq!(check(&row("90m")).unwrap()[0].overlap_seconds, Some(5400));
        assert_eq!(check(&row("0s")).unwrap()[0].overlap_seconds, Some(0));
        assert_eq!(check(&row("7d")).unwrap()[0].overlap_seconds, Some(7 * 86_400));
        assert_eq!(check(&format!("{ENTRA_HEADER}\n{ENTRA_GOOD}\n")).unwrap()[0].overlap_seconds, None);
        for bad in ["8d", "1w", "h", "-1h", "1.5h"] {
            let shown = check(&row(bad)).unwrap_err()[0].to_string();
            assert!(shown.contains("overlap: ") && shown.contains("is not a duration from 0s to 7d"), "{bad}: {shown}");
        }
        let errs = check(&format!("{HEADER},overlap\n{GOOD},1h\n")).unwrap_err();
        assert!(errs[0].to_string().contains("overlap: is not used with kind atlassian-scim"), "{errs:?}");
    }

    #[test]
    fn an_okta_client_secret_record_names_its_app_server_and_scope() {
        let header = "id,kind,org,idp,owner,approver_group,secret_arn,expires_at,app_id,client_id,auth_server_id,scope";
        let good = "okta/app/ci,okta-client-secret,acme,none,ann@acme.example,it-change,arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/ci,2026-12-01,0oa1app,0oa1client,aus1server,keyturn.verify";
        let c = check(&format!("{header}\n{good}\n")).unwrap().remove(0);
        assert_eq!(
            c.client_app,
            Some(ClientApp::Okta {
                app_id: "0oa1app".into(),
                client_id: "0oa1client".into(),
                auth_server_id: "aus1server".into(),
                scope: "keyturn.verify".into(),
            })
        );
        for (from, to, expected) in [
            ("keyturn.verify", "a  b", "scope: \"a  b\" is not an OAuth scope"),
            ("aus1server", "../x", "auth_server_id: \"../x\" is not an Okta authorization server id"),
            ("0oa1app,", ",", "app_id: is required for kind okta-client-secret"),
        ] {
            let errs = check(&format!("{header}\n{}\n", good.replace(from, to))).unwrap_err();
            assert!(errs[0].to_string().contains(expected), "{expected}: {errs:?}");
        }
    }

    proptest! {
        /// Any mix of field values either validates or yields errors that each
        /// name a known field — never a panic, never an empty error list.
        #[test]
        fn validation_is_total(values in proptest::collection::btree_map(0usize..FIELDS.len(), ".{0,40}", 0..FIELDS.len())) {
            let rec = RawRecord {
                location: Location::Record(1),
                fields: values.into_iter().map(|(i, v)| (FIELDS[i].to_owned(), v)).collect(),
            };
            match validate_record(&rec, &ValidationContext::at(NOW)) {
                Ok(c) => prop_assert!(!c.owner.is_empty()),
                Err(errors) => {
                    prop_assert!(!errors.is_empty());
                    for e in errors { prop_assert!(FIELDS.contains(&e.field.as_str()), "{}", e.field); }
                }
            }
        }
    }
}
