//! What the verifier's tests share: exports made to order and read back.

use std::collections::BTreeMap;
use std::path::Path;

use time::macros::datetime;
use time::OffsetDateTime;

use super::{verify, Options, Verification};
use crate::export::{Attr, Export, ExportWriter, Item};
use crate::{digest_item, event_item};
use keyturn_domain::digest::{AuditSigner, Head, Scope};
use keyturn_domain::{AuditEvent, ConnectorId, EventKind, NewAuditEvent};

pub fn signer() -> AuditSigner {
    AuditSigner::from_hex_seed(&"42".repeat(32)).unwrap()
}

pub fn chain(conn: &str, n: u64) -> Vec<AuditEvent> {
    let id = ConnectorId::parse(conn).unwrap();
    let mut out: Vec<AuditEvent> = Vec::new();
    for i in 0..n {
        let ev = NewAuditEvent::new(id.clone(), EventKind::Detected, datetime!(2026-11-24 06:00 UTC), "scanner")
            .detail("i", i.to_string())
            .seal(out.last().map(AuditEvent::head).as_ref());
        out.push(ev);
    }
    out
}

/// Two chains of `n`; a digest names both heads when `anchored`. Three
/// items per data file, so the parallel pass has several files to share.
pub fn export(dir: &Path, n: u64, anchored: bool) {
    let mut w =
        ExportWriter::create(dir, "e1", "arn:aws:dynamodb:us-east-1:1:table/keyturn-audit", "2026-11-25T07:00:00Z")
            .unwrap()
            .items_per_file(3);
    let mut heads = BTreeMap::new();
    for conn in ["acme/scim", "globex/api"] {
        let c = chain(conn, n);
        heads.insert(conn.to_owned(), Head { seq: n, hash: c[c.len() - 1].hash.clone() });
        for ev in c.iter().rev() {
            w.write(&event_item(ev)).unwrap();
        }
    }
    if anchored {
        let d = signer().sign(None, "2026-11-24", Scope::Full, "2026-11-25T06:00:00Z", heads);
        w.write(&digest_item(&d)).unwrap();
    }
    w.finish().unwrap();
}

pub fn run(dir: &Path, pinned: bool) -> Verification {
    let e = Export::open(dir).unwrap();
    let options =
        Options { public_keys: pinned.then(|| signer().public_key_hex()).into_iter().collect(), ..Options::default() };
    verify(&e, &options, |_| {}).unwrap()
}

pub fn run_until(dir: &Path, until: OffsetDateTime) -> Verification {
    let e = Export::open(dir).unwrap();
    let options = Options { public_keys: vec![signer().public_key_hex()], anchored_until: Some(until) };
    verify(&e, &options, |_| {}).unwrap()
}

/// A chain of `n` events of `conn`, one an hour from `start`.
pub fn timed(conn: &str, n: u64, start: OffsetDateTime) -> Vec<AuditEvent> {
    let id = ConnectorId::parse(conn).unwrap();
    let mut out: Vec<AuditEvent> = Vec::new();
    for i in 0..n {
        let ev =
            NewAuditEvent::new(id.clone(), EventKind::Detected, start + time::Duration::hours(i as i64), "scanner")
                .seal(out.last().map(AuditEvent::head).as_ref());
        out.push(ev);
    }
    out
}

pub fn heads_of(chains: &[&[AuditEvent]]) -> BTreeMap<String, Head> {
    chains
        .iter()
        .filter_map(|c| c.last())
        .map(|e| (e.connector_id.to_string(), Head { seq: e.seq, hash: e.hash.clone() }))
        .collect()
}

pub fn write_export(dir: &Path, export_time: &str, items: &[Item]) {
    let mut w = ExportWriter::create(dir, "e1", "arn:aws:dynamodb:us-east-1:1:table/keyturn-audit", export_time)
        .unwrap()
        .items_per_file(3);
    for i in items {
        w.write(i).unwrap();
    }
    w.finish().unwrap();
}

pub fn texts(v: &Verification) -> Vec<String> {
    v.problems.iter().map(ToString::to_string).collect()
}

pub fn s(item: &Item, k: &str) -> String {
    match item.get(k) {
        Some(Attr::S(v)) | Some(Attr::N(v)) => v.clone(),
        _ => String::new(),
    }
}

pub fn is(item: &Item, conn: &str, seq: u64) -> bool {
    s(item, "connector_id") == conn && s(item, "seq") == seq.to_string()
}

pub fn e_dir(root: &Path) -> std::path::PathBuf {
    Export::open(root).unwrap().dir
}
