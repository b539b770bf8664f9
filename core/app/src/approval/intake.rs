//! Key hand-over for vendors without a key API (Atlassian SCIM directories).
//!
//! After approval the workflow waits on a second task token (`request-key`)
//! while the key's owner regenerates the key in the vendor console and pastes
//! it into keyturn's intake form, reached by a signed link of their own. The
//! form's POST first asks the vendor whether the key works (a SCIM read with
//! it, while the owner waits): a refused key is answered on the page, never
//! stored, and the same link may be used again until it expires. An accepted
//! key goes straight into Secrets Manager as `AWSPENDING`, the link is used
//! up, and the workflow resumes with the version id only: the key never
//! enters the workflow's state, a log line, an audit item or a page.

use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::callback::Page;
use super::request::link;
use super::{Email, TaskToken};
use crate::adapters::Adapters;
use crate::inventory::{load_connector, LoadError};
use crate::ports::{
    AuditLog, ConnectorLookup, Delivery, IntakeTokens, KeyVendor, Mailer, SecretStore, SigningKeys, StoreError,
    TaskCallbacks,
};
use crate::retry::{retry, RetryPolicy};
use crate::rotation::{version_token, StepInput, StoredKey, VendorError};
use keyturn_domain::approval::html::{esc, page};
use keyturn_domain::approval::{Approver, Decision, LinkClaims, Nonce};
use keyturn_domain::procedures::old_key_survives;
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::ConnectorKind;
use keyturn_domain::{ChangeId, Connector, ConnectorId, ErrorName, EventKind, IdpBinding, NewAuditEvent, SecretValue};

/// What the state machine passes to `request-key`.
#[derive(Debug, Clone, Deserialize)]
pub struct KeyRequest {
    pub item: StepInput,
    pub task_token: TaskToken,
    #[serde(default)]
    pub intake_timeout_seconds: Option<u32>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KeyRequestReport {
    pub connector_id: String,
    pub owner: String,
    pub link_expires_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyRequestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("connector {0}: {1}")]
    InvalidConnector(String, String),
}

impl KeyRequestError {
    pub fn name(&self) -> ErrorName {
        match self {
            Self::Store(e) if e.retryable => ErrorName::StoreThrottled,
            Self::Store(_) => ErrorName::StoreUnavailable,
            Self::InvalidConnector(..) => ErrorName::InvalidConnector,
        }
    }
}

async fn connector<L: ConnectorLookup>(
    lookup: &L,
    id: &ConnectorId,
    now: OffsetDateTime,
) -> Result<Connector, KeyRequestError> {
    load_connector(lookup, id, now).await.map_err(|e| match e {
        LoadError::Store(e) => KeyRequestError::Store(e),
        other => KeyRequestError::InvalidConnector(id.to_string(), other.to_string()),
    })
}

/// What the owner does, step by step, for this kind of key and consumer.
fn instructions(c: &Connector) -> String {
    let vendor = vendor_name(c);
    let check = format!(
        "keyturn checks it against {vendor} first (a key {vendor} refuses is not kept, and the same link takes the \
         right one)"
    );
    // Okta takes these apps' tokens only in its Admin Console (docs/vendors.md):
    // the owner, who holds the key, sets it there before handing it over.
    let okta = match &c.idp {
        IdpBinding::Okta { app_id } => Some(format!(
            "Also paste the new key into Okta before you submit it here: Okta Admin Console > Applications > the \
             app {app_id} > Provisioning > Integration > API token, then Save. Okta takes this app's token only \
             there; keyturn then verifies provisioning through Okta.\n"
        )),
        _ => None,
    };
    match c.kind {
        ConnectorKind::AtlassianApiKey => format!(
            "1. In admin.atlassian.com (org {}), open Settings > API keys and create a new organization API key \
             (Atlassian offers no API that creates one).\n\
             2. Paste the new key into keyturn's form (the link below). {check}, stores it in Secrets Manager and \
             verifies it.\n\
             3. The old key stays valid until the new one is verified; keyturn then revokes it. If the new key fails, \
             the old one stays current and you will be asked to revoke the new one.\n",
            c.org
        ),
        // The procedure table never hands these over: keyturn makes the secret.
        ConnectorKind::EntraAppSecret | ConnectorKind::OktaClientSecret => format!(
            "Nothing to create by hand: keyturn adds the new {} itself, verifies it and then retires the old one.\n",
            key_noun(c.kind)
        ),
        // `scim-token` and its Atlassian preset: one hand-over.
        ConnectorKind::AtlassianScim | ConnectorKind::ScimToken | ConnectorKind::GenericHttp => {
            let then = match &c.idp {
                IdpBinding::Entra { .. } => "pushes it to entra and verifies provisioning",
                IdpBinding::Okta { .. } => "verifies provisioning through okta",
                IdpBinding::None => "verifies it",
            };
            let ready = if old_key_survives(c) {
                "1. The old key keeps working after you generate the new one (this connector's record says so): \
                 keyturn switches provisioning over once the new one is verified; revoke the old one after that.\n"
            } else {
                "1. Be ready: regenerating the key stops provisioning with the old one at once.\n"
            };
            let regenerate = match c.kind {
                ConnectorKind::ScimToken => format!(
                    "2. In {vendor}'s console{} (org {}), regenerate the SCIM provisioning token.\n",
                    c.console_url.as_deref().map(|u| format!(", at {u}")).unwrap_or_default(),
                    c.org,
                ),
                _ => format!(
                    "2. In admin.atlassian.com, open Security > Identity providers, the directory {} (org {}), and \
                     regenerate the SCIM API key.\n",
                    c.directory_id.as_deref().unwrap_or("?"),
                    c.org,
                ),
            };
            let mut text = format!("{ready}{regenerate}");
            if let Some(okta) = &okta {
                text.push_str(&format!("3. {okta}"));
            }
            text.push_str(&format!(
                "{}. Paste the new key into keyturn's form (the link below) right away. {check}, stores it in Secrets \
                 Manager and {then}.\n",
                if okta.is_some() { 4 } else { 3 }
            ));
            text
        }
    }
}

/// What the owner makes: the form's label and the email's subject.
fn key_noun(kind: ConnectorKind) -> &'static str {
    match kind {
        ConnectorKind::AtlassianApiKey => "organization API key",
        ConnectorKind::AtlassianScim | ConnectorKind::GenericHttp => "SCIM key",
        ConnectorKind::EntraAppSecret | ConnectorKind::OktaClientSecret => "client secret",
        ConnectorKind::ScimToken => "SCIM token",
    }
}

/// Where the owner makes the key, in the hand-over email's words.
fn console(c: &Connector) -> String {
    match c.kind {
        ConnectorKind::ScimToken => format!("{}'s console", vendor_name(c)),
        _ => "the Atlassian admin console".into(),
    }
}

/// A hand-over to ask an owner for.
#[derive(Clone, Copy)]
pub(crate) struct HandOver<'a> {
    /// The approval-callback URL the link points to.
    pub url: &'a str,
    pub change: &'a ChangeId,
    pub connector: &'a Connector,
    pub owner: &'a Approver,
    /// When the hand-over (and so the link) ends.
    pub expires: OffsetDateTime,
}

/// Emails the owner a hand-over link of their own. `reminder` (e.g. `7 days
/// before the key expires`) marks a reminder of a request already made: the
/// scan sends fresh links this way.
pub(crate) async fn ask_owner<K: SigningKeys, M: Mailer>(
    keys: &K,
    mailer: &M,
    ask: &HandOver<'_>,
    reminder: Option<&str>,
) -> Result<(), StoreError> {
    let HandOver { url: approval_url, change, connector: c, owner, expires } = *ask;
    let claims = LinkClaims {
        change_id: change.clone(),
        approver: owner.clone(),
        decision: Decision::Intake,
        expires_at: expires,
        nonce: Nonce::random(),
        connector: Some(c.id.clone()),
    };
    let url = link(approval_url, keys.keyring().await?.sign(&claims).as_str());
    let mut subject = format!("Action needed: a new {} for {} ({change})", key_noun(c.kind), c.id);
    let made = if c.kind == ConnectorKind::AtlassianApiKey { "created" } else { "regenerated" };
    let mut intro = format!(
        "Change {change} was approved. The key of {} can only be {made} in {}, and you own it.",
        c.id,
        console(c)
    );
    if let Some(r) = reminder {
        subject = format!("Reminder ({r}): {subject}");
        intro = format!("REMINDER: keyturn still waits for this key ({r}). {intro}");
    }
    let text = format!(
        "{intro}\n\n{}\nHand over the key here: {url}\n\nThe link is yours alone and expires at {}.\n",
        instructions(c),
        format_utc(expires)
    );
    let html = page(
        &subject,
        &format!(
            "<h1>{}</h1><p>{}</p><pre style=\"white-space:pre-wrap\">{}</pre>\
             <p><a href=\"{}\">Hand over the new key</a></p><p class=\"note\">The link is yours alone and expires at {}.</p>",
            esc(&subject),
            esc(&intro),
            esc(&instructions(c)),
            esc(&url),
            esc(&format_utc(expires))
        ),
    );
    mailer.send(&Email { to: vec![owner.clone()], subject, text, html }).await?;
    Ok(())
}

/// `request-key`: asks the owner for the new key.
pub async fn request_key<A: Adapters>(
    ports: &A,
    approval_url: &str,
    default_timeout: Duration,
    input: &KeyRequest,
    now: OffsetDateTime,
) -> Result<KeyRequestReport, KeyRequestError> {
    let item = &input.item;
    let c = connector(ports.connectors(), &item.connector_id, now).await?;
    let owner = Approver::parse(&c.owner)
        .map_err(|e| KeyRequestError::InvalidConnector(c.id.to_string(), format!("owner: {e}")))?;
    let expires = now + input.intake_timeout_seconds.map_or(default_timeout, |s| Duration::seconds(i64::from(s)));
    ports.intake().put_intake(&item.change_id, &item.connector_id, &input.task_token, now, expires).await?;
    let ask = HandOver { url: approval_url, change: &item.change_id, connector: &c, owner: &owner, expires };
    ask_owner(ports.keys(), ports.mailer(), &ask, None).await?;
    let mut ev = NewAuditEvent::new(c.id.clone(), EventKind::KeyRequested, now, "keyturn:request-key")
        .change(&item.change_id)
        .detail("owner", owner.to_string())
        .detail("link_expires_at", format_utc(expires));
    ev.execution_arn = Some(item.execution_arn.clone());
    ports.audit().append(ev).await?;
    Ok(KeyRequestReport {
        connector_id: c.id.to_string(),
        owner: owner.to_string(),
        link_expires_at: format_utc(expires),
    })
}

/// Shortest and longest key accepted: anything else is a paste gone wrong.
const KEY_LEN: std::ops::RangeInclusive<usize> = 16..=4096;

fn plausible(key: &str) -> bool {
    KEY_LEN.contains(&key.len()) && !key.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The owner waits for the check, and the page's Lambda has 30 s: a few quick
/// tries, then the key is taken unchecked (the pre-flight retries longer).
const CHECK_WHILE_WAITING: RetryPolicy = RetryPolicy {
    attempts: 3,
    base: std::time::Duration::from_millis(300),
    max_delay: std::time::Duration::from_secs(2),
    deadline: std::time::Duration::from_secs(8),
};

/// Who answers for the key, in the owner's words: a `scim-token`'s
/// `vendor` label when it has one.
fn vendor_name(c: &Connector) -> String {
    match c.kind {
        ConnectorKind::AtlassianScim | ConnectorKind::AtlassianApiKey => "Atlassian".into(),
        ConnectorKind::ScimToken => c.vendor.clone().unwrap_or_else(|| "the vendor".into()),
        ConnectorKind::GenericHttp => "the vendor".into(),
        ConnectorKind::EntraAppSecret => "Microsoft Entra".into(),
        ConnectorKind::OktaClientSecret => "Okta".into(),
    }
}

/// The intake form (GET) and the hand-over (POST). `claims` are verified.
pub async fn handle<A: Adapters>(
    ports: &A,
    claims: &LinkClaims,
    post: Option<Option<&SecretValue>>,
    token: &str,
    now: OffsetDateTime,
) -> Result<Page, StoreError> {
    let Some(connector_id) = &claims.connector else {
        return Ok(Page::new(400, "malformed", "This link is damaged", "<p>The link names no connector.</p>"));
    };
    let Some(task) = ports.intake().intake_token(&claims.change_id, connector_id).await? else {
        return Ok(Page::new(
            409,
            "already_decided",
            "Nothing to hand over",
            "<p>keyturn is not waiting for this key (it was handed over already, or the change ended). Nothing was \
             stored.</p>",
        ));
    };
    let c = match connector(ports.connectors(), connector_id, now).await {
        Ok(c) => c,
        Err(KeyRequestError::Store(e)) => return Err(e),
        Err(e) => {
            return Ok(Page::new(
                409,
                "invalid_connector",
                "This connector changed",
                &format!("<p>{}</p>", esc(&e.to_string())),
            ))
        }
    };
    let Some(key) = post else {
        let body = format!(
            "<p>You are <strong>{}</strong>, owner of <strong>{}</strong> (change <code>{}</code>).</p>\
             <pre style=\"white-space:pre-wrap\">{}</pre>\
             <form method=\"post\" autocomplete=\"off\"><input type=\"hidden\" name=\"t\" value=\"{}\">\
             <p><label for=\"key\">New {noun}</label><br>\
             <input type=\"password\" id=\"key\" name=\"key\" required minlength=\"16\" maxlength=\"4096\" \
             autocomplete=\"off\" spellcheck=\"false\" style=\"width:100%;font-size:1rem;padding:.4rem\"></p>\
             <button type=\"submit\" class=\"approve\" name=\"decision\" value=\"intake\" data-decision=\"intake\">Hand over the key</button></form>\
             <p class=\"note\">keyturn first checks the key with {vendor}; a key {vendor} refuses is not stored and \
             this link stays usable until {}. An accepted key goes straight into Secrets Manager; keyturn never \
             shows or logs it.</p>",
            esc(claims.approver.as_str()),
            esc(c.id.as_str()),
            esc(claims.change_id.as_str()),
            esc(&instructions(&c)),
            esc(token),
            esc(&format_utc(claims.expires_at)),
            vendor = esc(&vendor_name(&c)),
            noun = key_noun(c.kind),
        );
        return Ok(Page::new(200, "intake_form", &format!("Hand over the new key for {}", c.id), &body));
    };
    let Some(key) = key.filter(|k| plausible(k.expose())) else {
        // Never echo what was pasted.
        return Ok(Page::new(
            400,
            "bad_key",
            "That does not look like an API key",
            "<p>Paste the whole key, without spaces or line breaks (16 to 4096 characters). Nothing was stored; use \
             your link again.</p>",
        ));
    };
    // The vendor's word on the key while its owner waits: a refused key is
    // never stored, and the hand-over stays open for another paste.
    let candidate = StoredKey::new(key.clone());
    let vendor = vendor_name(&c);
    let (checked, _) = retry(&CHECK_WHILE_WAITING, || ports.vendor().probe(&c, &candidate)).await;
    let checked = match checked {
        Ok(()) => format!("{vendor} accepted it"),
        Err(e @ (VendorError::Unauthorized { .. } | VendorError::Rejected { .. })) => {
            let mut ev =
                NewAuditEvent::new(c.id.clone(), EventKind::KeyRefused, now, format!("owner:{}", claims.approver))
                    .change(&claims.change_id)
                    .detail("fingerprint", key.fingerprint())
                    .detail("vendor_answer", e.to_string());
            ev.correlation_id = Some(format!("{}/{}", claims.change_id, c.id));
            ports.audit().append(ev).await?;
            return Ok(refused_page(&c, &vendor, &e, claims.expires_at));
        }
        // No answer is no verdict: the key is kept, and the pre-flight (which
        // retries for longer) decides before anything uses it.
        Err(e) => format!("{vendor} could not be asked just now ({e}); keyturn checks it again before using it"),
    };
    if !ports.intake().close_intake(&claims.change_id, connector_id, now).await? {
        return Ok(Page::new(
            409,
            "already_decided",
            "Already handed over",
            "<p>This key was handed over already.</p>",
        ));
    }
    let version = ports
        .secrets()
        .put_pending(&c.secret_arn, &version_token(&claims.change_id, connector_id), &StoredKey::new(key.clone()))
        .await?;
    let mut ev = NewAuditEvent::new(c.id.clone(), EventKind::PendingStored, now, format!("owner:{}", claims.approver))
        .change(&claims.change_id)
        .detail("new_version", version.clone())
        .detail("new_fingerprint", key.fingerprint())
        .detail("source", "human_intake")
        .detail("checked", checked.clone());
    ev.correlation_id = Some(format!("{}/{}", claims.change_id, c.id));
    ports.audit().append(ev).await?;
    match ports.tasks().succeed(&task, &json!({"pending_version": version})).await? {
        Delivery::Delivered => Ok(Page::new(
            200,
            "key_received",
            "Key received",
            &format!(
                "<p class=\"status\">Thank you. {}. The new key for <strong>{}</strong> is stored (fingerprint {}). \
                 keyturn is now switching provisioning over; you will hear the outcome.</p>",
                esc(&checked),
                esc(c.id.as_str()),
                esc(&key.fingerprint())
            ),
        )),
        Delivery::TaskGone => Ok(Page::new(
            410,
            "expired",
            "The hand-over period ended",
            "<p>The workflow stopped waiting before the key arrived; the key was stored but will not be used. On-call \
             has been told about the change.</p>",
        )),
    }
}

/// The answer to a key the vendor refused: what it said, what to do, and
/// that the link still works. Never the key.
fn refused_page(c: &Connector, vendor: &str, e: &VendorError, expires: OffsetDateTime) -> Page {
    let again = format!("Nothing was stored. Use this link again (it works until {}).", format_utc(expires));
    let made = if c.kind == ConnectorKind::AtlassianApiKey { "created" } else { "regenerated" };
    // A `scim-token`'s vendor label comes from the inventory: escaped in the body.
    let v = esc(vendor);
    // What else could be wrong: the connector's address of the key at the vendor.
    let place = match c.kind {
        ConnectorKind::AtlassianApiKey => format!("org {}", c.org),
        ConnectorKind::ScimToken => format!("scim_base {}", c.scim_base.as_deref().unwrap_or("?")),
        _ => format!("directory {}", c.directory_id.as_deref().unwrap_or("?")),
    };
    match e {
        VendorError::Unauthorized { status, .. } => Page::new(
            422,
            "key_refused",
            &format!("This key is refused by {vendor}"),
            &format!(
                "<p class=\"status\">This key is refused by {v} ({status}): paste the key you just {made} \
                 for <strong>{}</strong>.</p><p>{}</p>",
                esc(c.id.as_str()),
                esc(&again)
            ),
        ),
        other => Page::new(
            422,
            "key_refused",
            &format!("{vendor} did not accept this key"),
            &format!(
                "<p class=\"status\">{v} did not accept this key for <strong>{}</strong> ({}). If it is the \
                 key you just {made}, the connector's {} may be wrong: tell on-call.</p>\
                 <p>{}</p>",
                esc(c.id.as_str()),
                esc(&other.to_string()),
                esc(&place),
                esc(&again)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{record, Fakes, VendorMood};
    use keyturn_domain::approval::{Approver, Decision, LinkClaims, Nonce};

    const NOW: OffsetDateTime = time::macros::datetime!(2026-11-24 09:00 UTC);
    const FRESH: &str = "atst-fresh-key-just-regenerated-0123";
    const WRONG: &str = "atst-wrong-key-pasted-by-mistake-9876";

    fn claims() -> LinkClaims {
        LinkClaims {
            change_id: ChangeId::from_trusted("chg-20261124-00000000000000aa"),
            approver: Approver::parse("owner@acme.example").unwrap(),
            decision: Decision::Intake,
            expires_at: NOW + Duration::hours(24),
            nonce: Nonce::random(),
            connector: Some(ConnectorId::parse("acme/scim").unwrap()),
        }
    }

    async fn waiting() -> Fakes {
        let f = Fakes::new(record("acme/scim", "atlassian-scim", &[]), "atst-old-key-dead-now-5555");
        f.accept(FRESH);
        let c = claims();
        let t = crate::approval::TaskToken::new("task-token");
        f.put_intake(&c.change_id, c.connector.as_ref().unwrap(), &t, NOW, NOW + Duration::hours(24)).await.unwrap();
        f
    }

    async fn paste(f: &Fakes, key: &str) -> Page {
        let key = SecretValue::new(key);
        handle(f, &claims(), Some(Some(&key)), "signed-link-token", NOW).await.unwrap()
    }

    fn stored_versions(f: &Fakes) -> usize {
        f.versions.lock().unwrap().len()
    }

    /// Issue 20 item 8: a wrong paste is refused at once with what Atlassian
    /// said, stored nowhere, and the same link takes the right key after it.
    #[tokio::test]
    async fn a_refused_paste_is_not_stored_and_the_link_stays_usable() {
        let f = waiting().await;
        let page = paste(&f, WRONG).await;
        assert_eq!((page.status, page.outcome), (422, "key_refused"), "{}", page.html);
        assert!(
            page.html.contains("This key is refused by Atlassian (401): paste the key you just regenerated"),
            "{}",
            page.html
        );
        assert!(page.html.contains("Use this link again"), "{}", page.html);
        assert_eq!(stored_versions(&f), 1, "a refused key is never a Secrets Manager version");
        assert!(f.delivered.lock().unwrap().is_empty(), "the workflow still waits");
        let refused = f.events().into_iter().find(|e| e.event == "key_refused").expect("audited");
        assert_eq!(refused.detail["fingerprint"], SecretValue::new(WRONG).fingerprint());
        assert!(refused.detail["vendor_answer"].contains("401"), "{:?}", refused.detail);

        let page = paste(&f, FRESH).await;
        assert_eq!((page.status, page.outcome), (200, "key_received"), "{}", page.html);
        assert!(page.html.contains("Atlassian accepted it"), "{}", page.html);
        assert_eq!(stored_versions(&f), 2);
        assert_eq!(f.delivered.lock().unwrap().len(), 1, "the workflow resumes once");
        let stored = f.events().into_iter().find(|e| e.event == "pending_stored").unwrap();
        assert_eq!(stored.detail["checked"], "Atlassian accepted it");

        // An accepted key uses the link up.
        let again = paste(&f, FRESH).await;
        assert_eq!(again.status, 409, "{}", again.html);
        assert_eq!(stored_versions(&f), 2);

        for page in [&paste(&f, WRONG).await, &again] {
            assert!(!page.html.contains(FRESH) && !page.html.contains(WRONG), "no page shows a key");
        }
        let said = f.everything_said();
        assert!(!said.contains(FRESH) && !said.contains(WRONG), "no audit item, message or task output holds a key");
    }

    /// An answer that is not a 401 (an unknown directory) is refused too,
    /// naming the directory, and stores nothing.
    #[tokio::test]
    async fn a_key_the_vendor_rejects_for_another_reason_is_not_stored() {
        let f = waiting().await;
        *f.mood.lock().unwrap() = VendorMood::Rejecting;
        let page = paste(&f, FRESH).await;
        assert_eq!((page.status, page.outcome), (422, "key_refused"), "{}", page.html);
        assert!(page.html.contains("HTTP 404") && page.html.contains("directory d-1"), "{}", page.html);
        assert_eq!(stored_versions(&f), 1);
        assert!(f.intake_token(&claims().change_id, claims().connector.as_ref().unwrap()).await.unwrap().is_some());
    }

    fn connector_of(kind: &str, idp: &[(&str, &str)]) -> Connector {
        let stored = record("acme/k", kind, idp);
        crate::inventory::validate_record(&stored.record, &crate::inventory::ValidationContext::at(NOW))
            .expect("a valid record")
    }

    /// The owner of an org API key is told to create one (there is no API),
    /// that the old key lives on until the new one is verified, and that
    /// keyturn then revokes it; a SCIM key's owner is told to regenerate.
    #[test]
    fn the_instructions_follow_the_kind_of_key() {
        let org = instructions(&connector_of("atlassian-api-key", &[]));
        for said in [
            "create a new organization API key",
            "admin.atlassian.com",
            "The old key stays valid until the new one is verified; keyturn then revokes it",
        ] {
            assert!(org.contains(said), "{said:?} missing: {org}");
        }
        assert!(!org.contains("regenerate") && !org.contains("directory"), "{org}");
        let scim = instructions(&connector_of("atlassian-scim", &[]));
        assert!(scim.contains("regenerate the SCIM API key") && scim.contains("directory d-1"), "{scim}");
        assert!(!scim.contains("Okta"), "{scim}");
    }

    /// Okta takes these apps' tokens only in its console: the owner pastes the
    /// key there too, before submitting it to keyturn.
    #[test]
    fn an_okta_consumed_key_is_also_pasted_into_okta_before_it_is_submitted() {
        let text = instructions(&connector_of("atlassian-scim", &[("idp", "okta"), ("idp_app_id", "0oa-acme")]));
        assert!(
            text.contains("Also paste the new key into Okta before you submit it here")
                && text.contains("the app 0oa-acme > Provisioning > Integration"),
            "{text}"
        );
        let okta = text.find("Okta before you submit").unwrap();
        let submit = text.find("Paste the new key into keyturn's form").unwrap();
        assert!(okta < submit, "Okta first, then keyturn: {text}");
        assert!(!text.contains("pushes it to"), "keyturn does not push to Okta: {text}");
        let entra = instructions(&connector_of(
            "atlassian-scim",
            &[("idp", "entra"), ("idp_app_id", "sp-1"), ("idp_job_id", "job-1")],
        ));
        assert!(entra.contains("pushes it to entra") && !entra.contains("Okta"), "{entra}");
    }

    /// The email and the form name the key the owner makes.
    #[tokio::test]
    async fn the_hand_over_email_and_form_name_an_org_key() {
        let f = Fakes::new(record("acme/scim", "atlassian-api-key", &[]), "old-org-key-1234567");
        let c = claims();
        let t = crate::approval::TaskToken::new("task-token");
        f.put_intake(&c.change_id, c.connector.as_ref().unwrap(), &t, NOW, NOW + Duration::hours(24)).await.unwrap();
        let form = handle(&f, &c, None, "signed-link-token", NOW).await.unwrap();
        assert!(
            form.html.contains("New organization API key") && form.html.contains("create a new organization API key")
        );
        f.accept(FRESH);
        let wrong = handle(&f, &c, Some(Some(&SecretValue::new(WRONG))), "signed-link-token", NOW).await.unwrap();
        assert!(wrong.html.contains("paste the key you just created"), "{}", wrong.html);
    }

    const GITHUB: [(&str, &str); 4] = [
        ("scim_base", "https://api.github.com/scim/v2/enterprises/acme"),
        ("vendor", "GitHub <Enterprise>"),
        ("console_url", "https://github.com/enterprises/acme/settings/security"),
        ("directory_id", ""),
    ];

    fn scim_token(extra: &[(&str, &str)]) -> crate::ports::StoredConnector {
        let mut fields: Vec<(&str, &str)> = GITHUB.iter().filter(|(k, _)| *k != "directory_id").copied().collect();
        fields.extend_from_slice(extra);
        let mut stored = record("acme/scim", "scim-token", &fields);
        stored.record.fields.remove("directory_id");
        stored
    }

    /// A `scim-token` owner is sent to the vendor's console by the name and
    /// address in the record, told whether the old token dies at once, and
    /// hears the vendor's verdict by its name; the label is escaped on pages.
    #[tokio::test]
    async fn a_scim_token_owner_is_sent_to_the_vendor_console_and_told_whether_the_old_token_dies() {
        let f = Fakes::new(scim_token(&[]), "old-github-token-dead-now-5555");
        let c = claims();
        let t = crate::approval::TaskToken::new("task-token");
        f.put_intake(&c.change_id, c.connector.as_ref().unwrap(), &t, NOW, NOW + Duration::hours(24)).await.unwrap();
        let connector = connector_of_stored(&scim_token(&[]));
        let said = instructions(&connector);
        for part in [
            "regenerating the key stops provisioning with the old one at once",
            "In GitHub <Enterprise>'s console, at https://github.com/enterprises/acme/settings/security (org acme), \
             regenerate the SCIM provisioning token",
            "keyturn checks it against GitHub <Enterprise> first",
        ] {
            assert!(said.contains(part), "{part:?} missing: {said}");
        }
        assert!(!said.contains("admin.atlassian.com") && !said.contains("directory"), "{said}");
        let survives = instructions(&connector_of_stored(&scim_token(&[("old_key_survives", "true")])));
        assert!(survives.contains("The old key keeps working after you generate the new one"), "{survives}");
        assert!(!survives.contains("at once"), "{survives}");

        // The hand-over email's words (its signing needs real keys: the e2e test reads it).
        assert_eq!(console(&connector), "GitHub <Enterprise>'s console");
        assert_eq!(key_noun(connector.kind), "SCIM token");
        let form = handle(&f, &c, None, "signed-link-token", NOW).await.unwrap();
        assert!(
            form.html.contains("New SCIM token") && form.html.contains("checks the key with GitHub &lt;Enterprise&gt;")
        );
        assert!(!form.html.contains("<Enterprise>"), "{}", form.html);
        f.accept(FRESH);
        let wrong = handle(&f, &c, Some(Some(&SecretValue::new(WRONG))), "signed-link-token", NOW).await.unwrap();
        assert_eq!(wrong.status, 422);
        assert!(wrong.html.contains("This key is refused by GitHub &lt;Enterprise&gt; (401)"), "{}", wrong.html);
        assert!(!wrong.html.contains("<Enterprise>") && !wrong.html.contains(WRONG), "{}", wrong.html);
        let ok = handle(&f, &c, Some(Some(&SecretValue::new(FRESH))), "signed-link-token", NOW).await.unwrap();
        assert!(ok.html.contains("GitHub &lt;Enterprise&gt; accepted it"), "{}", ok.html);
    }

    fn connector_of_stored(stored: &crate::ports::StoredConnector) -> Connector {
        crate::inventory::validate_record(&stored.record, &crate::inventory::ValidationContext::at(NOW))
            .expect("a valid record")
    }

    /// No answer is no verdict: the owner is not sent away, the key is taken
    /// and the pre-flight checks it before anything uses it.
    #[tokio::test]
    async fn a_vendor_that_cannot_answer_does_not_hold_up_the_hand_over() {
        let f = waiting().await;
        *f.mood.lock().unwrap() = VendorMood::Down;
        let page = paste(&f, FRESH).await;
        assert_eq!((page.status, page.outcome), (200, "key_received"), "{}", page.html);
        assert!(page.html.contains("could not be asked just now"), "{}", page.html);
        assert_eq!(f.probes.lock().unwrap().len(), 3, "a few quick tries while the owner waits");
        assert_eq!(f.delivered.lock().unwrap().len(), 1);
    }
}
