//! Audit-table items as DynamoDB holds them (and its exports carry): an
//! event or a signed digest, to and from the export's attribute maps.

use std::collections::BTreeMap;

use keyturn_domain::digest::{Digest, Head, Scope, DIGEST_PK};
use keyturn_domain::{AuditEvent, ConnectorId};

use crate::export::{Attr, Item};

/// One audit-table item, as an export holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Event(AuditEvent),
    Digest(Digest),
}

fn take(item: &mut Item, name: &str) -> Result<String, String> {
    match item.remove(name) {
        Some(Attr::S(s)) => Ok(s),
        Some(_) => Err(format!("attribute {name} is not a string")),
        None => Err(format!("attribute {name} is missing")),
    }
}

fn take_optional(item: &mut Item, name: &str) -> Result<Option<String>, String> {
    match item.remove(name) {
        None => Ok(None),
        Some(Attr::S(s)) => Ok(Some(s)),
        Some(_) => Err(format!("attribute {name} is not a string")),
    }
}

fn number(item: &Item, name: &str) -> Result<u64, String> {
    match item.get(name) {
        Some(Attr::N(n)) => n.parse().map_err(|_| format!("attribute {name} = {n:?} is not a whole number")),
        Some(_) => Err(format!("attribute {name} is not a number")),
        None => Err(format!("attribute {name} is missing")),
    }
}

fn take_strings(item: &mut Item, name: &str) -> Result<BTreeMap<String, String>, String> {
    match item.remove(name) {
        None => Ok(BTreeMap::new()),
        Some(Attr::M(m)) => m
            .into_iter()
            .map(|(k, v)| match v {
                Attr::S(s) => Ok((k, s)),
                _ => Err(format!("attribute {name}.{k} is not a string")),
            })
            .collect(),
        Some(_) => Err(format!("attribute {name} is not a map")),
    }
}

/// Reads an export item (taking it apart, so nothing is copied); the error
/// names the attribute at fault.
pub fn entry(mut item: Item) -> Result<Entry, String> {
    let pk = take(&mut item, "connector_id")?;
    if pk == DIGEST_PK {
        let heads = match item.remove("heads") {
            Some(Attr::M(m)) => m
                .into_iter()
                .map(|(conn, h)| match h {
                    Attr::M(mut h) => {
                        let seq = number(&h, "seq")?;
                        Ok((conn, Head { seq, hash: take(&mut h, "hash")? }))
                    }
                    _ => Err(format!("attribute heads.{conn} is not a map")),
                })
                .collect::<Result<_, String>>()?,
            Some(_) => return Err("attribute heads is not a map".into()),
            None => return Err("attribute heads is missing".into()),
        };
        let scope = take(&mut item, "scope")?;
        return Ok(Entry::Digest(Digest {
            seq: number(&item, "seq")?,
            day: take(&mut item, "day")?,
            scope: Scope::parse(&scope).ok_or_else(|| format!("attribute scope = {scope:?} is not full or day"))?,
            at: take(&mut item, "at")?,
            heads,
            prev_hash: take(&mut item, "prev_hash")?,
            hash: take(&mut item, "hash")?,
            public_key: take(&mut item, "public_key")?,
            signature: take(&mut item, "signature")?,
        }));
    }
    Ok(Entry::Event(AuditEvent {
        connector_id: ConnectorId::parse(&pk).map_err(|e| format!("attribute connector_id {e}"))?,
        seq: number(&item, "seq")?,
        at: take(&mut item, "at")?,
        event: take(&mut item, "event")?,
        actor: take(&mut item, "actor")?,
        change_id: take_optional(&mut item, "change_id")?,
        execution_arn: take_optional(&mut item, "execution_arn")?,
        correlation_id: take_optional(&mut item, "correlation_id")?,
        detail: take_strings(&mut item, "detail")?,
        prev_hash: take(&mut item, "prev_hash")?,
        hash: take(&mut item, "hash")?,
    }))
}

/// The item an event is stored as (also what an export holds). `day` is not
/// part of the hash: it only feeds the table's `day-index`, which the daily
/// digest queries.
pub fn event_item(ev: &AuditEvent) -> Item {
    let mut item = Item::new();
    item.insert("connector_id".into(), Attr::S(ev.connector_id.as_str().into()));
    item.insert("seq".into(), Attr::N(ev.seq.to_string()));
    item.insert("at".into(), Attr::S(ev.at.clone()));
    item.insert("day".into(), Attr::S(ev.at.get(..10).unwrap_or_default().into()));
    item.insert("event".into(), Attr::S(ev.event.clone()));
    item.insert("actor".into(), Attr::S(ev.actor.clone()));
    for (k, v) in
        [("change_id", &ev.change_id), ("execution_arn", &ev.execution_arn), ("correlation_id", &ev.correlation_id)]
    {
        if let Some(v) = v {
            item.insert(k.into(), Attr::S(v.clone()));
        }
    }
    item.insert("detail".into(), Attr::M(ev.detail.iter().map(|(k, v)| (k.clone(), Attr::S(v.clone()))).collect()));
    item.insert("prev_hash".into(), Attr::S(ev.prev_hash.clone()));
    item.insert("hash".into(), Attr::S(ev.hash.clone()));
    item
}

/// The item a digest is stored as.
pub fn digest_item(d: &Digest) -> Item {
    let heads = d
        .heads
        .iter()
        .map(|(c, h)| {
            (
                c.clone(),
                Attr::M(BTreeMap::from([
                    ("seq".into(), Attr::N(h.seq.to_string())),
                    ("hash".into(), Attr::S(h.hash.clone())),
                ])),
            )
        })
        .collect();
    BTreeMap::from([
        ("connector_id".into(), Attr::S(DIGEST_PK.into())),
        ("seq".into(), Attr::N(d.seq.to_string())),
        ("day".into(), Attr::S(d.day.clone())),
        ("scope".into(), Attr::S(d.scope.as_str().into())),
        ("at".into(), Attr::S(d.at.clone())),
        ("heads".into(), Attr::M(heads)),
        ("prev_hash".into(), Attr::S(d.prev_hash.clone())),
        ("hash".into(), Attr::S(d.hash.clone())),
        ("public_key".into(), Attr::S(d.public_key.clone())),
        ("signature".into(), Attr::S(d.signature.clone())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyturn_domain::{EventKind, NewAuditEvent};
    use time::macros::datetime;

    #[test]
    fn items_round_trip_and_name_what_is_wrong() {
        let ev = NewAuditEvent::new(
            ConnectorId::parse("a/b").unwrap(),
            EventKind::Approved,
            datetime!(2026-11-24 06:00 UTC),
            "approver:ann@x.example",
        )
        .detail("channel", "email")
        .seal(None);
        let item = event_item(&ev);
        assert_eq!(item.get("day"), Some(&Attr::S("2026-11-24".into())));
        assert_eq!(entry(item.clone()), Ok(Entry::Event(ev)));

        let mut bad = item.clone();
        bad.remove("actor");
        assert_eq!(entry(bad.clone()), Err("attribute actor is missing".into()));
        bad.insert("actor".into(), Attr::N("1".into()));
        assert_eq!(entry(bad.clone()), Err("attribute actor is not a string".into()));
        let mut bad = item;
        bad.insert("seq".into(), Attr::N("-1".into()));
        assert!(entry(bad).unwrap_err().contains("seq"));

        let signer = keyturn_domain::digest::AuditSigner::from_hex_seed(&"11".repeat(32)).unwrap();
        let d = signer.sign(
            None,
            "2026-11-24",
            Scope::Day,
            "2026-11-25T06:00:00Z",
            BTreeMap::from([("a/b".into(), Head { seq: 1, hash: "00".repeat(32) })]),
        );
        assert_eq!(entry(digest_item(&d)), Ok(Entry::Digest(d)));
    }
}
