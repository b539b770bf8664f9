//! The auditor's path for real: a rotation on the local stack, a full digest,
//! an export in DynamoDB's format, `keyturn audit verify` and `query` on it,
//! and every kind of tampering named precisely on copies of that export.

use std::path::{Path, PathBuf};

use keyturn_audit::export::{rewrite, Attr, Export, Item};
use serde_json::Value;

use crate::rotation::{approve_and_finish, template_key_connector};
use crate::workflow::*;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn text(item: &Item, k: &str) -> String {
    match item.get(k) {
        Some(Attr::S(v)) | Some(Attr::N(v)) => v.clone(),
        _ => String::new(),
    }
}

/// `keyturn audit verify --format json`: (exit success, the verification).
fn verify(f: &Flow, dir: &str, key: &str) -> (bool, Value) {
    let out = f.stack.keyturn(&["audit", "verify", dir, "--public-key", key, "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), v["verification"].clone())
}

/// The problems of a verification that concern `connector`, as "kind seq".
fn problems_of(v: &Value, connector: &str) -> Vec<String> {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["connector"] == connector)
        .map(|p| format!("{} {}", p["kind"].as_str().unwrap(), p["seq"]))
        .collect()
}

/// A copy of `export` changed by `edit`, resealed as a careful forger would (fresh MD5s and counts).
fn tampered(f: &Flow, export: &Path, name: &str, edit: impl FnMut(Item) -> Option<Item>) -> String {
    let dir = f.stack.dir.path().join(name);
    copy_dir(export, &dir);
    rewrite(&dir, edit).unwrap();
    dir.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_of_a_real_rotation_verifies_and_every_tampering_is_named() {
    let f = Flow::new("auditx");
    let (_, _, old) = template_key_connector(&f, "old-audit").await;
    let (change, status, _) = approve_and_finish(&f).await;
    assert_eq!(status, "SUCCEEDED");
    let k1 = f.id("k1");
    let chain = f.audit("k1").await;
    let last = chain.last().unwrap().seq;
    assert!(last >= 6, "a whole rotation is in the chain: {:?}", chain.iter().map(|e| &e.event).collect::<Vec<_>>());

    f.stack.ok(&["audit", "anchor", "--full"]);
    let key = f.stack.ok(&["audit", "public-key"]).trim().to_owned();
    assert_eq!(key.len(), 64, "{key}");
    let root: PathBuf = f.stack.dir.path().join("export");
    let out = f.stack.ok(&["audit", "export", "--to", root.to_str().unwrap()]);
    assert!(out.contains("exported"), "{out}");
    let export = Export::open(&root).unwrap().dir;
    let dir = export.display().to_string();

    let (ok, v) = verify(&f, &dir, &key);
    assert!(ok, "the export of the live table is intact: {v}");
    let mut everything = String::new();
    for file in std::fs::read_dir(export.join("data")).unwrap() {
        let mut gz = flate2::read::GzDecoder::new(std::fs::File::open(file.unwrap().path()).unwrap());
        std::io::Read::read_to_string(&mut gz, &mut everything).unwrap();
    }
    assert!(everything.contains(&sha(&old)) && !everything.contains(&old), "fingerprints in the export, never the key");
    assert!(v["digests"].as_u64().unwrap() >= 1 && v["key_pinned"] == true, "{v}");

    // The reports answer who approved, what changed, what failed.
    let approvals = f.stack.json(&["audit", "query", &dir, "--report", "approvals", "--change", &change]);
    assert_eq!(approvals[0]["approver"], "ana@e2e.example", "{approvals}");
    assert_eq!(approvals[0]["decision"], "approved");
    let rotations = f.stack.json(&["audit", "query", &dir, "--report", "rotations", "--connector", &k1]);
    assert_eq!(rotations[0]["outcome"], "rotated", "{rotations}");
    assert_eq!(rotations[0]["before"], sha(&old), "the old key's fingerprint, never the key: {rotations}");
    assert_ne!(rotations[0]["before"], rotations[0]["after"], "{rotations}");
    let csv = f.stack.ok(&["audit", "query", &dir, "--connector", &k1, "--event", "finalized", "--format", "csv"]);
    assert_eq!(csv.lines().count(), 2, "header and the one finalized event: {csv}");

    let is = |i: &Item, seq: u64| text(i, "connector_id") == k1 && text(i, "seq") == seq.to_string();

    // Drop an event in the middle.
    let (ok, v) = verify(&f, &tampered(&f, &export, "drop", |i| (!is(&i, 3)).then_some(i)), &key);
    assert!(!ok);
    assert_eq!(problems_of(&v, &k1), ["missing 3"], "{v}");

    // Edit who approved.
    let approved = chain.iter().find(|e| e.event == "approved").unwrap().seq;
    let (ok, v) = verify(
        &f,
        &tampered(&f, &export, "edit", |mut i| {
            if is(&i, approved) {
                i.insert("actor".into(), Attr::S("approver:mallory@e2e.example".into()));
            }
            Some(i)
        }),
        &key,
    );
    assert!(!ok);
    assert_eq!(problems_of(&v, &k1), [format!("edited {approved}")], "{v}");

    // Swap two events' places in the chain.
    let (ok, v) = verify(
        &f,
        &tampered(&f, &export, "swap", |mut i| {
            let to = if is(&i, 2) {
                Some(3)
            } else if is(&i, 3) {
                Some(2)
            } else {
                None
            };
            if let Some(seq) = to {
                i.insert("seq".into(), Attr::N(seq.to_string()));
            }
            Some(i)
        }),
        &key,
    );
    assert!(!ok);
    // Both moved events no longer match their hashes, and the links around them are named.
    assert_eq!(
        problems_of(&v, &k1),
        ["edited 2", "broken_link 2", "edited 3", "broken_link 3", "broken_link 4"],
        "{v}"
    );

    // Drop the newest events: only the digest can tell.
    let (ok, v) =
        verify(&f, &tampered(&f, &export, "tail", |i| (!(is(&i, last) || is(&i, last - 1))).then_some(i)), &key);
    assert!(!ok);
    assert_eq!(problems_of(&v, &k1), [format!("missing_newest {last}")], "{v}");

    // Delete every digest: nothing anchors the chains any more, and that is a failure.
    let (ok, v) =
        verify(&f, &tampered(&f, &export, "nodigest", |i| (text(&i, "connector_id") != "#digest").then_some(i)), &key);
    assert!(!ok);
    assert!(v["problems"].as_array().unwrap().iter().any(|p| p["kind"] == "unanchored"), "{v}");

    // A line that is not an item, written without resealing: the file and line are named.
    let corrupt = f.stack.dir.path().join("corrupt");
    copy_dir(&export, &corrupt);
    let data = std::fs::read_dir(corrupt.join("data")).unwrap().next().unwrap().unwrap().path();
    let mut text_lines = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&data).unwrap()),
        &mut text_lines,
    )
    .unwrap();
    let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&data).unwrap(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, format!("{{\"Item\": not json\n{text_lines}").as_bytes()).unwrap();
    gz.finish().unwrap();
    let (ok, v) = verify(&f, corrupt.to_str().unwrap(), &key);
    assert!(!ok);
    let places: Vec<String> =
        v["problems"].as_array().unwrap().iter().filter_map(|p| p["place"].as_str().map(str::to_owned)).collect();
    let name = data.file_name().unwrap().to_string_lossy().to_string();
    assert!(places.contains(&format!("data/{name}:1")), "the bad line is named: {v}");
    assert!(v["problems"].to_string().contains("MD5 differs"), "{v}");

    // The same export from S3.
    let s3 = s3_client().await;
    let bucket = "keyturn-e2e-exports";
    let _ = s3.create_bucket().bucket(bucket).send().await;
    let prefix = format!("{}audit", f.stack.prefix);
    upload(&s3, bucket, &prefix, &root, &root).await;
    let (ok, v) = verify(&f, &format!("s3://{bucket}/{prefix}"), &key);
    assert!(ok, "read from s3:// as from a folder: {v}");
}

async fn s3_client() -> aws_sdk_s3::Client {
    let sdk = crate::harness::sdk_config().await;
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build())
}

async fn upload(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str, root: &Path, dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            Box::pin(upload(s3, bucket, prefix, root, &path)).await;
            continue;
        }
        let key = format!("{prefix}/{}", path.strip_prefix(root).unwrap().display());
        let body = aws_sdk_s3::primitives::ByteStream::from(std::fs::read(&path).unwrap());
        s3.put_object().bucket(bucket).key(key).body(body).send().await.unwrap();
    }
}

/// `keyturn audit query EXPORT | head -1`: the reader closes the pipe after
/// one line; keyturn must stop quietly with status 0 (scripts run with
/// `set -o pipefail`), not panic with "failed printing to stdout".
/// Offline: a generated export in a folder, no stack.
#[test]
fn a_reader_that_stops_early_ends_keyturn_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    let made = Command::new(env!("CARGO_BIN_EXE_keyturn"))
        .args(["dev", "sample-audit-export", "--events", "20000", "--connectors", "100", "--out"])
        .arg(&export)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));

    let mut query = Command::new(env!("CARGO_BIN_EXE_keyturn"))
        .args(["audit", "query", "--format", "csv"])
        .arg(&export)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(query.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.contains(','), "a CSV header first: {first:?}");
    // The reader is gone now (stdout dropped above), 20,000 rows unwritten.
    let out = query.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status {:?}, stderr: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
