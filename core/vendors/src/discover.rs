//! A draft inventory from what an Atlassian organization says it has
//! (`keyturn inventory discover`): its user directories (each a SCIM key to
//! rotate) and its API keys with their expiry. Only a draft: owners,
//! approvers, identity providers and secrets are facts the Admin APIs do not
//! know, so they are left as `TODO`s for a person to fill in, and nothing is
//! ever imported from here.
//!
//! Whether the ids `GET /admin/v2/orgs/{org}/directories` lists are the ids of
//! `/scim/directory/{id}` is contested between Atlassian's own pages
//! (docs/vendors.md): a directory's id goes into `directory_id` only once a
//! SCIM probe with that directory's key answered; otherwise the draft names
//! it as an unverified candidate and leaves the field to a person.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::{ApiKeyInfo, DirectoryInfo};

/// What discovery found in one organization.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub org: String,
    pub directories: Vec<DirectoryInfo>,
    /// Directory ids a SCIM probe confirmed (`GET /scim/directory/{id}/Users`
    /// answered a ListResponse with that directory's key).
    pub scim_verified: BTreeSet<String>,
    pub api_keys: Vec<ApiKeyInfo>,
}

/// A connector id segment: lower case, `[a-z0-9-]`, from a display name.
pub(crate) fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').chars().take(48).collect::<String>();
    if out.is_empty() {
        "unnamed".into()
    } else {
        out
    }
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
pub(crate) fn q(v: &str) -> String {
    serde_json::Value::from(v).to_string()
}

/// A draft inventory being written: records from one or more sources, with
/// ids kept unique across them and notes for its header. Every text a vendor
/// chose goes in through [`q`], so a name cannot end a comment and add a field.
#[derive(Debug, Default)]
pub struct Draft {
    body: String,
    notes: Vec<String>,
    used: BTreeSet<String>,
    records: usize,
}

impl Draft {
    /// `base`, or `base-2`, `base-3`… if a record already has it.
    pub fn unique(&mut self, base: String) -> String {
        let mut id = base.clone();
        let mut n = 2;
        while !self.used.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        id
    }

    /// A line for the header (the caller quotes what a vendor chose).
    pub fn note(&mut self, line: String) {
        self.notes.push(line.replace(['\n', '\r'], " "));
    }

    /// One whole record, `- ` first.
    pub fn push(&mut self, record: &str) {
        self.body.push_str(record);
        self.records += 1;
    }

    pub fn records(&self) -> usize {
        self.records
    }

    /// The file: a header naming the sources, the notes, then the records (`[]` for none).
    pub fn finish(self, sources: &str, through: &str, discovered_at: &str) -> String {
        let mut y = String::new();
        let one_line = |s: &str| s.replace(['\n', '\r'], " ");
        let _ = writeln!(y, "# keyturn inventory DRAFT for {}", one_line(sources));
        let _ = writeln!(y, "# Discovered {discovered_at} through {}. Nothing was imported.", one_line(through));
        let _ = writeln!(y, "# Fill in every TODO (`keyturn inventory validate` names what is still missing), then:");
        let _ = writeln!(y, "#   keyturn inventory validate THIS_FILE && keyturn inventory import THIS_FILE");
        for n in &self.notes {
            let _ = writeln!(y, "# {n}");
        }
        if self.records == 0 {
            y.push_str("[]\n");
        } else {
            y.push_str(&self.body);
        }
        y
    }
}

impl Discovery {
    /// Keys keyturn made in an earlier rotation are named `keyturn chg-…`:
    /// they belong to connectors already in the inventory.
    fn made_by_keyturn(k: &ApiKeyInfo) -> bool {
        k.label.starts_with("keyturn chg-")
    }

    /// Keys the draft holds: not made by keyturn, not expired at `at` (the
    /// listing carries no status; an expired key no longer works).
    fn live_keys<'a>(&'a self, at: &str) -> impl Iterator<Item = &'a ApiKeyInfo> + 'a {
        let at = keyturn_domain::timefmt::parse_instant(at);
        self.api_keys.iter().filter(move |k| {
            let expired = match (at, k.expires_at.as_deref().and_then(keyturn_domain::timefmt::parse_instant)) {
                (Some(at), Some(exp)) => exp <= at,
                _ => false,
            };
            !expired && !Self::made_by_keyturn(k)
        })
    }

    /// Records the draft will hold: (directories, live API keys not made by keyturn).
    pub fn counts(&self, discovered_at: &str) -> (usize, usize) {
        (self.directories.len(), self.live_keys(discovered_at).count())
    }

    /// The draft, as a YAML inventory with a comment on every field a person must fill.
    pub fn draft_yaml(&self, discovered_at: &str) -> String {
        let mut d = Draft::default();
        self.write(&mut d, discovered_at);
        d.finish(&format!("Atlassian organization {}", self.org), "the Atlassian Admin APIs", discovered_at)
    }

    /// This organization's records, into a draft that may hold other sources' too.
    pub fn write(&self, d: &mut Draft, discovered_at: &str) {
        let org = &self.org;
        for dir in &self.directories {
            let mut y = String::new();
            let id = d.unique(format!("atlassian/{}/{}", slug(org), slug(&dir.name)));
            let _ = writeln!(
                y,
                "- # SCIM directory {} ({}): its key's expiry is on admin.atlassian.com",
                q(&dir.name),
                q(&dir.id)
            );
            let _ = writeln!(y, "  id: {}", q(&id));
            let _ = writeln!(y, "  kind: atlassian-scim");
            let _ = writeln!(y, "  org: {}", q(org));
            if self.scim_verified.contains(&dir.id) {
                let _ = writeln!(y, "  directory_id: {}  # verified by a SCIM probe", q(&dir.id));
            } else {
                let _ = writeln!(
                    y,
                    "  directory_id: \"\"  # TODO: UNVERIFIED candidate {}: the admin API's directory ids may not be \
                     SCIM directory ids; copy the id from the SCIM base URL admin.atlassian.com shows \
                     (…/scim/directory/ID), or rerun discover with --scim-key-env",
                    q(&dir.id)
                );
            }
            let _ = writeln!(y, "  idp: \"\"            # TODO: entra, okta or none (who provisions through this key)");
            let _ = writeln!(y, "  idp_app_id: \"\"     # TODO: the Entra service principal or Okta app id");
            let _ = writeln!(y, "  idp_job_id: \"\"     # TODO (entra): the synchronization job id");
            Self::people_and_secret(&mut y);
            let _ = writeln!(y, "  expires_at: \"\"     # TODO: the SCIM key's expiry (RFC 3339)");
            d.push(&y);
        }
        for k in self.live_keys(discovered_at) {
            let mut y = String::new();
            let id = d.unique(format!("atlassian/{}/key-{}", slug(org), slug(&k.label)));
            let last = k.last_active_at.as_deref().map(|t| format!(", last active {}", q(t))).unwrap_or_default();
            let _ = writeln!(y, "- # organization API key {} ({}{last})", q(&k.label), q(&k.id));
            let _ = writeln!(y, "  id: {}", q(&id));
            let _ = writeln!(y, "  kind: atlassian-api-key");
            let _ = writeln!(y, "  org: {}", q(org));
            let _ = writeln!(y, "  idp: none");
            Self::people_and_secret(&mut y);
            match &k.expires_at {
                Some(e) => {
                    let _ = writeln!(y, "  expires_at: {}", q(e));
                }
                None => {
                    let _ = writeln!(y, "  expires_at: \"\"     # TODO: the API did not say");
                }
            }
            d.push(&y);
        }
    }

    fn people_and_secret(y: &mut String) {
        y.push_str("  owner: \"\"          # TODO: who answers for this key (email)\n");
        y.push_str("  approver_group: \"\" # TODO: a group from `keyturn approvers show`\n");
        y.push_str("  secret_arn: \"\"     # TODO: the Secrets Manager secret holding the current key\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyturn_domain::inventory::{read_str, validate_record, Format, ValidationContext};

    fn key(id: &str, label: &str, expires: Option<&str>) -> ApiKeyInfo {
        ApiKeyInfo {
            id: id.into(),
            label: label.into(),
            created_at: None,
            expires_at: expires.map(Into::into),
            last_active_at: Some("2026-11-20T00:00:00Z".into()),
        }
    }

    fn found() -> Discovery {
        Discovery {
            org: "Acme Corp".into(),
            directories: vec![
                DirectoryInfo { id: "d-1".into(), name: "Entra \"sync\" #1".into() },
                DirectoryInfo { id: "d-2".into(), name: "Entra sync 1".into() },
            ],
            scim_verified: ["d-1".to_owned()].into(),
            api_keys: vec![
                key("k-1", "CI bot", Some("2027-01-31T00:00:00Z")),
                key("k-2", "old", Some("2026-01-01T00:00:00Z")),
                key("k-3", "keyturn chg-20261124-0123456789abcdef", None),
            ],
        }
    }

    #[test]
    fn the_draft_reads_back_as_an_inventory_whose_gaps_validation_names() {
        let d = found();
        let at = "2026-11-26T09:00:00Z";
        assert_eq!(d.counts(at), (2, 1), "expired keys and keys keyturn made are left out");
        let text = d.draft_yaml(at);
        let records = read_str(&text, Format::Yaml, "draft.yaml").unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].get("id"), Some("atlassian/acme-corp/entra-sync-1"));
        assert_eq!(records[1].get("id"), Some("atlassian/acme-corp/entra-sync-1-2"), "ids stay unique");
        assert_eq!(records[2].get("id"), Some("atlassian/acme-corp/key-ci-bot"), "named by the documented label");
        assert_eq!(records[2].get("expires_at"), Some("2027-01-31T00:00:00Z"));
        let ctx = ValidationContext::at(time::macros::datetime!(2026-11-26 09:00 UTC));
        let errors = validate_record(&records[2], &ctx).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in ["owner", "approver_group", "secret_arn"] {
            assert!(fields.contains(&f), "{f} is named: {fields:?}");
        }
    }

    #[test]
    fn only_a_probed_directory_id_is_written() {
        let d = found();
        let text = d.draft_yaml("2026-11-26T09:00:00Z");
        let records = read_str(&text, Format::Yaml, "draft.yaml").unwrap();
        assert_eq!(records[0].get("directory_id"), Some("d-1"), "the SCIM probe confirmed it");
        assert_ne!(records[1].get("directory_id"), Some("d-2"), "an unverified id is not written");
        assert!(text.contains("UNVERIFIED candidate \"d-2\""), "{text}");
    }

    #[test]
    fn an_empty_organization_gives_an_empty_draft() {
        let text = Discovery { org: "x".into(), ..Default::default() }.draft_yaml("now");
        assert!(read_str(&text, Format::Yaml, "d.yaml").unwrap().is_empty());
    }

    #[test]
    fn slugs_are_id_safe() {
        assert_eq!(slug("  Entra ID — Prod!! "), "entra-id-prod");
        assert_eq!(slug("***"), "unnamed");
    }
}
