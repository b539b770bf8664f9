//! The hot paths of keyturn's logic, measured by criterion (`make bench`
//! reads the estimates from target/criterion and checks the targets of
//! issue #8). Each group reports throughput in its own unit.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use keyturn_domain::approval::{Approver, Decision, KeyRing, LinkClaims, Nonce, SigningKey};
use keyturn_domain::inventory::StoredConnector;
use keyturn_domain::inventory::{validate_stored, Location, RawRecord};
use keyturn_domain::{
    group_into_changes, ChainHead, ChangeId, ConnectorId, DueConnector, DuePolicy, EventKind, Grouping, NewAuditEvent,
    Urgency,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-24 09:00 UTC);
const CONNECTORS: u64 = 10_000;

/// An inventory of `CONNECTORS` stored items over 50 orgs, one in five due.
fn inventory() -> Vec<StoredConnector> {
    (0..CONNECTORS)
        .map(|i| {
            let days = if i % 5 == 0 { (i % 40) as i64 + 1 } else { 60 + (i % 300) as i64 };
            let id = format!("atlassian/org-{}/scim-{i}", i % 50);
            let fields: BTreeMap<String, String> = [
                ("id", id.as_str()),
                ("kind", "atlassian-api-key"),
                ("org", &format!("org-{}", i % 50)),
                ("idp", "none"),
                ("owner", "ann@acme.example"),
                ("approver_group", "it-change"),
                ("secret_arn", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyturn/k-AbCdEf"),
                ("expires_at", &keyturn_domain::timefmt::format_utc(NOW + Duration::days(days))),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            StoredConnector {
                id: ConnectorId::parse(&id).expect("a valid id"),
                record: RawRecord { location: Location::Item, fields },
                version: 1,
                lease: None,
            }
        })
        .collect()
}

/// Policy evaluation: which keys are due or urgent, grouped into changes.
fn policy(c: &mut Criterion) {
    let stored = inventory();
    let connectors: Vec<_> = stored.iter().filter_map(|s| validate_stored(s, NOW).ok()).collect();
    assert_eq!(connectors.len() as u64, CONNECTORS, "every sample record is valid");
    let policy = DuePolicy::default();
    let mut g = c.benchmark_group("policy");
    g.throughput(Throughput::Elements(CONNECTORS));
    g.bench_function("evaluate", |b| {
        b.iter(|| {
            let due: Vec<DueConnector> = connectors
                .iter()
                .filter_map(|c| match policy.classify(c.expires_at, NOW) {
                    Urgency::NotDue => None,
                    Urgency::Due { .. } => Some(DueConnector { connector: c.clone(), urgent: false }),
                    Urgency::Urgent { .. } => Some(DueConnector { connector: c.clone(), urgent: true }),
                })
                .collect();
            black_box(group_into_changes(&due, Grouping::Org, NOW))
        })
    });
    // What the scanner does per item read: re-validate the stored record first.
    g.bench_function("validate_and_evaluate", |b| {
        b.iter(|| {
            let due: Vec<DueConnector> = stored
                .iter()
                .filter_map(|s| validate_stored(s, NOW).ok())
                .filter(|c| policy.classify(c.expires_at, NOW) != Urgency::NotDue)
                .map(|connector| DueConnector { connector, urgent: false })
                .collect();
            black_box(group_into_changes(&due, Grouping::Org, NOW))
        })
    });
    g.finish();
}

/// Signed-link verification: what every click on an approval link costs.
fn links(c: &mut Criterion) {
    let ring =
        KeyRing { current: SigningKey::from_parts("bench-key", vec![7u8; 32]).expect("a 32-byte key"), previous: None };
    let claims = LinkClaims {
        change_id: ChangeId::parse("chg-20261124-0123456789abcdef").expect("change id"),
        approver: Approver::parse("ana@acme.example").expect("approver"),
        decision: Decision::Approve,
        expires_at: NOW + Duration::days(3),
        nonce: Nonce::random(),
        connector: None,
    };
    let token = ring.sign(&claims);
    let mut g = c.benchmark_group("links");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify", |b| b.iter(|| black_box(ring.verify(black_box(token.as_str()), NOW))));
    g.finish();
}

/// The audit hash chain: sealing events (canonical encoding + SHA-256).
fn chain(c: &mut Criterion) {
    const EVENTS: u64 = 1_000;
    let id = ConnectorId::parse("atlassian/acme/scim").expect("a valid id");
    let change = ChangeId::from_trusted("chg-20261124-0123456789abcdef".to_owned());
    let mut g = c.benchmark_group("audit");
    g.throughput(Throughput::Elements(EVENTS));
    g.bench_function("hash_chain", |b| {
        b.iter_batched(
            || (),
            |()| {
                let mut head: Option<ChainHead> = None;
                for i in 0..EVENTS {
                    let ev = NewAuditEvent::new(id.clone(), EventKind::Verified, NOW, "keyturn:verify")
                        .change(&change)
                        .detail("new_version", format!("v-{i}"))
                        .seal(head.as_ref());
                    head = Some(ev.head());
                }
                black_box(head)
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // Short runs: `make bench` has a budget, and ratios matter more than the last digit.
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = policy, links, chain
}
criterion_main!(benches);
