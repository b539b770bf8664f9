//! Pass 2: only when pass 1 found a broken chain or a digest claim it could
//! not settle, the export is read again to say precisely what is wrong.

use std::collections::{HashMap, HashSet};

use keyturn_domain::digest::DIGEST_PK;

use super::anchor::{Claim, REWRITTEN};
use super::chains::diagnose;
use super::report::{Kind, Problem};
use crate::export::{Export, Place};
use crate::{entry, Entry};

/// Collects the links of the `broken` chains (and diagnoses them) and looks
/// up the events the `pending` claims name. `read` is how many items pass 1
/// read, for `progress`.
pub(super) fn reread(
    export: &Export,
    broken: &HashSet<String>,
    pending: &HashMap<(String, u64), &Claim>,
    read: u64,
    progress: &mut impl FnMut(u64),
    problems: &mut Vec<Problem>,
) {
    let mut collected: HashMap<String, Vec<(u64, String, String, Place)>> = HashMap::new();
    let mut seen_claims = HashSet::new();
    // Pass 1 has reported the file problems already.
    let mut ignore = Vec::new();
    let mut n = read;
    export.items(&mut ignore, |place, item| {
        n += 1;
        if n.is_multiple_of(4096) {
            progress(n);
        }
        let Ok(parsed) = item.and_then(entry) else { return };
        let (conn, seq, hash, prev) = match parsed {
            Entry::Event(ev) => (ev.connector_id.as_str().to_owned(), ev.seq, ev.hash, ev.prev_hash),
            Entry::Digest(d) => (DIGEST_PK.to_owned(), d.seq, d.hash, d.prev_hash),
        };
        if let Some(claim) = pending.get(&(conn.clone(), seq)) {
            seen_claims.insert((conn.clone(), seq));
            if claim.hash != hash {
                problems.push(claim.problem(Kind::Rewritten, &conn, seq, REWRITTEN).with_place(place));
            }
        }
        if broken.contains(&conn) {
            collected.entry(conn).or_default().push((seq, hash, prev, place.clone()));
        }
    });
    for ((conn, seq), claim) in pending {
        if !seen_claims.contains(&(conn.clone(), *seq)) {
            let what = "names this event, but the export does not hold it";
            problems.push(claim.problem(Kind::MissingNewest, conn, *seq, what));
        }
    }
    let mut names: Vec<_> = collected.into_iter().collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for (conn, mut links) in names {
        links.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.3.to_string().cmp(&b.3.to_string())));
        diagnose(&conn, &links, problems);
    }
}
