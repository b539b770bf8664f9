//! Writing the daily signed digests (see [`super::digest`]).

use serde::Serialize;
use time::{Date, Duration, OffsetDateTime};

use crate::ports::{AuditKeys, DigestStore, StoreError};
use keyturn_domain::digest::Scope;
use keyturn_domain::timefmt::format_utc;

/// At most this many days are anchored per run; a longer outage catches up
/// over the following runs.
pub const MAX_DAYS_PER_RUN: i64 = 31;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AnchorReport {
    /// (digest seq, day, chains named), per digest written.
    pub written: Vec<(u64, String, usize)>,
    /// The newest day anchored after this run.
    pub through: Option<String>,
}

impl AnchorReport {
    pub fn is_empty(&self) -> bool {
        self.written.is_empty() && self.through.is_none()
    }
}

fn day_of(t: OffsetDateTime) -> String {
    format_utc(t).get(..10).unwrap_or_default().to_owned()
}

fn parse_day(day: &str) -> Option<Date> {
    Date::parse(day, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// Anchors every finished UTC day not yet anchored, up to yesterday. The
/// first digest of a table names every chain's head (one full read); later
/// ones name the chains that grew that day. Safe to run twice: a digest is
/// only written under a `seq` nobody has taken.
pub async fn anchor<S: DigestStore, K: AuditKeys>(
    store: &S,
    keys: &K,
    now: OffsetDateTime,
) -> Result<AnchorReport, StoreError> {
    let yesterday = (now - Duration::days(1)).date();
    let mut report = AnchorReport::default();
    let mut last = store.last_digest().await?;
    let first_day = match &last {
        None => yesterday,
        Some(d) => match parse_day(&d.day) {
            Some(day) => day + Duration::days(1),
            None => {
                return Err(StoreError {
                    service: "dynamodb",
                    operation: "Query",
                    message: format!("the newest digest (seq {}) has day {:?}, not YYYY-MM-DD", d.seq, d.day),
                    retryable: false,
                })
            }
        },
    };
    report.through = last.as_ref().map(|d| d.day.clone());
    if first_day > yesterday {
        return Ok(report);
    }
    let signer = keys.signer().await?;
    let at = format_utc(now);
    let mut day = first_day;
    let last_day = yesterday.min(first_day + Duration::days(MAX_DAYS_PER_RUN - 1));
    while day <= last_day {
        let name = day_of(day.midnight().assume_utc());
        let (scope, heads) = match last {
            None => (Scope::Full, store.all_heads().await?),
            Some(_) => (Scope::Day, store.day_heads(&name).await?),
        };
        for digest in signer.sign_all(last.as_ref(), &name, scope, &at, heads) {
            if !store.put_digest(&digest).await? {
                // Another run anchored this seq first; it carries on from here.
                return Ok(report);
            }
            report.written.push((digest.seq, name.clone(), digest.heads.len()));
            last = Some(digest);
        }
        report.through = Some(name);
        day += Duration::days(1);
    }
    Ok(report)
}

/// Writes one full digest now: every chain's head as of this moment (a full
/// read of the table). For handing an export to auditors with nothing left
/// unanchored. Daily digests carry on after it as before: its `day` is
/// yesterday, so today is still anchored by tomorrow's run.
pub async fn anchor_all<S: DigestStore, K: AuditKeys>(
    store: &S,
    keys: &K,
    now: OffsetDateTime,
) -> Result<AnchorReport, StoreError> {
    let signer = keys.signer().await?;
    let day = day_of(now - Duration::days(1));
    'attempt: for _ in 0..3 {
        let last = store.last_digest().await?;
        // Never move the daily anchoring backwards.
        let day = last.as_ref().map_or(day.clone(), |d| d.day.clone().max(day.clone()));
        let mut written = Vec::new();
        for digest in signer.sign_all(last.as_ref(), &day, Scope::Full, &format_utc(now), store.all_heads().await?) {
            if !store.put_digest(&digest).await? {
                if written.is_empty() {
                    continue 'attempt;
                }
                break;
            }
            written.push((digest.seq, day.clone(), digest.heads.len()));
        }
        return Ok(AnchorReport { written, through: Some(day) });
    }
    Err(StoreError {
        service: "dynamodb",
        operation: "PutItem",
        message: "three other digests were written while this one was being made; try again".into(),
        retryable: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyturn_domain::digest::{AuditSigner, Digest, Head};
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use time::macros::datetime;

    #[derive(Default)]
    struct Mem {
        digests: Mutex<Vec<Digest>>,
        full_reads: Mutex<u32>,
    }

    impl DigestStore for Mem {
        async fn last_digest(&self) -> Result<Option<Digest>, StoreError> {
            Ok(self.digests.lock().unwrap().last().cloned())
        }
        async fn day_heads(&self, day: &str) -> Result<BTreeMap<String, Head>, StoreError> {
            Ok(BTreeMap::from([(format!("c/{day}"), Head { seq: 1, hash: "00".repeat(32) })]))
        }
        async fn all_heads(&self) -> Result<BTreeMap<String, Head>, StoreError> {
            *self.full_reads.lock().unwrap() += 1;
            Ok(BTreeMap::new())
        }
        async fn put_digest(&self, d: &Digest) -> Result<bool, StoreError> {
            let mut all = self.digests.lock().unwrap();
            if all.iter().any(|x| x.seq == d.seq) {
                return Ok(false);
            }
            all.push(d.clone());
            Ok(true)
        }
    }

    impl AuditKeys for Mem {
        async fn signer(&self) -> Result<AuditSigner, StoreError> {
            Ok(AuditSigner::from_hex_seed(&"07".repeat(32)).unwrap())
        }
        async fn published(&self) -> Result<Vec<keyturn_domain::signing_keys::PublishedKey>, StoreError> {
            unimplemented!("anchoring reads only the signer")
        }
        async fn rotate(&self, _: OffsetDateTime) -> Result<keyturn_domain::signing_keys::PublishedKey, StoreError> {
            unimplemented!("anchoring never rotates")
        }
    }

    #[tokio::test]
    async fn anchors_each_finished_day_once_and_catches_up() {
        let m = Mem::default();
        let first = anchor(&m, &m, datetime!(2026-11-25 06:00 UTC)).await.unwrap();
        assert_eq!(first.written, vec![(1, "2026-11-24".into(), 0)], "the first digest is a full one");
        assert_eq!(
            anchor(&m, &m, datetime!(2026-11-25 18:00 UTC)).await.unwrap().written,
            vec![],
            "same day: nothing new"
        );

        let later = anchor(&m, &m, datetime!(2026-11-28 06:00 UTC)).await.unwrap();
        let days: Vec<&str> = later.written.iter().map(|(_, d, _)| d.as_str()).collect();
        assert_eq!(days, ["2026-11-25", "2026-11-26", "2026-11-27"]);
        assert_eq!(later.through.as_deref(), Some("2026-11-27"));
        assert_eq!(*m.full_reads.lock().unwrap(), 1);
        {
            let all = m.digests.lock().unwrap();
            assert!(all.windows(2).all(|w| w[1].prev_hash == w[0].hash && w[1].scope == Scope::Day));
        }

        let full = anchor_all(&m, &m, datetime!(2026-11-28 09:00 UTC)).await.unwrap();
        assert_eq!(full.written, vec![(5, "2026-11-27".into(), 0)]);
        let next = anchor(&m, &m, datetime!(2026-11-29 06:00 UTC)).await.unwrap();
        assert_eq!(next.written, vec![(6, "2026-11-28".into(), 1)], "the day of the full digest is still anchored");
    }
}
