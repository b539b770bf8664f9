//! Verifies every chain and digest of an export, in two streaming passes.
//!
//! Exports are unordered, so a chain cannot be walked as it is read. Pass 1
//! instead keeps a few numbers per chain (memory grows with the number of
//! connectors, not of events): the count, the highest `seq` and its hash,
//! and three keyed sums (SipHash, random keys per run, 128 bits):
//!
//! - over `seq` of every event — equal to the sum over `1..=max` exactly when
//!   (with count = max) every sequence number is there once;
//! - over `(seq, hash)` of every event ("links offered"), and
//! - over `(seq - 1, prev_hash)` of every event after the first ("links used").
//!
//! A chain is intact exactly when its numbers cover `1..=max`, the first
//! event starts from the genesis hash, every event's hash matches its content,
//! and the links offered minus the head's equal the links used. Only chains
//! that fail (and digest claims that need an older event) are read again in
//! pass 2, to say precisely what is wrong: which `seq` is missing, doubled,
//! edited or linked to the wrong predecessor.
//!
//! Digests are checked as they stream by (hash, Ed25519 signature, their own
//! chain); for each connector the highest head any digest names must be in
//! the export with that exact hash, which catches dropped newest events and
//! chains rewritten with recomputed hashes.
//!
//! Time: pass 1 also keeps each event's `(seq, at)` (8 bytes an event), so
//! that once every digest is known each event can be held to the digests
//! signed after it was written. A digest names every chain's head (`full`) or
//! the head of every chain that grew on its day (`day`); an event it does not
//! cover must have been written after it, so it cannot be dated before it
//! (less [`WRITE_SKEW`]). A chain no digest names with events dated before
//! one is **fabricated**; an event after the head a digest names, dated
//! before that digest, is **backdated**; events newer than the newest digest
//! are **unanchored** (legitimate, reported, and refused before
//! [`Options::anchored_until`]).
//!
//! One seam a file: `chains` (the per-chain numbers and the diagnosis of a
//! broken chain), `pass1` and `pass2` (the two reads), `anchor` (digests,
//! the heads they name, how far they anchor), `timing` (events held to the
//! digests signed after them), `files` (manifest, data files, exportTime)
//! and `report` (the problems and the answer). [`verify`] puts them in order.

mod anchor;
mod chains;
mod files;
#[cfg(test)]
mod fixtures;
mod pass1;
mod pass2;
mod report;
#[cfg(test)]
mod rotated_keys;
mod timing;

use time::OffsetDateTime;

use crate::export::Export;
use keyturn_domain::digest::DIGEST_PK;
use keyturn_domain::signing_keys::TrustedKey;

pub use report::{kinds, summary_line, Kind, Problem, Verification};
pub use timing::WRITE_SKEW;

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The digest signers' public keys as the auditor received them from
    /// keyturn's operators (`keyturn audit public-key`): each `HEX` or
    /// `HEX@FROM..UNTIL` (a retired key, with its validity), several in one
    /// value separated by white space. A digest must be signed by one of
    /// them, within its validity. Without any, digests are checked against
    /// the key they name, which proves consistency, not authenticity.
    pub public_keys: Vec<String>,
    /// Refuse the export unless its digests anchor every chain up to this
    /// time (`--require-anchored-until`): removing the newest digests and
    /// then rewriting what only they covered is otherwise indistinguishable
    /// from a table whose newest events are simply not anchored yet.
    pub anchored_until: Option<OffsetDateTime>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("--public-key {0}")]
    PublicKey(String),
}

/// The keys given, each once (the same key given twice must say the same).
fn trusted_keys(given: &[String]) -> Result<Vec<TrustedKey>, VerifyError> {
    let mut keys: Vec<TrustedKey> = Vec::new();
    for raw in given.iter().flat_map(|g| g.split_whitespace()) {
        let k = TrustedKey::parse(raw).map_err(|e| VerifyError::PublicKey(format!("{raw:?}: {e}")))?;
        match keys.iter().find(|t| t.key == k.key) {
            Some(t) if *t != k => {
                return Err(VerifyError::PublicKey(format!("{} is given twice with different validity", k.hex())))
            }
            Some(_) => {}
            None => keys.push(k),
        }
    }
    Ok(keys)
}

/// Verifies `export`. `progress` is called with the number of items read so far
/// (both passes count).
pub fn verify(export: &Export, options: &Options, mut progress: impl FnMut(u64)) -> Result<Verification, VerifyError> {
    let pinned = trusted_keys(&options.public_keys)?;
    let sums = chains::Sums::new();
    let pass1::Pass1 {
        mut chains,
        claims,
        mut problems,
        file_problems,
        items,
        events,
        digests,
        lines,
        newest_digest,
        signers,
        mut valid_digests,
        mut named,
        mut signed_by,
    } = pass1::read(export, &sums, &pinned, &mut progress);

    // A key that signs again after its successor took over is not trusted
    // for those digests (they anchor nothing).
    let replayed = anchor::check_key_order(&mut signed_by, &mut problems);
    valid_digests.retain(|d| !replayed.contains(&d.seq));
    for n in named.values_mut() {
        n.retain(|(seq, _)| !replayed.contains(seq));
    }

    let timing = timing::time_checks(&mut chains, valid_digests, &named);
    problems.extend(timing.problems);
    problems.extend(files::file_problems(export, file_problems, lines));
    let key = anchor::digest_key(&pinned, signers, &signed_by);
    let broken = chains::broken(&chains, &sums);
    let pending = anchor::check_claims(&claims, &chains, &mut problems);
    if !broken.is_empty() || !pending.is_empty() {
        pass2::reread(export, &broken, &pending, items, &mut progress, &mut problems);
    }
    progress(items);
    anchor::check_anchored(events, digests, timing.anchored_through, options.anchored_until, &mut problems);
    files::check_export_time(export, timing.newest_signed, &mut problems);
    report::sort(&mut problems);

    let mut v = Verification {
        export_time: export.summary.export_time.clone(),
        items,
        events,
        digests,
        connectors: chains.iter().filter(|(k, c)| k.as_str() != DIGEST_PK && c.count > 0).count(),
        digest_key: key,
        digest_keys: anchor::keys_in_order(&signed_by),
        key_pinned: !pinned.is_empty(),
        newest_digest_day: newest_digest.map(|(_, d, _)| d),
        anchored_through: timing.anchored_through.map(timing::at_text),
        unanchored_events: timing.unanchored_events,
        unanchored_chains: timing.unanchored_chains,
        problems,
        notes: Vec::new(),
    };
    v.notes = report::notes(&v);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;

    #[test]
    fn an_intact_export_verifies() {
        let tmp = tempfile::tempdir().unwrap();
        export(tmp.path(), 5, true);
        let v = run(tmp.path(), true);
        assert!(v.intact(), "{:?}", v.problems);
        assert_eq!((v.items, v.events, v.digests, v.connectors), (11, 10, 1, 2));
        assert!(v.key_pinned);
    }
}
