//! The manifest and file check: what is wrong with the export's files
//! themselves (missing, altered, truncated, unlisted, item counts), and its
//! `exportTime` against the digests it holds.

use super::report::{Kind, Problem};
use super::timing::{at_text, unix, WRITE_SKEW};
use crate::export::{Export, FileProblem};

/// The export's file problems: its manifest's, those found reading the data
/// files, and the item count of all `lines` read against the summary's.
pub(super) fn file_problems(export: &Export, mut read: Vec<FileProblem>, lines: u64) -> Vec<Problem> {
    let mut found = export.manifest_problems.clone();
    found.append(&mut read);
    export.check_total(lines, &mut found);
    found.into_iter().map(|p| Problem::new(Kind::File, p.what).with_place(p.place)).collect()
}

/// `exportTime` is AWS's claim, not signed by anyone; it can at least not
/// be earlier than a digest it holds (`newest_signed`: seq, Unix seconds).
pub(super) fn check_export_time(export: &Export, newest_signed: Option<(u64, i64)>, problems: &mut Vec<Problem>) {
    let export_time = &export.summary.export_time;
    if let (Some(export_at), Some((seq, at))) = (unix(export_time), newest_signed) {
        if at > export_at + WRITE_SKEW {
            problems.push(
                Problem::new(
                    Kind::File,
                    format!(
                        "exportTime {export_time:?} is earlier than digest {seq} in the export was signed ({}): the summary was edited",
                        at_text(at)
                    ),
                )
                .with_place("manifest-summary.json"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::fixtures::*;
    use super::super::{kinds, Kind};
    use crate::event_item;
    use crate::export::Export;

    /// The third case: files put beside the listed ones are never
    /// verified, so they are a failure, named.
    #[test]
    fn a_data_file_the_manifest_does_not_list_fails() {
        let tmp = tempfile::tempdir().unwrap();
        export(tmp.path(), 2, true);
        let e = Export::open(tmp.path()).unwrap();
        let forged = chain("acme/scim", 2);
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(e.dir.join("data/forged.json.gz")).unwrap(),
            flate2::Compression::fast(),
        );
        std::io::Write::write_all(
            &mut gz,
            serde_json::to_string(&serde_json::json!({"Item": event_item(&forged[0])})).unwrap().as_bytes(),
        )
        .unwrap();
        gz.finish().unwrap();
        let v = run(tmp.path(), true);
        assert_eq!(kinds(&v), BTreeMap::from([(Kind::File, 1)]), "{:?}", v.problems);
        assert!(
            texts(&v)[0].starts_with("not listed in manifest-files.json")
                && v.problems[0].place.as_deref() == Some("data/forged.json.gz"),
            "{:?}",
            texts(&v)
        );
    }

    #[test]
    fn an_export_time_before_a_digest_it_holds_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        export(tmp.path(), 2, true);
        let summary = e_dir(tmp.path()).join("manifest-summary.json");
        let text = std::fs::read_to_string(&summary).unwrap().replace("2026-11-25T07:00:00Z", "2026-11-20T00:00:00Z");
        std::fs::write(&summary, text).unwrap();
        let v = run(tmp.path(), true);
        assert_eq!(kinds(&v), BTreeMap::from([(Kind::File, 1)]), "{:?}", v.problems);
        assert!(texts(&v)[0].contains("earlier than digest 1 in the export was signed"), "{:?}", texts(&v));
    }
}
