//! DynamoDB table exports in the `DYNAMODB_JSON` format, as
//! `ExportTableToPointInTime` writes them:
//!
//! ```text
//! AWSDynamoDB/<export-id>/manifest-summary.json   {"exportTime", "itemCount", "outputFormat", ...}
//! AWSDynamoDB/<export-id>/manifest-files.json     one line per data file: {"itemCount","md5Checksum","dataFileS3Key"}
//! AWSDynamoDB/<export-id>/data/<name>.json.gz     gzip; one {"Item": {"attr": {"S": "..."}}} per line
//! ```
//!
//! [`Export::open`] reads one from a directory, [`Export::items`] streams its
//! items file by file (memory does not grow with the export), and
//! [`ExportWriter`] writes the same format, which is how the local stack and
//! the tests produce exports.
//!
//! Hostile input is expected: every problem (a missing or altered file, a
//! truncated gzip, a line that is not JSON, an oversized line) is reported with
//! its file and line, and reading goes on with the rest.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};

/// DynamoDB items are at most 400 KB; a longer line is not an item.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Items per data file the writer produces.
const ITEMS_PER_FILE: u64 = 100_000;

/// A DynamoDB attribute value in its JSON form (`{"S": "..."}`, `{"N": "1"}`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Attr {
    S(String),
    N(String),
    M(#[serde(deserialize_with = "unique_names")] BTreeMap<String, Attr>),
    L(Vec<Attr>),
    #[serde(rename = "BOOL")]
    Bool(bool),
    #[serde(rename = "NULL")]
    Null(bool),
    SS(Vec<String>),
    NS(Vec<String>),
    B(String),
}

/// One item: attribute name → value.
pub type Item = BTreeMap<String, Attr>;

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "Item", deserialize_with = "unique_names")]
    item: Item,
}

/// An item or map attribute whose names are all distinct. A JSON object may
/// repeat a name and serde keeps the last; the hash covers one value while a
/// reader (Athena, a script) may see the other, so a repeated name is an error.
fn unique_names<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Attr>, D::Error> {
    struct Names;
    impl<'de> serde::de::Visitor<'de> for Names {
        type Value = BTreeMap<String, Attr>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map of attribute names to values")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(name) = map.next_key::<String>()? {
                let value = map.next_value::<Attr>()?;
                if out.contains_key(&name) {
                    return Err(serde::de::Error::custom(format!(
                        "attribute name {name:?} appears twice in one map (a reader may see the other value)"
                    )));
                }
                out.insert(name, value);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Names)
}

#[derive(Serialize)]
struct LineOut<'a> {
    #[serde(rename = "Item")]
    item: &'a Item,
}

/// `manifest-summary.json` (the fields keyturn reads or writes).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub export_arn: String,
    #[serde(default)]
    pub table_arn: String,
    #[serde(default)]
    pub start_time: String,
    #[serde(default)]
    pub end_time: String,
    /// The point in time the export shows.
    pub export_time: String,
    pub item_count: u64,
    pub output_format: String,
    #[serde(default)]
    pub manifest_files_s3_key: String,
}

/// One line of `manifest-files.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataFile {
    pub item_count: u64,
    /// Base64 MD5 of the gzip file.
    pub md5_checksum: String,
    #[serde(default)]
    pub etag: String,
    pub data_file_s3_key: String,
}

/// Something wrong with the export itself (not with the audit chains in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// `manifest-files.json:3`, `data/abc.json.gz:17`, ...
    pub place: String,
    pub what: String,
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place, self.what)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}: no manifest-summary.json here or under AWSDynamoDB/<export-id>/ (is this a DynamoDB export?)")]
    NotAnExport(PathBuf),
    #[error("{0}: holds {1} exports under AWSDynamoDB/; point at one of them")]
    Ambiguous(PathBuf, usize),
    #[error("{path}: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// An export on disk.
#[derive(Debug, Clone)]
pub struct Export {
    pub dir: PathBuf,
    pub summary: Summary,
    pub files: Vec<DataFile>,
    /// Lines of `manifest-files.json` that could not be read.
    pub manifest_problems: Vec<FileProblem>,
}

/// Where an item came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: String,
    pub line: u64,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

impl Export {
    /// Finds the export at `path`: the export directory itself, or a folder
    /// holding exactly one `AWSDynamoDB/<export-id>/`.
    pub fn open(path: &Path) -> Result<Self, ExportError> {
        let dir = locate(path)?;
        let summary_path = dir.join("manifest-summary.json");
        let text = std::fs::read_to_string(&summary_path)
            .map_err(|source| ExportError::Io { path: summary_path.clone(), source })?;
        let summary: Summary = serde_json::from_str(&text)
            .map_err(|e| ExportError::Manifest { path: summary_path.clone(), message: e.to_string() })?;
        if summary.output_format != "DYNAMODB_JSON" {
            return Err(ExportError::Manifest {
                path: summary_path,
                message: format!("outputFormat is {:?}; keyturn reads DYNAMODB_JSON exports", summary.output_format),
            });
        }
        let files_path = dir.join("manifest-files.json");
        let text = std::fs::read_to_string(&files_path)
            .map_err(|source| ExportError::Io { path: files_path.clone(), source })?;
        let mut files = Vec::new();
        let mut manifest_problems = Vec::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            match serde_json::from_str::<DataFile>(line) {
                Ok(f) => files.push(f),
                Err(e) => manifest_problems.push(FileProblem {
                    place: format!("manifest-files.json:{}", i + 1),
                    what: format!("not a data file entry: {e}"),
                }),
            }
        }
        check_listing(&dir, &summary, &files, &mut manifest_problems);
        Ok(Self { dir, summary, files, manifest_problems })
    }

    /// The names (`data/<name>`) of the data files the manifest lists, in
    /// its order: the files a verification covers.
    pub fn listed(&self) -> Vec<String> {
        self.files.iter().map(|f| format!("data/{}", file_name(&f.data_file_s3_key))).collect()
    }

    /// The local path of a data file named by its S3 key.
    pub fn data_path(&self, file: &DataFile) -> PathBuf {
        let name = file.data_file_s3_key.rsplit('/').next().unwrap_or_default();
        self.dir.join("data").join(name)
    }

    /// Streams every item of every data file to `each`, checking each file
    /// against the manifest (present, MD5, item count). Problems with the
    /// files go to `problems`; items that cannot be read arrive as `Err`.
    pub fn items(&self, problems: &mut Vec<FileProblem>, mut each: impl FnMut(&Place, Result<Item, String>)) {
        problems.extend(self.manifest_problems.iter().cloned());
        let total: u64 = self.files.iter().map(|f| self.file_items(f, problems, &mut each)).sum();
        self.check_total(total, problems);
    }

    /// The whole-export item count against the summary (after reading every file).
    pub fn check_total(&self, total: u64, problems: &mut Vec<FileProblem>) {
        if total != self.summary.item_count {
            problems.push(FileProblem {
                place: "manifest-summary.json".into(),
                what: format!("itemCount {} but the data files hold {total} items", self.summary.item_count),
            });
        }
    }

    /// Streams one data file's items to `each`, checking it against the
    /// manifest (present, MD5, item count). Returns the lines read.
    pub fn file_items(
        &self,
        f: &DataFile,
        problems: &mut Vec<FileProblem>,
        mut each: impl FnMut(&Place, Result<Item, String>),
    ) -> u64 {
        let path = self.data_path(f);
        let name = format!("data/{}", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) => {
                problems.push(FileProblem {
                    place: name,
                    what: format!("listed in manifest-files.json but cannot be read ({e}): its items are missing"),
                });
                return 0;
            }
        };
        let mut hashing = HashingReader { inner: file, md5: Md5::new() };
        let mut lines = 0u64;
        let read = read_lines(flate2::read::MultiGzDecoder::new(&mut hashing), |n, line| {
            lines = n;
            let place = Place { file: name.clone(), line: n };
            each(&place, line.and_then(parse_line));
        });
        if let Err(e) = read {
            problems.push(FileProblem {
                place: format!("{name}:{}", lines + 1),
                what: format!(
                    "unreadable gzip ({e}): the file is truncated or corrupt; items after line {lines} are missing"
                ),
            });
            return lines;
        }
        // Drain what the decoder did not need, so the MD5 covers the whole file.
        let _ = io::copy(&mut hashing, &mut io::sink());
        let md5 = base64::engine::general_purpose::STANDARD.encode(hashing.md5.finalize());
        if md5 != f.md5_checksum {
            problems.push(FileProblem {
                place: name.clone(),
                what: "MD5 differs from manifest-files.json: the file changed after the export".into(),
            });
        }
        if lines != f.item_count {
            problems.push(FileProblem {
                place: name,
                what: format!("{lines} items, manifest-files.json says {}", f.item_count),
            });
        }
        lines
    }
}

fn file_name(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or_default()
}

/// What the manifest and the `data/` folder must agree on: every data file
/// listed once, under this export's own `data/` folder, and nothing in
/// `data/` that the manifest does not list. An unlisted file is never
/// verified, yet anything reading the folder (Athena over `data/`, a script)
/// would read it.
fn check_listing(dir: &Path, summary: &Summary, files: &[DataFile], problems: &mut Vec<FileProblem>) {
    let folder = summary.manifest_files_s3_key.strip_suffix("manifest-files.json");
    let mut names = std::collections::BTreeSet::new();
    for (i, f) in files.iter().enumerate() {
        let name = file_name(&f.data_file_s3_key);
        let place = format!("manifest-files.json:{}", i + 1);
        let expected = folder.map(|p| format!("{p}data/{name}"));
        let under_data = match &expected {
            Some(e) => f.data_file_s3_key == *e,
            None => {
                f.data_file_s3_key == format!("data/{name}") || f.data_file_s3_key.ends_with(&format!("/data/{name}"))
            }
        };
        if name.is_empty() || name == ".." || name == "." || !under_data {
            problems.push(FileProblem {
                place,
                what: format!(
                    "dataFileS3Key {:?} is not a file in this export's data/ folder{}: what it names is not what was verified",
                    f.data_file_s3_key,
                    expected.map(|e| format!(" ({e:?})")).unwrap_or_default()
                ),
            });
        } else if !names.insert(name.to_owned()) {
            problems
                .push(FileProblem { place, what: format!("data/{name} is listed twice: its items would count twice") });
        }
    }
    let Ok(entries) = std::fs::read_dir(dir.join("data")) else { return };
    let mut unlisted: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !names.contains(n))
        .collect();
    unlisted.sort();
    for name in unlisted {
        problems.push(FileProblem {
            place: format!("data/{name}"),
            what: "not listed in manifest-files.json: its items are not verified (added after the export?), \
                   and a query over the data/ folder would read them"
                .into(),
        });
    }
}

/// The Athena symlink manifest of an export that verified: one line per data
/// file the manifest lists (and verification read), `export_url/data/<name>`,
/// where `export_url` is the S3 URL of the folder holding
/// `manifest-summary.json`. A table over it reads those files and nothing
/// else put beside them (`infra/athena/tables.sql`).
pub fn symlink_manifest(export: &Export, export_url: &str) -> String {
    let base = export_url.trim_end_matches('/');
    export.listed().iter().map(|name| format!("{base}/{name}\n")).collect()
}

/// One line of a data file: `{"Item": {...}}`.
fn parse_line(bytes: &[u8]) -> Result<Item, String> {
    serde_json::from_slice::<Line>(bytes).map(|l| l.item).map_err(|e| format!("not an export line ({e})"))
}

/// The items of one data file's bytes (gzip'd, as exports write them), line
/// by line, without the manifest checks of [`Export::file_items`]. Returns the
/// lines read; an `Err` is a gzip stream that is truncated or corrupt.
pub fn read_data(data: &[u8], mut each: impl FnMut(u64, Result<Item, String>)) -> io::Result<u64> {
    let mut lines = 0;
    read_lines(flate2::read::MultiGzDecoder::new(data), |n, line| {
        lines = n;
        each(n, line.and_then(parse_line));
    })?;
    Ok(lines)
}

fn locate(path: &Path) -> Result<PathBuf, ExportError> {
    if path.join("manifest-summary.json").is_file() {
        return Ok(path.to_path_buf());
    }
    let root = path.join("AWSDynamoDB");
    let found: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|rd| {
            rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.join("manifest-summary.json").is_file()).collect()
        })
        .unwrap_or_default();
    match found.len() {
        0 => Err(ExportError::NotAnExport(path.to_path_buf())),
        1 => Ok(found.into_iter().next().unwrap_or_default()),
        n => Err(ExportError::Ambiguous(path.to_path_buf(), n)),
    }
}

/// Calls `each(line_number, line)` per line; a line over [`MAX_LINE_BYTES`]
/// is skipped and reported as `Err`. Stops at the first read error.
fn read_lines(r: impl Read, mut each: impl FnMut(u64, Result<&[u8], String>)) -> io::Result<()> {
    let mut r = BufReader::with_capacity(1 << 16, r);
    let mut buf = Vec::new();
    let mut n = 0u64;
    loop {
        buf.clear();
        let read = (&mut r).take(MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut buf)?;
        if read == 0 {
            return Ok(());
        }
        if buf.len() > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
            // Skip the rest of the oversized line.
            loop {
                buf.clear();
                let more = (&mut r).take(MAX_LINE_BYTES as u64).read_until(b'\n', &mut buf)?;
                if more == 0 || buf.last() == Some(&b'\n') {
                    break;
                }
            }
            n += 1;
            each(n, Err(format!("line longer than {MAX_LINE_BYTES} bytes (no DynamoDB item is)")));
            continue;
        }
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        n += 1;
        each(n, Ok(line));
    }
}

struct HashingReader<R> {
    inner: R,
    md5: Md5,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.md5.update(&buf[..n]);
        Ok(n)
    }
}

struct HashingWriter<W> {
    inner: W,
    md5: Md5,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.md5.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

type GzFile = flate2::write::GzEncoder<HashingWriter<io::BufWriter<File>>>;

/// Writes an export in the same layout AWS does, under `root/AWSDynamoDB/<id>/`.
pub struct ExportWriter {
    dir: PathBuf,
    prefix: String,
    summary: Summary,
    files: Vec<DataFile>,
    items_per_file: u64,
    /// The data file being written: name, items so far, encoder.
    current: Option<(String, u64, GzFile)>,
    /// One serialised line. serde_json writes a key, a quote, a comma at a
    /// time: straight into the encoder, each of those small writes was a
    /// compressor call (a 1,000,000-event export took 112 s, not 9).
    line: Vec<u8>,
}

impl ExportWriter {
    /// `export_id` names the folder (AWS uses `<millis>-<8 hex>`).
    pub fn create(root: &Path, export_id: &str, table_arn: &str, export_time: &str) -> io::Result<Self> {
        let prefix = format!("AWSDynamoDB/{export_id}");
        let dir = root.join(&prefix);
        std::fs::create_dir_all(dir.join("data"))?;
        Ok(Self {
            dir,
            summary: Summary {
                version: "2020-06-30".into(),
                export_arn: format!("{table_arn}/export/{export_id}"),
                table_arn: table_arn.into(),
                start_time: export_time.into(),
                end_time: export_time.into(),
                export_time: export_time.into(),
                item_count: 0,
                output_format: "DYNAMODB_JSON".into(),
                manifest_files_s3_key: format!("{prefix}/manifest-files.json"),
            },
            prefix,
            files: Vec::new(),
            items_per_file: ITEMS_PER_FILE,
            current: None,
            line: Vec::with_capacity(1024),
        })
    }

    /// Starts a new data file every `n` items (AWS's files hold many more).
    pub fn items_per_file(mut self, n: u64) -> Self {
        self.items_per_file = n.max(1);
        self
    }

    pub fn write(&mut self, item: &Item) -> io::Result<()> {
        if self.current.as_ref().is_none_or(|(_, n, _)| *n >= self.items_per_file) {
            self.close_file()?;
            let name = format!("{:08}.json.gz", self.files.len());
            let file = io::BufWriter::new(File::create(self.dir.join("data").join(&name))?);
            let enc = flate2::write::GzEncoder::new(
                HashingWriter { inner: file, md5: Md5::new() },
                flate2::Compression::fast(),
            );
            self.current = Some((name, 0, enc));
        }
        if let Some((_, n, enc)) = self.current.as_mut() {
            self.line.clear();
            serde_json::to_writer(&mut self.line, &LineOut { item })?;
            self.line.push(b'\n');
            enc.write_all(&self.line)?;
            *n += 1;
        }
        self.summary.item_count += 1;
        Ok(())
    }

    fn close_file(&mut self) -> io::Result<()> {
        if let Some((name, count, enc)) = self.current.take() {
            let mut hw = enc.finish()?;
            hw.flush()?;
            self.files.push(DataFile {
                item_count: count,
                md5_checksum: base64::engine::general_purpose::STANDARD.encode(hw.md5.finalize()),
                etag: String::new(),
                data_file_s3_key: format!("{}/data/{name}", self.prefix),
            });
        }
        Ok(())
    }

    /// Writes the manifests; returns the export directory.
    pub fn finish(mut self) -> io::Result<PathBuf> {
        self.close_file()?;
        write_manifests(&self.dir, &self.files, &self.summary)?;
        Ok(self.dir)
    }
}

/// `manifest-files.json` (one line per data file) and `manifest-summary.json`.
fn write_manifests(dir: &Path, files: &[DataFile], summary: &Summary) -> io::Result<()> {
    let mut lines = String::new();
    for f in files {
        lines.push_str(&serde_json::to_string(f)?);
        lines.push('\n');
    }
    std::fs::write(dir.join("manifest-files.json"), lines)?;
    std::fs::write(dir.join("manifest-summary.json"), serde_json::to_vec_pretty(summary)?)
}

/// Rewrites the manifests of an export so they match its data files again:
/// what a careful forger would do after editing items. Tests use it to make
/// sure the chains, not only the checksums, catch tampering.
pub fn reseal(dir: &Path) -> io::Result<()> {
    let export = Export::open(dir).map_err(|e| io::Error::other(e.to_string()))?;
    let mut files = Vec::new();
    let mut total = 0;
    for f in &export.files {
        let bytes = std::fs::read(export.data_path(f))?;
        let mut lines = 0;
        read_lines(flate2::read::MultiGzDecoder::new(&bytes[..]), |_, _| lines += 1)?;
        total += lines;
        files.push(DataFile {
            item_count: lines,
            md5_checksum: base64::engine::general_purpose::STANDARD.encode(Md5::digest(&bytes)),
            ..f.clone()
        });
    }
    write_manifests(&export.dir, &files, &Summary { item_count: total, ..export.summary })
}

/// Reads and rewrites every item of an export through `edit` (which may drop
/// an item by returning `None`), then reseals it. For tamper tests.
pub fn rewrite(dir: &Path, mut edit: impl FnMut(Item) -> Option<Item>) -> io::Result<()> {
    let export = Export::open(dir).map_err(|e| io::Error::other(e.to_string()))?;
    for f in &export.files {
        let path = export.data_path(f);
        let bytes = std::fs::read(&path)?;
        let mut out = Vec::new();
        read_lines(flate2::read::MultiGzDecoder::new(&bytes[..]), |_, line| {
            if let Some(item) =
                line.ok().and_then(|l| serde_json::from_slice::<Line>(l).ok()).and_then(|l| edit(l.item))
            {
                out.push(item);
            }
        })?;
        let mut enc = flate2::write::GzEncoder::new(File::create(&path)?, flate2::Compression::fast());
        for item in &out {
            serde_json::to_writer(&mut enc, &LineOut { item })?;
            enc.write_all(b"\n")?;
        }
        enc.finish()?;
    }
    reseal(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, seq: u64) -> Item {
        BTreeMap::from([("connector_id".into(), Attr::S(id.into())), ("seq".into(), Attr::N(seq.to_string()))])
    }

    fn write(dir: &Path, n: u64) -> PathBuf {
        let mut w = ExportWriter::create(
            dir,
            "01700000000000-abcdef01",
            "arn:aws:dynamodb:us-east-1:1:table/t",
            "2026-11-25T00:00:00Z",
        )
        .unwrap();
        for i in 1..=n {
            w.write(&item("a/b", i)).unwrap();
        }
        w.finish().unwrap()
    }

    type Read = Vec<(Place, Result<Item, String>)>;

    fn read(dir: &Path) -> (Read, Vec<FileProblem>) {
        let export = Export::open(dir).unwrap();
        let mut problems = Vec::new();
        let mut items = Vec::new();
        export.items(&mut problems, |p, i| items.push((p.clone(), i)));
        (items, problems)
    }

    #[test]
    fn what_the_writer_writes_the_reader_reads_from_the_parent_folder() {
        let tmp = tempdir();
        write(tmp.path(), 3);
        let (items, problems) = read(tmp.path());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(items.len(), 3);
        assert_eq!(items[2].1.as_ref().unwrap(), &item("a/b", 3));
        assert_eq!(items[2].0.to_string(), "data/00000000.json.gz:3");
    }

    #[test]
    fn damaged_files_are_reported_with_place_and_reading_goes_on() {
        let tmp = tempdir();
        let dir = write(tmp.path(), 3);
        let export = Export::open(&dir).unwrap();
        let path = export.data_path(&export.files[0]);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 12]).unwrap();
        let (_, problems) = read(&dir);
        assert!(problems.iter().any(|p| p.what.contains("truncated or corrupt")), "{problems:?}");

        // Not JSON, and a manifest line that names a missing file.
        rewrite_raw(&path, b"{\"Item\":{\"seq\":{\"N\":\"1\"}}}\nnot json\n");
        let mut files = std::fs::read_to_string(dir.join("manifest-files.json")).unwrap();
        files.push_str("{\"itemCount\":1,\"md5Checksum\":\"x\",\"dataFileS3Key\":\"p/data/gone.json.gz\"}\n");
        std::fs::write(dir.join("manifest-files.json"), files).unwrap();
        let (items, problems) = read(&dir);
        assert!(items[1].1.as_ref().unwrap_err().contains("not an export line"), "{items:?}");
        assert!(problems.iter().any(|p| p.place == "data/gone.json.gz" && p.what.contains("missing")), "{problems:?}");
        assert!(problems.iter().any(|p| p.what.contains("MD5 differs")), "{problems:?}");
    }

    #[test]
    fn a_repeated_attribute_name_is_refused_in_an_item_and_in_a_map() {
        assert!(parse_line(br#"{"Item":{"seq":{"N":"1"},"actor":{"S":"a"}}}"#).is_ok());
        for line in [
            &br#"{"Item":{"actor":{"S":"approver:ann@x.example"},"seq":{"N":"1"},"actor":{"S":"approver:mallory@x.example"}}}"#[..],
            br#"{"Item":{"detail":{"M":{"channel":{"S":"email"},"channel":{"S":"slack"}}}}}"#,
            // The same name, spelt with an escape.
            br#"{"Item":{"actor":{"S":"a"},"act\u006fr":{"S":"b"}}}"#,
        ] {
            let err = parse_line(line).unwrap_err();
            assert!(err.contains("appears twice"), "{err}");
        }
        // Two type tags in one value, or the whole item twice, are not one value either.
        assert!(parse_line(br#"{"Item":{"actor":{"S":"a","S":"b"}}}"#).is_err());
        assert!(parse_line(br#"{"Item":{"seq":{"N":"1"}},"Item":{"seq":{"N":"2"}}}"#).is_err());
    }

    #[test]
    fn files_beside_the_listed_ones_and_keys_outside_data_are_named() {
        let tmp = tempdir();
        let dir = write(tmp.path(), 3);
        std::fs::copy(dir.join("data/00000000.json.gz"), dir.join("data/forged.json.gz")).unwrap();
        let export = Export::open(&dir).unwrap();
        assert_eq!(export.listed(), ["data/00000000.json.gz"]);
        assert!(
            export.manifest_problems.iter().any(|p| p.place == "data/forged.json.gz" && p.what.contains("not listed")),
            "{:?}",
            export.manifest_problems
        );
        let links = symlink_manifest(&export, "s3://b/p/AWSDynamoDB/01700000000000-abcdef01/");
        assert_eq!(links, "s3://b/p/AWSDynamoDB/01700000000000-abcdef01/data/00000000.json.gz\n", "listed files only");

        let files = std::fs::read_to_string(dir.join("manifest-files.json")).unwrap();
        let moved = files.replace("AWSDynamoDB/01700000000000-abcdef01/data/", "elsewhere/");
        std::fs::write(dir.join("manifest-files.json"), format!("{files}{moved}")).unwrap();
        let problems = Export::open(&dir).unwrap().manifest_problems;
        assert!(
            problems
                .iter()
                .any(|p| p.place == "manifest-files.json:2" && p.what.contains("not a file in this export's data/")),
            "{problems:?}"
        );
    }

    #[test]
    fn not_an_export_says_so() {
        let tmp = tempdir();
        let err = Export::open(tmp.path()).unwrap_err();
        assert!(err.to_string().contains("is this a DynamoDB export?"), "{err}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
        /// Hostile input: any bytes as a data file, gzip'd or not, are problems
        /// or unreadable items, never a panic.
        #[test]
        fn any_data_file_is_read_without_panic(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400), gz in proptest::prelude::any::<bool>()) {
            let tmp = tempdir();
            let dir = write(tmp.path(), 1);
            let export = Export::open(&dir).unwrap();
            let path = export.data_path(&export.files[0]);
            if gz { rewrite_raw(&path, &raw) } else { std::fs::write(&path, &raw).unwrap() }
            let mut problems = Vec::new();
            let mut n = 0;
            export.items(&mut problems, |_, _| n += 1);
            proptest::prop_assert!(n > 0 || !problems.is_empty() || raw.iter().all(u8::is_ascii_whitespace));
        }
    }

    fn rewrite_raw(path: &Path, content: &[u8]) {
        let mut enc = flate2::write::GzEncoder::new(File::create(path).unwrap(), flate2::Compression::fast());
        enc.write_all(content).unwrap();
        enc.finish().unwrap();
    }

    fn tempdir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }
}
