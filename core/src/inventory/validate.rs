//! Validation: a raw record becomes a [`Connector`] or a list of field errors.

use std::collections::HashMap;
use std::fmt;

use time::{Duration, OffsetDateTime};

use super::{RawRecord, RecordError};
use crate::domain::timefmt::parse_instant;
use crate::domain::{
    ChangeWindow, Connector, ConnectorId, ConnectorKind, ConnectorStatus, HttpTemplate, IdpBinding, SecretArn,
};
use crate::procedures::procedure;

/// Every field an inventory record may have.
pub const FIELDS: [&str; 16] = [
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
];

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
        if v.chars().any(char::is_control) {
            self.fail(field, "contains control characters (line breaks, tabs, …)");
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
            format!("{raw:?} is not a known kind ({})", known.join(", "))
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
        HttpTemplate::parse(raw).map_err(|e| c.fail("http_template", e)).ok()
    });
    let owner = c.parsed("owner", true, |raw| {
        if is_email(raw) {
            Ok(raw.to_owned())
        } else {
            Err(format!("{raw:?} is not an email address; every key needs a reachable owner"))
        }
    });
    let approver_group = c.parsed("approver_group", true, |raw| {
        if is_group_name(raw) {
            Ok(raw.to_owned())
        } else {
            Err(format!("{raw:?} is not a group name (letters, digits, . _ -, at most 64)"))
        }
    });
    let change_window = c.parsed("change_window", false, |raw| raw.parse::<ChangeWindow>());
    let secret_arn = c.parsed("secret_arn", true, SecretArn::parse);
    let expires_at = c.parsed("expires_at", true, |raw| {
        let t = parse_instant(raw)
            .ok_or_else(|| format!("{raw:?} is not a date (use 2026-05-01 or 2026-05-01T00:00:00Z)"))?;
        if t > ctx.now + ctx.max_expiry_ahead {
            return Err(format!(
                "{raw:?} is more than {} days away; check the date",
                ctx.max_expiry_ahead.whole_days()
            ));
        }
        Ok(t)
    });
    let status = c
        .parsed("status", false, |raw| {
            ConnectorStatus::parse(raw).ok_or_else(|| {
                let known: Vec<&str> = ConnectorStatus::ALL.iter().map(|s| s.as_str()).collect();
                format!("{raw:?} is not a status ({})", known.join(", "))
            })
        })
        .unwrap_or_default();
    let last_rotated_at =
        c.parsed("last_rotated_at", false, |raw| parse_instant(raw).ok_or_else(|| format!("{raw:?} is not a date")));

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
            c.fail("idp", format!("{other:?} is not a known identity provider (entra, okta, none)"));
            None
        }
        None => None,
    };

    if kind.is_some_and(|k| k != ConnectorKind::GenericHttp) && c.rec.get("http_template").is_some() {
        c.fail("http_template", "is only used with kind generic-http");
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
            http_template,
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
    let mut seen: HashMap<&str, crate::inventory::Location> = HashMap::new();
    let mut good = Vec::with_capacity(records.len());
    let mut bad = Vec::new();
    for rec in records {
        let mut result = validate_record(rec, ctx);
        if let Some(id) = rec.get("id") {
            if let Some(first) = seen.get(id) {
                let dup = FieldError::new("id", format!("duplicate of {first}"));
                match &mut result {
                    Ok(_) => result = Err(vec![dup]),
                    Err(errors) => errors.push(dup),
                }
            } else {
                seen.insert(id, rec.location);
            }
        }
        match result {
            Ok(c) => good.push(c),
            Err(errors) => bad.push(RecordError {
                source: source.to_owned(),
                location: rec.location,
                id: rec.get("id").map(str::to_owned),
                errors,
            }),
        }
    }
    if bad.is_empty() {
        Ok(good)
    } else {
        Err(bad)
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
