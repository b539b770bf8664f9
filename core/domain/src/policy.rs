//! Pure policy: which keys are due, and how due keys are grouped into changes.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::timefmt::day_stamp;
use super::{Change, ChangeId, ChangeItem, ChangeWindow, Connector, ConnectorId};

/// How close to expiry a key must be before keyturn acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuePolicy {
    /// Keys expiring within this window are due (default 45 days).
    pub due_within: Duration,
}

impl Default for DuePolicy {
    fn default() -> Self {
        Self { due_within: Duration::days(45) }
    }
}

/// Where a key stands relative to its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    NotDue,
    /// Expires within the due window.
    Due {
        days_left: i64,
    },
    /// Already expired: provisioning is broken now.
    Urgent {
        days_expired: i64,
    },
}

impl DuePolicy {
    pub fn classify(&self, expires_at: OffsetDateTime, now: OffsetDateTime) -> Urgency {
        if expires_at <= now {
            Urgency::Urgent { days_expired: (now - expires_at).whole_days() }
        } else if expires_at - now <= self.due_within {
            Urgency::Due { days_left: (expires_at - now).whole_days() }
        } else {
            Urgency::NotDue
        }
    }

    /// The latest expiry that is due at `now`: the scanner's query bound.
    pub fn cutoff(&self, now: OffsetDateTime) -> OffsetDateTime {
        now + self.due_within
    }
}

/// How due connectors are batched into changes (one approval each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grouping {
    /// One change per connector.
    Connector,
    /// One change per vendor org and change window.
    #[default]
    Org,
    /// One change per change window (a CAB-style batch across orgs).
    Window,
}

impl Grouping {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "connector" => Some(Self::Connector),
            "org" => Some(Self::Org),
            "window" => Some(Self::Window),
            _ => None,
        }
    }
}

impl fmt::Display for Grouping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connector => "connector",
            Self::Org => "org",
            Self::Window => "window",
        })
    }
}

/// The deterministic id of a change: the same connectors on the same UTC day
/// always give the same id, so a second scanner run finds the same change
/// (and Step Functions refuses a second execution of that name).
///
/// ```
/// use keyturn_domain::{change_id, ConnectorId};
/// use time::macros::datetime;
/// let a = ConnectorId::parse("a").unwrap();
/// let b = ConnectorId::parse("b").unwrap();
/// let day = datetime!(2026-11-24 06:00 UTC);
/// assert_eq!(change_id(&[a.clone(), b.clone()], day), change_id(&[b, a], day));
/// ```
pub fn change_id(connectors: &[ConnectorId], now: OffsetDateTime) -> ChangeId {
    let day = day_stamp(now);
    let mut ids: Vec<&str> = connectors.iter().map(ConnectorId::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut h = Sha256::new();
    h.update(day.as_bytes());
    for id in ids {
        // Ids never contain '\n', so this encoding is unambiguous.
        h.update(b"\n");
        h.update(id.as_bytes());
    }
    let digest = hex::encode(h.finalize());
    ChangeId::from_trusted(format!("chg-{day}-{}", &digest[..16]))
}

/// A connector that the scanner found due, with its urgency.
#[derive(Debug, Clone)]
pub struct DueConnector {
    pub connector: Connector,
    pub urgent: bool,
}

/// Groups due connectors into changes. Urgent (expired) connectors never share
/// a change with merely due ones and ignore change windows: provisioning is
/// already broken, so waiting for a window only prolongs the outage. A change
/// never spans approver groups: one change, one body that approves it.
pub fn group_into_changes(due: &[DueConnector], grouping: Grouping, now: OffsetDateTime) -> Vec<Change> {
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    struct Key {
        urgent: bool,
        approver_group: String,
        org: Option<String>,
        window: Option<ChangeWindow>,
        connector: Option<ConnectorId>,
    }
    let mut groups: BTreeMap<Key, Vec<&DueConnector>> = BTreeMap::new();
    for d in due {
        let c = &d.connector;
        let window = if d.urgent { None } else { c.change_window };
        let key = match grouping {
            Grouping::Connector => (Some(c.org.clone()), Some(c.id.clone())),
            Grouping::Org => (Some(c.org.clone()), None),
            Grouping::Window => (None, None),
        };
        let (org, connector) = key;
        let key = Key { urgent: d.urgent, approver_group: c.approver_group.clone(), org, window, connector };
        groups.entry(key).or_default().push(d);
    }
    let mut changes: Vec<Change> = groups
        .into_iter()
        .filter_map(|(key, members)| {
            let mut ids: Vec<ConnectorId> = members.iter().map(|d| d.connector.id.clone()).collect();
            ids.sort();
            let earliest_expiry = members.iter().map(|d| d.connector.expires_at).min()?;
            let mut items: Vec<ChangeItem> = members
                .iter()
                .map(|d| ChangeItem {
                    connector_id: d.connector.id.clone(),
                    human_intake: crate::procedures::procedure(d.connector.kind).key_source
                        == crate::procedures::KeySource::HumanIntake,
                })
                .collect();
            items.sort_by(|a, b| a.connector_id.cmp(&b.connector_id));
            Some(Change {
                id: change_id(&ids, now),
                connectors: ids,
                urgent: key.urgent,
                approver_group: key.approver_group,
                org: key.org,
                window: key.window,
                earliest_expiry,
                detected_at: now,
                approval_timeout_seconds: None,
                intake_timeout_seconds: None,
                max_concurrency: None,
                items,
            })
        })
        .collect();
    changes.sort_by(|a, b| a.id.cmp(&b.id));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::connector;
    use proptest::prelude::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 06:00 UTC);

    #[test]
    fn classifies_against_the_window() {
        let p = DuePolicy::default();
        assert_eq!(p.classify(NOW + Duration::days(46), NOW), Urgency::NotDue);
        assert_eq!(p.classify(NOW + Duration::days(45), NOW), Urgency::Due { days_left: 45 });
        assert_eq!(p.classify(NOW + Duration::hours(1), NOW), Urgency::Due { days_left: 0 });
        assert_eq!(p.classify(NOW, NOW), Urgency::Urgent { days_expired: 0 });
        assert_eq!(p.classify(NOW - Duration::days(3), NOW), Urgency::Urgent { days_expired: 3 });
        assert_eq!(p.cutoff(NOW), NOW + Duration::days(45));
    }

    fn due(id: &str, org: &str, window: Option<&str>, urgent: bool) -> DueConnector {
        let mut c = connector(id);
        c.org = org.into();
        c.change_window = window.map(|w| w.parse().unwrap());
        DueConnector { connector: c, urgent }
    }

    #[test]
    fn groups_by_org_and_window_keeping_urgent_apart() {
        let items = vec![
            due("a1", "acme", Some("sat 02:00-04:00"), false),
            due("a2", "acme", Some("sat 02:00-04:00"), false),
            due("a3", "acme", None, false),
            due("a4", "acme", Some("sat 02:00-04:00"), true),
            due("b1", "beta", Some("sat 02:00-04:00"), false),
        ];
        let by_org = group_into_changes(&items, Grouping::Org, NOW);
        let sets: Vec<Vec<&str>> = by_org.iter().map(|c| c.connectors.iter().map(|i| i.as_str()).collect()).collect();
        assert_eq!(by_org.len(), 4, "{sets:?}");
        assert!(sets.contains(&vec!["a1", "a2"]));
        assert!(sets.contains(&vec!["a3"]));
        assert!(sets.contains(&vec!["a4"]));
        let urgent = by_org.iter().find(|c| c.urgent).unwrap();
        assert_eq!(urgent.window, None, "urgent changes do not wait for a window");

        let by_window = group_into_changes(&items, Grouping::Window, NOW);
        assert!(by_window.iter().any(|c| c.connectors.len() == 3), "a1, a2 and b1 share the saturday window");
        assert_eq!(group_into_changes(&items, Grouping::Connector, NOW).len(), 5);
    }

    #[test]
    fn change_ids_are_deterministic_per_day_and_set() {
        let ids = |xs: &[&str]| xs.iter().map(|x| ConnectorId::parse(x).unwrap()).collect::<Vec<_>>();
        let a = change_id(&ids(&["x", "y"]), NOW);
        assert_eq!(a, change_id(&ids(&["y", "x"]), NOW + Duration::hours(17)));
        assert_ne!(a, change_id(&ids(&["x", "y"]), NOW + Duration::days(1)));
        assert_ne!(a, change_id(&ids(&["x"]), NOW));
        assert!(a.as_str().starts_with("chg-20261124-"));
        assert_eq!(a.as_str().len(), 4 + 8 + 1 + 16);
    }

    proptest! {
        #[test]
        fn grouping_partitions_the_due_set(
            specs in proptest::collection::vec((0usize..3, 0usize..3, any::<bool>()), 0..40),
            mode in prop_oneof![Just(Grouping::Connector), Just(Grouping::Org), Just(Grouping::Window)],
            shuffle_seed in any::<u64>(),
        ) {
            let windows = [None, Some("sat 02:00-04:00"), Some("daily 22:00-23:00")];
            let orgs = ["acme", "beta", "gamma"];
            let mut items: Vec<DueConnector> = specs.iter().enumerate()
                .map(|(i, (o, w, u))| due(&format!("c{i}"), orgs[*o], windows[*w], *u))
                .collect();
            let changes = group_into_changes(&items, mode, NOW);
            // Every due connector lands in exactly one change.
            let mut seen: Vec<&str> = changes.iter().flat_map(|c| c.connectors.iter().map(|i| i.as_str())).collect();
            seen.sort_unstable();
            let mut want: Vec<String> = items.iter().map(|d| d.connector.id.to_string()).collect();
            want.sort_unstable();
            prop_assert_eq!(seen, want.iter().map(String::as_str).collect::<Vec<_>>());
            // Urgency never mixes, and ids are unique.
            for c in &changes {
                let urgent: Vec<bool> = items.iter().filter(|d| c.connectors.contains(&d.connector.id)).map(|d| d.urgent).collect();
                prop_assert!(urgent.iter().all(|u| *u == c.urgent));
            }
            let mut ids: Vec<_> = changes.iter().map(|c| c.id.clone()).collect();
            ids.dedup();
            prop_assert_eq!(ids.len(), changes.len());
            // Input order does not matter.
            let n = items.len();
            if n > 1 { items.rotate_left((shuffle_seed as usize) % n); }
            let again = group_into_changes(&items, mode, NOW);
            prop_assert_eq!(again.iter().map(|c| &c.id).collect::<Vec<_>>(), changes.iter().map(|c| &c.id).collect::<Vec<_>>());
        }
    }
}
