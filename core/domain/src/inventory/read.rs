//! Splitting CSV, JSON and YAML inventory files into raw records.
//!
//! Records are handed on one at a time as they are read, so a whole file
//! never exists twice in memory: CSV is read row by row from the file, JSON
//! and YAML are read once into a buffer and walked without building a generic
//! value tree. Every read is bounded ([`MAX_FILE_BYTES`], [`MAX_RECORDS`])
//! while it happens, not after.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserializer as _;

use super::validate::FIELDS;
use super::{excerpt, FieldError, InventoryError, Location, RawRecord, RecordError};

/// Inventory files above this size are refused. The limit is enforced on the
/// bytes actually read, so a special file (`/dev/zero`, a FIFO) that reports
/// no size stops here too.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Records per file, a bound on memory for hostile input: reading stops at the
/// first record over it.
pub const MAX_RECORDS: usize = 1_000_000;
/// Problems of shape kept per record (unknown keys, repeated keys); the rest
/// are counted in one summary line, so one record with a million unknown
/// keys cannot fill memory with messages.
const MAX_SHAPE_ERRORS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Yaml,
}

impl Format {
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "json" => Some(Self::Json),
            "yaml" | "yml" => Some(Self::Yaml),
            _ => None,
        }
    }
}

/// A file split into records, beside what was wrong with its shape (unknown
/// columns or fields, ragged rows, records that are not objects). A record
/// with an unknown field still comes back with its known fields, so
/// validation names everything else wrong with it too.
#[derive(Debug, Default)]
pub struct Split {
    pub records: Vec<RawRecord>,
    pub errors: Vec<RecordError>,
}

/// What the readers hand on, one at a time.
pub(crate) enum Item {
    /// A record's known fields, and what was wrong with its shape.
    Record(RawRecord, Vec<FieldError>),
    /// What is wrong with something that is not a record (the CSV header, a
    /// list element that is not an object): reported, not validated.
    Problem { location: Location, label: Option<&'static str>, errors: Vec<FieldError> },
}

pub(crate) type OnRecord<'a> = dyn FnMut(Item) + 'a;

/// Reads and splits a file. Unknown columns/fields come back as record errors
/// (`Err(Invalid)`) so a typo like `ownr` is never silently ignored.
pub fn read_file(path: &Path) -> Result<Vec<RawRecord>, InventoryError> {
    split_file(path)?.into_result()
}

/// Reads a file and splits it, keeping shape problems beside the records.
/// Only a file that cannot be read or parsed at all is an `Err`. Holds every
/// record: [`super::check_file`] is the streaming path.
pub fn split_file(path: &Path) -> Result<Split, InventoryError> {
    let name = path.display().to_string();
    let mut split = Split::default();
    stream_file(path, &mut |item| split.push(&name, item))?;
    Ok(split)
}

/// Splits `text` in `format`; `source` names it in errors.
pub fn read_str(text: &str, format: Format, source: &str) -> Result<Vec<RawRecord>, InventoryError> {
    split_str(text, format, source)?.into_result()
}

/// Like [`read_str`], keeping shape problems beside the records.
pub fn split_str(text: &str, format: Format, source: &str) -> Result<Split, InventoryError> {
    let mut split = Split::default();
    stream_str(text, format, source, &mut |item| split.push(source, item))?;
    Ok(split)
}

impl Split {
    fn push(&mut self, source: &str, item: Item) {
        match item {
            Item::Record(rec, shape) => {
                if !shape.is_empty() {
                    self.errors.push(RecordError {
                        source: source.to_owned(),
                        location: rec.location,
                        id: super::usable_id(&rec),
                        errors: shape,
                    });
                }
                self.records.push(rec);
            }
            Item::Problem { location, label, errors } => self.errors.push(RecordError {
                source: source.to_owned(),
                location,
                id: label.map(str::to_owned),
                errors,
            }),
        }
    }

    fn into_result(self) -> Result<Vec<RawRecord>, InventoryError> {
        if self.errors.is_empty() {
            Ok(self.records)
        } else {
            Err(InventoryError::Invalid(super::Problems::from_all(self.errors)))
        }
    }
}

/// Opens `path` and hands every record to `each` as it is read.
pub(crate) fn stream_file(path: &Path, each: &mut OnRecord<'_>) -> Result<(), InventoryError> {
    let name = path.display().to_string();
    let format = Format::from_path(path).ok_or_else(|| InventoryError::UnknownFormat { path: name.clone() })?;
    let io = |source| InventoryError::Io { path: name.clone(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(io(std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory")));
    }
    // A regular file that says it is too large is refused without reading;
    // anything else (a device, a FIFO, a file still growing) is held to the
    // limit by the bounded reader below.
    if meta.is_file() && meta.len() > MAX_FILE_BYTES {
        return Err(InventoryError::TooLarge { path: name, limit: MAX_FILE_BYTES });
    }
    let hint = if meta.is_file() { meta.len() } else { 0 };
    stream_reader(file, hint, format, &name, MAX_FILE_BYTES, each)
}

/// [`stream_file`] over text already in memory, under the same limits.
pub(crate) fn stream_str(
    text: &str,
    format: Format,
    source: &str,
    each: &mut OnRecord<'_>,
) -> Result<(), InventoryError> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(InventoryError::TooLarge { path: source.to_owned(), limit: MAX_FILE_BYTES });
    }
    match format {
        Format::Csv => read_csv(text.as_bytes(), source, each),
        Format::Json | Format::Yaml => read_tree(text.as_bytes(), format, source, each),
    }
}

/// Any reader, bounded to `limit` bytes. `size_hint` sizes the buffer JSON
/// and YAML are read into (so it is allocated once, not doubled on the way).
pub(crate) fn stream_reader<R: Read>(
    reader: R,
    size_hint: u64,
    format: Format,
    source: &str,
    limit: u64,
    each: &mut OnRecord<'_>,
) -> Result<(), InventoryError> {
    let mut bounded = Bounded { inner: reader.take(limit.saturating_add(1)), read: 0, limit };
    let too_large = || InventoryError::TooLarge { path: source.to_owned(), limit };
    match format {
        Format::Csv => read_csv(std::io::BufReader::new(bounded), source, each).map_err(|e| match e {
            InventoryError::Io { source: io, .. } if Bounded::<R>::is_over(&io) => too_large(),
            other => other,
        }),
        Format::Json | Format::Yaml => {
            let capacity = usize::try_from(size_hint.min(limit)).unwrap_or(0).saturating_add(1);
            let mut bytes = Vec::with_capacity(capacity);
            // In steps, not by doubling: a source of unknown size (a FIFO)
            // must not cost twice the limit on its way to being refused.
            const STEP: usize = 4 << 20;
            loop {
                bytes.reserve_exact(STEP);
                match (&mut bounded).take(STEP as u64).read_to_end(&mut bytes) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if Bounded::<R>::is_over(&e) => return Err(too_large()),
                    Err(e) => return Err(InventoryError::Io { path: source.to_owned(), source: e }),
                }
            }
            read_tree(&bytes, format, source, each)
        }
    }
}

/// A reader that fails once more than `limit` bytes have come through it
/// (`Read::take(limit + 1)` underneath, so it never reads much further).
struct Bounded<R> {
    inner: std::io::Take<R>,
    read: u64,
    limit: u64,
}

#[derive(Debug)]
struct OverLimit;

impl fmt::Display for OverLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("over the size limit")
    }
}

impl std::error::Error for OverLimit {}

impl<R> Bounded<R> {
    fn is_over(e: &std::io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<OverLimit>())
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(std::io::Error::other(OverLimit));
        }
        Ok(n)
    }
}

fn too_many(source: &str, at: Location) -> InventoryError {
    InventoryError::Malformed {
        path: source.to_owned(),
        message: format!("more than {MAX_RECORDS} records (stopped at {at}); split the file"),
    }
}

/// A field name as errors show it: known names as they are, anything else
/// quoted, escaped and cut short (a header can hold terminal escapes or a
/// megabyte of text).
fn field_label(name: &str) -> String {
    if name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') && !name.is_empty()
    {
        name.to_owned()
    } else {
        excerpt(name)
    }
}

/// Shape errors of one record, capped at [`MAX_SHAPE_ERRORS`].
#[derive(Default)]
struct Shape {
    errors: Vec<FieldError>,
    more: usize,
}

impl Shape {
    fn push(&mut self, e: FieldError) {
        if self.errors.len() < MAX_SHAPE_ERRORS {
            self.errors.push(e);
        } else {
            self.more += 1;
        }
    }

    fn finish(mut self) -> Vec<FieldError> {
        if self.more > 0 {
            self.errors
                .push(FieldError::new("record", format!("… and {} more problem(s) of the same kind", self.more)));
        }
        self.errors
    }
}

fn read_csv<R: Read>(input: R, source: &str, each: &mut OnRecord<'_>) -> Result<(), InventoryError> {
    let malformed = |message: String| InventoryError::Malformed { path: source.to_owned(), message };
    // Read errors (among them the size limit) stay read errors; the rest
    // are the file's shape.
    let io_or = |e: csv::Error, what: &dyn Fn(&csv::Error) -> InventoryError| {
        let shaped = what(&e);
        match e.into_kind() {
            csv::ErrorKind::Io(io) => InventoryError::Io { path: source.to_owned(), source: io },
            _ => shaped,
        }
    };
    // Flexible: a ragged row is that row's problem, not the file's.
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true).from_reader(input);
    let raw_headers =
        reader.headers().map_err(|e| io_or(e, &|e| malformed(format!("cannot read the header row: {e}"))))?.clone();
    // Column i reads into field `columns[i]`, or nowhere (unknown, or a
    // repeat of an earlier column).
    let mut columns: Vec<Option<&'static str>> = Vec::with_capacity(raw_headers.len());
    let mut first_seen: [Option<usize>; FIELDS.len()] = [None; FIELDS.len()];
    let mut header = Shape::default();
    for (i, raw) in raw_headers.iter().enumerate() {
        let raw = raw.trim_start_matches('\u{feff}');
        let name = raw.to_ascii_lowercase();
        let Some(slot) = FIELDS.iter().position(|f| *f == name) else {
            header.push(FieldError::new(field_label(raw), unknown_field_message()));
            columns.push(None);
            continue;
        };
        if let Some(first) = first_seen[slot] {
            // Two columns for one field: a reviewer reading one and keyturn
            // using the other must not happen, so neither is guessed at.
            let first_raw = raw_headers.get(first).unwrap_or_default().trim_start_matches('\u{feff}');
            header.push(FieldError::new(
                FIELDS[slot],
                format!(
                    "column {} ({}) repeats column {} ({}); keep one",
                    i + 1,
                    excerpt(raw),
                    first + 1,
                    excerpt(first_raw)
                ),
            ));
            columns.push(None);
            continue;
        }
        first_seen[slot] = Some(i);
        columns.push(Some(FIELDS[slot]));
    }
    let header = header.finish();
    if !header.is_empty() {
        each(Item::Problem { location: Location::Row(1), label: Some("header"), errors: header });
    }
    let mut row = csv::StringRecord::new();
    let mut count = 0usize;
    loop {
        let more = reader.read_record(&mut row).map_err(|e| {
            io_or(e, &|e| {
                let line = e.position().map(|p| format!("row {}: ", p.line())).unwrap_or_default();
                malformed(format!("{line}{e}"))
            })
        })?;
        if !more {
            return Ok(());
        }
        let location = Location::Row(row.position().map_or(0, |p| p.line()));
        count += 1;
        if count > MAX_RECORDS {
            return Err(too_many(source, location));
        }
        let fields: BTreeMap<String, String> = columns
            .iter()
            .zip(row.iter())
            .filter_map(|(field, v)| Some(((*field)?, v)))
            .filter(|(_, v)| !v.is_empty())
            .map(|(f, v)| (f.to_owned(), v.to_owned()))
            .collect();
        let mut shape = Vec::new();
        if row.len() != columns.len() {
            shape.push(FieldError::new(
                "row",
                format!("has {} cells, the header has {}; a cell may hold an unquoted comma", row.len(), columns.len()),
            ));
        }
        each(Item::Record(RawRecord { location, fields }, shape));
    }
}

/// JSON and YAML: a list of objects, or an object with a `connectors` list.
fn read_tree(bytes: &[u8], format: Format, source: &str, each: &mut OnRecord<'_>) -> Result<(), InventoryError> {
    // Editors on Windows start UTF-8 files with a byte order mark.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut walk = Walk { source, each, count: 0, stop: None };
    let malformed = |message: String| InventoryError::Malformed { path: source.to_owned(), message };
    match format {
        Format::Json => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let done = de.deserialize_any(Top::<JsonField<'_>> { walk: &mut walk, field: std::marker::PhantomData });
            let done = done.and_then(|()| de.end());
            match (done, walk.stop) {
                (_, Some(stop)) => Err(stop),
                (Ok(()), None) => Ok(()),
                (Err(e), None) => {
                    Err(malformed(format!("not valid JSON at line {}, column {}: {e}", e.line(), e.column())))
                }
            }
        }
        // CSV never comes here (see the callers).
        Format::Yaml | Format::Csv => read_yaml(bytes, &mut walk),
    }
}

/// Above this size a YAML file is read one record at a time, which needs it
/// to be a plain list (see [`yaml_items`]); smaller files are also read whole
/// when they are not. serde_yaml_ng holds every parser event of a document
/// (12 to 17 times the file for an inventory, more for flow-style bombs), so
/// reading whole is kept to files where that stays small.
pub(crate) const MAX_YAML_WHOLE: usize = 4 << 20;

fn read_yaml(bytes: &[u8], walk: &mut Walk<'_, '_>) -> Result<(), InventoryError> {
    let source = walk.source;
    let malformed = |message: String| InventoryError::Malformed { path: source.to_owned(), message };
    // An item read alone is numbered from its own first line and is
    // element [0]: the file's line is the item's plus where it starts, and
    // the element is the record it is.
    let yaml_error = |e: serde_yaml_ng::Error, first_line: usize, record: Option<usize>| {
        let Some(at) = e.location() else { return malformed(format!("not valid YAML: {e}")) };
        let text = e.to_string();
        let mut text = text.rfind(" at line ").map_or(text.as_str(), |i| &text[..i]).to_owned();
        if let Some(n) = record {
            let field = text.trim_start_matches('.').strip_prefix("[0].").map(str::to_owned);
            if let Some(field) = field {
                text = format!("record {n}: {field}");
            }
        }
        malformed(format!("not valid YAML at line {}, column {}: {text}", first_line + at.line() - 1, at.column()))
    };
    // A plain list is checked item by item first (each one parses, alone, as
    // one element), and only then handed on, so it never has to be taken
    // back halfway when an item turns out to need the whole document (an
    // alias to an anchor in another record).
    let plain = yaml_items(bytes, &mut |chunk, _| {
        struct One(usize);
        impl<'de> Visitor<'de> for &mut One {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    self.0 += 1;
                }
                Ok(())
            }
        }
        let mut one = One(0);
        serde_yaml_ng::Deserializer::from_slice(chunk).deserialize_seq(&mut one).is_ok() && one.0 == 1
    });
    if plain {
        let mut failed = None;
        yaml_items(bytes, &mut |chunk, first_line| {
            let de = serde_yaml_ng::Deserializer::from_slice(chunk);
            match de.deserialize_seq(Records::<YamlField> { walk: &mut *walk, field: std::marker::PhantomData }) {
                Ok(()) => true,
                Err(e) => {
                    let record = walk.count + 1;
                    failed = Some(walk.stop.take().unwrap_or_else(|| yaml_error(e, first_line, Some(record))));
                    false
                }
            }
        });
        return failed.map_or(Ok(()), Err);
    }
    if bytes.len() > MAX_YAML_WHOLE {
        return Err(malformed(format!(
            "a YAML file over {} MiB is read one record at a time, and this one cannot be: write it as a plain \
             list (each record starting with \"- \" at the start of a line, or under a \"connectors:\" line), \
             without anchors shared between records, flow style or directives; or use CSV or JSON",
            MAX_YAML_WHOLE >> 20
        )));
    }
    let de = serde_yaml_ng::Deserializer::from_slice(bytes);
    let done = de.deserialize_any(Top::<YamlField> { walk: &mut *walk, field: std::marker::PhantomData });
    match (done, walk.stop.take()) {
        (_, Some(stop)) => Err(stop),
        (Ok(()), None) => Ok(()),
        (Err(e), None) => Err(yaml_error(e, 1, None)),
    }
}

/// Splits a YAML inventory that is a plain list into its items, each handed
/// to `each` with the line it starts on, for as long as `each` says yes.
/// True when the whole file split and every item was taken.
///
/// A plain list: comments, blank lines, an optional `---` and an optional
/// `connectors:` line, then items that each start with `- ` at the same
/// indentation (column 1 without `connectors:`), every other line indented
/// further (or blank, or a comment). Any item boundary found that way is an
/// item boundary for a YAML parser too: a line at the list's indentation
/// ends every block, plain or block scalar inside the item before it, and
/// anything else (a quoted or flow value running on across it) leaves the
/// item before it unparseable on its own, which sends the file to be read
/// whole.
fn yaml_items(bytes: &[u8], each: &mut dyn FnMut(&[u8], usize) -> bool) -> bool {
    let mut connectors = false;
    let mut doc_start = false;
    let mut indent: Option<usize> = None;
    // The item being gathered: where it starts, and on which line.
    let mut current: Option<(usize, usize)> = None;
    let mut offset = 0;
    for (i, line) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        let start = offset;
        offset += line.len();
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let lead = text.iter().take_while(|b| **b == b' ').count();
        let rest = &text[lead..];
        if rest.is_empty() || rest.starts_with(b"#") {
            continue;
        }
        let item = rest == b"-" || rest.starts_with(b"- ") || rest.starts_with(b"-\t");
        match indent {
            Some(n) if lead > n => {}
            Some(n) if lead == n && item => {
                if let Some((from, line_no)) = current {
                    if !each(&bytes[from..start], line_no) {
                        return false;
                    }
                }
                current = Some((start, i + 1));
            }
            Some(_) => return false,
            None if item && (lead == 0 || connectors) => {
                indent = Some(lead);
                current = Some((start, i + 1));
            }
            None if lead == 0 && !doc_start && !connectors && key_line(rest, b"---") => doc_start = true,
            None if lead == 0 && !connectors && key_line(rest, b"connectors:") => connectors = true,
            None => return false,
        }
    }
    match current {
        Some((from, line_no)) => each(&bytes[from..], line_no),
        None => false,
    }
}

/// `rest` is `word`, alone or followed by a comment.
fn key_line(rest: &[u8], word: &[u8]) -> bool {
    rest.strip_prefix(word).is_some_and(|after| {
        let trimmed = after.trim_ascii();
        trimmed.is_empty() || (trimmed.starts_with(b"#") && after.first().is_some_and(u8::is_ascii_whitespace))
    })
}

/// The state of a walk over a JSON or YAML document.
struct Walk<'s, 'e> {
    source: &'s str,
    each: &'e mut OnRecord<'e>,
    count: usize,
    /// Set when the walk stopped on purpose (too many records); the parser's
    /// own error that follows is then beside the point.
    stop: Option<InventoryError>,
}

/// A field's value as the source wrote it.
enum FieldText {
    Absent,
    Text(String),
    Nested,
}

/// How a format hands over one field's value, keeping its text exactly:
/// `0x1F`, `1e3`, `.inf` or a 30-digit number stay what they say, never the
/// number a parser would make of them.
trait FieldValue<'de>: de::Deserialize<'de> {
    fn text(self) -> Result<FieldText, String>;
}

/// JSON: the raw text of the value, so numbers keep their digits.
struct JsonField<'de>(&'de serde_json::value::RawValue);

impl<'de> de::Deserialize<'de> for JsonField<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'de serde_json::value::RawValue>::deserialize(d).map(JsonField)
    }
}

impl<'de> FieldValue<'de> for JsonField<'de> {
    fn text(self) -> Result<FieldText, String> {
        let raw = self.0.get().trim();
        Ok(match raw.as_bytes().first() {
            // Without escapes the text is what is between the quotes (the
            // parser has already checked it); with them, unescape.
            Some(b'"') if !raw.contains('\\') && raw.len() >= 2 => FieldText::Text(raw[1..raw.len() - 1].to_owned()),
            Some(b'"') => FieldText::Text(serde_json::from_str::<String>(raw).map_err(|e| e.to_string())?),
            Some(b'[' | b'{') => FieldText::Nested,
            _ if raw == "null" => FieldText::Absent,
            // Numbers, true and false: as written.
            _ => FieldText::Text(raw.to_owned()),
        })
    }
}

/// YAML: a scalar's text as written (YAML would read `0x1F` as 31 and
/// `1_000` as 1000); `~`, `null` and nothing at all are absent.
struct YamlField(Option<YamlText>);

struct YamlText(String);

impl<'de> de::Deserialize<'de> for YamlField {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<YamlText>::deserialize(d).map(YamlField)
    }
}

impl<'de> de::Deserialize<'de> for YamlText {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = YamlText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a single value, not a list or object")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<YamlText, E> {
                Ok(YamlText(v.to_owned()))
            }
        }
        // serde_yaml_ng hands any scalar to deserialize_str as its text.
        d.deserialize_str(V)
    }
}

impl FieldValue<'_> for YamlField {
    fn text(self) -> Result<FieldText, String> {
        Ok(match self.0 {
            None => FieldText::Absent,
            Some(YamlText(s)) => FieldText::Text(s),
        })
    }
}

/// The document: a list of records, `{"connectors": [...]}`, or nothing.
struct Top<'w, 's, 'e, F> {
    walk: &'w mut Walk<'s, 'e>,
    field: std::marker::PhantomData<F>,
}

impl<'de, F: FieldValue<'de>> Visitor<'de> for Top<'_, '_, '_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of connectors, or an object with a \"connectors\" list")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Records::<F> { walk: self.walk, field: std::marker::PhantomData }.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: Option<String> = None;
        while let Some(key) = map.next_key::<String>()? {
            if !key.eq_ignore_ascii_case("connectors") {
                return Err(de::Error::custom(format!(
                    "unknown top-level key {}; the only one read is \"connectors\"",
                    excerpt(&key)
                )));
            }
            if let Some(first) = &seen {
                return Err(de::Error::custom(format!(
                    "key {} repeats key {}; keep one list of connectors",
                    excerpt(&key),
                    excerpt(first)
                )));
            }
            map.next_value_seed(Records::<F> { walk: &mut *self.walk, field: std::marker::PhantomData })?;
            seen = Some(key);
        }
        if seen.is_none() {
            return Err(de::Error::custom("expected a list of connectors, or an object with a \"connectors\" list"));
        }
        Ok(())
    }
}

/// The list of records: each one is handed on as soon as it is read.
struct Records<'w, 's, 'e, F> {
    walk: &'w mut Walk<'s, 'e>,
    field: std::marker::PhantomData<F>,
}

impl<'de, F: FieldValue<'de>> DeserializeSeed<'de> for Records<'_, '_, '_, F> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, F: FieldValue<'de>> Visitor<'de> for Records<'_, '_, '_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of connectors")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let location = Location::Record(self.walk.count + 1);
            if self.walk.count >= MAX_RECORDS {
                // Only whether there is one more matters; it is not read.
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    return Ok(());
                }
                self.walk.stop = Some(too_many(self.walk.source, location));
                return Err(de::Error::custom("stopped"));
            }
            let Some(read) = seq.next_element_seed(Record::<F>(std::marker::PhantomData))? else {
                return Ok(());
            };
            self.walk.count += 1;
            (self.walk.each)(match read {
                (Some(fields), shape) => Item::Record(RawRecord { location, fields }, shape),
                (None, errors) => Item::Problem { location, label: None, errors },
            });
        }
    }
}

/// One record: its known fields (none if it is not an object at all), and
/// what was wrong with its shape.
struct Record<F>(std::marker::PhantomData<F>);

type Read1 = (Option<BTreeMap<String, String>>, Vec<FieldError>);

impl<'de, F: FieldValue<'de>> DeserializeSeed<'de> for Record<F> {
    type Value = Read1;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Read1, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, F: FieldValue<'de>> Record<F> {
    fn not_an_object() -> Read1 {
        (None, vec![FieldError::new("record", "must be an object of fields")])
    }
}

macro_rules! not_an_object {
    ($($name:ident: $t:ty),*) => {
        $(fn $name<E: de::Error>(self, _: $t) -> Result<Read1, E> {
            Ok(Self::not_an_object())
        })*
    };
}

impl<'de, F: FieldValue<'de>> Visitor<'de> for Record<F> {
    type Value = Read1;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of fields")
    }

    not_an_object!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_i128: i128, visit_u128: u128,
        visit_f64: f64, visit_str: &str, visit_bytes: &[u8]);

    fn visit_unit<E: de::Error>(self) -> Result<Read1, E> {
        Ok(Self::not_an_object())
    }

    fn visit_none<E: de::Error>(self) -> Result<Read1, E> {
        Ok(Self::not_an_object())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Read1, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Self::not_an_object())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Read1, A::Error> {
        let mut fields = BTreeMap::new();
        let mut shape = Shape::default();
        // The key each field was first given under, to name both when a
        // record gives one twice (`owner` and `Owner`).
        let mut first_key: [Option<String>; FIELDS.len()] = Default::default();
        while let Some(key) = map.next_key::<String>()? {
            let name = key.to_ascii_lowercase();
            let Some(slot) = FIELDS.iter().position(|f| *f == name) else {
                map.next_value::<IgnoredAny>()?;
                shape.push(FieldError::new(field_label(&key), unknown_field_message()));
                continue;
            };
            let field = FIELDS[slot];
            if let Some(first) = &first_key[slot] {
                map.next_value::<IgnoredAny>()?;
                shape.push(FieldError::new(
                    field,
                    format!("key {} repeats key {} in the same record; keep one", excerpt(&key), excerpt(first)),
                ));
                continue;
            }
            let value = map.next_value::<F>()?;
            first_key[slot] = Some(key);
            match value.text() {
                Ok(FieldText::Absent) => {}
                Ok(FieldText::Nested) => {
                    shape.push(FieldError::new(field, "must be a single value, not a list or object"))
                }
                Ok(FieldText::Text(text)) => {
                    let text = text.trim();
                    if !text.is_empty() {
                        fields.insert(field.to_owned(), text.to_owned());
                    }
                }
                Err(e) => shape.push(FieldError::new(field, e)),
            }
        }
        Ok((Some(fields), shape.finish()))
    }
}

fn unknown_field_message() -> String {
    format!("unknown field; known fields are {}", FIELDS.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Hostile input: any text in any format yields records or a clear
        /// error, never a panic.
        #[test]
        fn readers_never_panic(text in "(.|\n){0,400}", shaped in "[\\[\\]{}:,\"a-z0-9 \n-]{0,200}") {
            for format in [Format::Csv, Format::Json, Format::Yaml] {
                let _ = read_str(&text, format, "fuzz");
                let _ = read_str(&shaped, format, "fuzz");
            }
        }
    }

    #[test]
    fn csv_rows_are_numbered_like_an_editor() {
        let recs = read_str("id,kind\n a ,atlassian-scim\nb,\n", Format::Csv, "x.csv").unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].location, Location::Row(2));
        assert_eq!(recs[0].get("id"), Some("a"));
        assert_eq!(recs[1].get("kind"), None, "empty cells are absent");
    }

    #[test]
    fn unknown_columns_and_fields_are_named() {
        let Err(InventoryError::Invalid(e)) = read_str("id,ownr\na,b\n", Format::Csv, "x.csv") else { panic!() };
        assert!(e.shown[0].to_string().starts_with("x.csv row 1 (header): ownr: unknown field"));
        let Err(InventoryError::Invalid(e)) =
            read_str(r#"[{"id":"a","ownr":"x"},{"id":"b","org":[1]}]"#, Format::Json, "x.json")
        else {
            panic!()
        };
        assert_eq!(e.shown.len(), 2);
        assert!(e.shown[1].to_string().contains("x.json record 2 (b): org: must be a single value"));
    }

    #[test]
    fn malformed_files_say_where() {
        let err = read_str("[{\"id\": }]", Format::Json, "x.json").unwrap_err().to_string();
        assert!(err.starts_with("x.json: not valid JSON at line 1"), "{err}");
        let err = read_str("- id: a\n  kind: [\n", Format::Yaml, "x.yaml").unwrap_err().to_string();
        assert!(err.starts_with("x.yaml: not valid YAML at line"), "{err}");
        let err = read_str("id,kind\na,b,c\n", Format::Csv, "x.csv").unwrap_err().to_string();
        assert!(err.contains("x.csv row 2 (a): row: has 3 cells, the header has 2"), "{err}");
    }

    #[test]
    fn yaml_and_json_accept_a_connectors_key_and_scalars() {
        let recs = read_str("connectors:\n  - id: a\n    directory_id: 42\n", Format::Yaml, "x.yaml").unwrap();
        assert_eq!(recs[0].get("directory_id"), Some("42"));
        assert_eq!(recs[0].location, Location::Record(1));
    }

    fn shape_errors(text: &str, format: Format, source: &str) -> Vec<String> {
        match read_str(text, format, source) {
            Err(InventoryError::Invalid(e)) => e.shown.iter().map(ToString::to_string).collect(),
            other => panic!("{other:?}"),
        }
    }

    /// A field given twice (or as `owner` and `Owner`) is refused, naming
    /// both places: a reviewer reading one and keyturn using the other is
    /// how a key gets a different owner than the one approved.
    #[test]
    fn repeated_and_case_variant_fields_are_refused_naming_both() {
        let got = shape_errors("id,owner,kind,Owner\na,x@a.example,k,y@a.example\n", Format::Csv, "x.csv");
        assert_eq!(got, [r#"x.csv row 1 (header): owner: column 4 ("Owner") repeats column 2 ("owner"); keep one"#]);
        let got = shape_errors("id,owner,owner\na,x,y\n", Format::Csv, "x.csv");
        assert!(got[0].contains(r#"owner: column 3 ("owner") repeats column 2 ("owner")"#), "{got:?}");

        let got = shape_errors(r#"[{"id":"a"},{"id":"b","owner":"x@a","Owner":"y@a"}]"#, Format::Json, "x.json");
        assert_eq!(
            got,
            [r#"x.json record 2 (b): owner: key "Owner" repeats key "owner" in the same record; keep one"#]
        );
        let got = shape_errors(r#"[{"id":"a","org":"x","org":"y"}]"#, Format::Json, "x.json");
        assert!(got[0].contains(r#"record 1 (a): org: key "org" repeats key "org""#), "{got:?}");

        let got = shape_errors("- id: a\n  OWNER: x@a\n  owner: y@a\n", Format::Yaml, "x.yaml");
        assert_eq!(
            got,
            [r#"x.yaml record 1 (a): owner: key "owner" repeats key "OWNER" in the same record; keep one"#]
        );
        let got = shape_errors("- id: a\n  org: x\n  org: y\n", Format::Yaml, "x.yaml");
        assert!(got[0].contains(r#"org: key "org" repeats key "org""#), "{got:?}");

        for (text, format) in [
            (r#"{"connectors":[],"Connectors":[{"id":"a"}]}"#, Format::Json),
            ("connectors: []\nconnectors:\n  - id: a\n", Format::Yaml),
        ] {
            let err = read_str(text, format, "x").unwrap_err().to_string();
            assert!(err.contains("repeats key \"connectors\""), "{err}");
        }
        let err = read_str(r#"{"connectors":[],"extra":1}"#, Format::Json, "x").unwrap_err().to_string();
        assert!(err.contains("unknown top-level key \"extra\""), "{err}");
    }

    /// Unknown header names and keys are shown escaped and cut short (a
    /// header can hold terminal escapes or a megabyte), and one record's
    /// shape problems are capped with a count of the rest.
    #[test]
    fn unknown_names_are_shown_escaped_short_and_capped() {
        let header = format!("id,\u{1b}[2J,{}\na,b,c\n", "h".repeat(1000));
        let got = shape_errors(&header, Format::Csv, "x.csv");
        assert!(got[0].contains(r#"x.csv row 1 (header): "\u{1b}[2J": unknown field"#), "{got:?}");
        assert!(got[0].contains(&format!("\"{}\"… (1000 characters): unknown field", "h".repeat(64))), "{got:?}");
        assert!(!got[0].contains('\u{1b}'));

        let keys: Vec<String> = (0..100).map(|i| format!("\"k{i}\":1")).collect();
        let json = format!("[{{\"id\":\"a\",{}}}]", keys.join(","));
        let Err(InventoryError::Invalid(p)) = read_str(&json, Format::Json, "x.json") else { panic!() };
        let errors = &p.shown[0].errors;
        assert_eq!(errors.len(), MAX_SHAPE_ERRORS + 1);
        assert_eq!(errors[MAX_SHAPE_ERRORS].message, "… and 84 more problem(s) of the same kind");
    }

    /// Numbers are kept as written: a parser would turn `0x1F` into 31 and a
    /// 30-digit id into `1e30`, and the id keyturn uses would not be the
    /// one in the file.
    #[test]
    fn numbers_keep_their_source_text() {
        let yaml = "- id: a\n  org: 0x1F\n  directory_id: 1e3\n  app_id: 0o17\n  idp_app_id: .inf\n  idp_job_id: 1_000\n  approver_group: 123456789012345678901234567890\n  kind: ~\n";
        let recs = read_str(yaml, Format::Yaml, "x.yaml").unwrap();
        for (field, text) in [
            ("org", "0x1F"),
            ("directory_id", "1e3"),
            ("app_id", "0o17"),
            ("idp_app_id", ".inf"),
            ("idp_job_id", "1_000"),
            ("approver_group", "123456789012345678901234567890"),
        ] {
            assert_eq!(recs[0].get(field), Some(text), "{field}");
        }
        assert_eq!(recs[0].get("kind"), None, "~ is null");

        let json = r#"[{"id":"a","org":123456789012345678901234567890,"directory_id":1e3,"app_id":0.10000000000000000555,"idp_app_id":-0,"idp_job_id":true,"kind":null}]"#;
        let recs = read_str(json, Format::Json, "x.json").unwrap();
        for (field, text) in [
            ("org", "123456789012345678901234567890"),
            ("directory_id", "1e3"),
            ("app_id", "0.10000000000000000555"),
            ("idp_app_id", "-0"),
            ("idp_job_id", "true"),
        ] {
            assert_eq!(recs[0].get(field), Some(text), "{field}");
        }
        assert_eq!(recs[0].get("kind"), None);
    }

    const YAML_LIST: &str = "# a comment\n---\nconnectors:   # the list\n  - # first\n    id: a\n    org: \"x\"\n\n# between\n  - id: b\n    http_template: |\n      {\"a\":\n       1}\n    org: 0x1F\n  - id: c\n    ownr: [1, 2]\n";

    /// A plain YAML list is read item by item, and reads the same as when
    /// it is read whole.
    #[test]
    fn a_plain_yaml_list_reads_item_by_item_as_it_would_whole() {
        let mut items = Vec::new();
        assert!(yaml_items(YAML_LIST.as_bytes(), &mut |chunk, line| {
            items.push((String::from_utf8_lossy(chunk).into_owned(), line));
            true
        }));
        assert_eq!(items.iter().map(|(_, l)| *l).collect::<Vec<_>>(), [4, 9, 14]);
        let whole = |text: &str| {
            let mut split = Split::default();
            let mut walk =
                Walk { source: "x.yaml", each: &mut |item| split.push("x.yaml", item), count: 0, stop: None };
            let de = serde_yaml_ng::Deserializer::from_slice(text.as_bytes());
            de.deserialize_any(Top::<YamlField> { walk: &mut walk, field: std::marker::PhantomData }).unwrap();
            split
        };
        let by_item = split_str(YAML_LIST, Format::Yaml, "x.yaml").unwrap();
        let at_once = whole(YAML_LIST);
        assert_eq!(by_item.records, at_once.records);
        assert_eq!(by_item.errors, at_once.errors);
        assert_eq!(by_item.records[1].get("http_template"), Some("{\"a\":\n 1}"));
        assert_eq!(by_item.errors[0].location, Location::Record(3));

        // Items at column 1 under `connectors:`, and with no `connectors:`.
        for text in ["connectors:\n- id: a\n- id: b\n", "- id: a\n- id: b\n"] {
            assert!(yaml_items(text.as_bytes(), &mut |_, _| true), "{text}");
            assert_eq!(read_str(text, Format::Yaml, "x").unwrap().len(), 2);
        }
        // Not plain lists: read whole (they are small).
        for text in ["[{id: a}]\n", "- id: a\nb: 1\n", "%YAML 1.2\n---\n- id: a\n", "  - id: a\n"] {
            assert!(!yaml_items(text.as_bytes(), &mut |_, _| true), "{text}");
        }
    }

    /// An alias to another record's anchor cannot be read item by item: a
    /// small file is read whole, a large one is refused by name.
    #[test]
    fn yaml_aliases_across_records_are_read_whole_or_refused_when_large() {
        let text = "- id: a\n  org: &o acme\n- id: b\n  org: *o\n";
        assert_eq!(read_str(text, Format::Yaml, "x.yaml").unwrap()[1].get("org"), Some("acme"));
        let big = text.to_owned() + &"- id: c\n  org: x\n".repeat(MAX_YAML_WHOLE / 16);
        let err = read_str(&big, Format::Yaml, "x.yaml").unwrap_err().to_string();
        assert!(err.contains("read one record at a time, and this one cannot be"), "{err}");
    }

    /// Errors in a list read item by item name the file's line.
    #[test]
    fn yaml_errors_read_item_by_item_name_the_file_line() {
        let err = read_str("- id: a\n  org: x\n- id: b\n  org:\n    - 1\n", Format::Yaml, "x.yaml").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("x.yaml: not valid YAML at line 5, column 5: record 2: org: invalid type: sequence"),
            "{err}"
        );
    }

    /// An endless reader (what `/dev/zero` or a FIFO is) stops at the limit.
    #[test]
    fn an_endless_reader_stops_at_the_size_limit() {
        for format in [Format::Csv, Format::Json, Format::Yaml] {
            let mut n = 0;
            let err = stream_reader(std::io::repeat(b'a'), 0, format, "endless", 1 << 20, &mut |_| n += 1).unwrap_err();
            assert!(matches!(err, InventoryError::TooLarge { .. }), "{format:?}: {err}");
            assert!(err.to_string().starts_with("endless: more than 1048576 bytes, the limit"), "{err}");
        }
    }

    /// `/dev/zero` under an inventory name: it reports no size, so only the
    /// bounded read stops it (before, it was read until memory ran out).
    #[cfg(unix)]
    #[test]
    fn dev_zero_stops_at_the_size_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zero.json");
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        let err = read_file(&path).unwrap_err();
        assert!(matches!(err, InventoryError::TooLarge { .. }), "{err}");
    }

    /// The record limit holds while reading: the reader stops at the first
    /// record over it, having handed on no more than the limit.
    #[test]
    fn the_record_limit_stops_the_read_at_the_first_record_over_it() {
        let csv = "id\n".to_owned() + &"a\n".repeat(MAX_RECORDS + 5);
        let json = "[".to_owned() + &"{},".repeat(MAX_RECORDS + 5) + "{}]";
        for (text, format, at) in [
            (csv, Format::Csv, format!("row {}", MAX_RECORDS + 2)),
            (json, Format::Json, format!("record {}", MAX_RECORDS + 1)),
        ] {
            let mut n = 0usize;
            let err = stream_str(&text, format, "big", &mut |_| n += 1).unwrap_err().to_string();
            assert_eq!(n, MAX_RECORDS, "{format:?}");
            assert!(err.contains(&format!("more than {MAX_RECORDS} records (stopped at {at})")), "{err}");
        }
    }
}
