//! Splitting CSV, JSON and YAML inventory files into raw records.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::validate::FIELDS;
use super::{FieldError, InventoryError, Location, RawRecord, RecordError};

/// Inventory files above this size are refused before parsing.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Records per file, a bound on memory for hostile input.
pub const MAX_RECORDS: usize = 1_000_000;

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

/// Reads and splits a file. Unknown columns/fields come back as record errors
/// (`Err(Invalid)`) so a typo like `ownr` is never silently ignored.
pub fn read_file(path: &Path) -> Result<Vec<RawRecord>, InventoryError> {
    split_file(path)?.into_result()
}

/// Reads a file and splits it, keeping shape problems beside the records.
/// Only a file that cannot be read or parsed at all is an `Err`.
pub fn split_file(path: &Path) -> Result<Split, InventoryError> {
    let name = path.display().to_string();
    let format = Format::from_path(path).ok_or_else(|| InventoryError::UnknownFormat { path: name.clone() })?;
    let io = |source| InventoryError::Io { path: name.clone(), source };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_FILE_BYTES {
        return Err(InventoryError::TooLarge { path: name, size });
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    split_str(&text, format, &name)
}

/// Splits `text` in `format`; `source` names it in errors.
pub fn read_str(text: &str, format: Format, source: &str) -> Result<Vec<RawRecord>, InventoryError> {
    split_str(text, format, source)?.into_result()
}

impl Split {
    fn into_result(self) -> Result<Vec<RawRecord>, InventoryError> {
        if self.errors.is_empty() {
            Ok(self.records)
        } else {
            Err(InventoryError::Invalid(self.errors))
        }
    }
}

/// Like [`read_str`], keeping shape problems beside the records.
pub fn split_str(text: &str, format: Format, source: &str) -> Result<Split, InventoryError> {
    let malformed = |message: String| InventoryError::Malformed { path: source.to_owned(), message };
    match format {
        Format::Csv => read_csv(text, source),
        Format::Json => {
            let value: Value = serde_json::from_str(text)
                .map_err(|e| malformed(format!("not valid JSON at line {}, column {}: {e}", e.line(), e.column())))?;
            records_from_value(value, source)
        }
        Format::Yaml => {
            let value: Value = serde_yaml_ng::from_str(text).map_err(|e| {
                let at =
                    e.location().map(|l| format!(" at line {}, column {}", l.line(), l.column())).unwrap_or_default();
                malformed(format!("not valid YAML{at}: {e}"))
            })?;
            records_from_value(value, source)
        }
    }
}

fn read_csv(text: &str, source: &str) -> Result<Split, InventoryError> {
    let malformed = |message: String| InventoryError::Malformed { path: source.to_owned(), message };
    // Flexible: a ragged row is that row's problem, not the file's.
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true).from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| malformed(format!("cannot read the header row: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let mut split = Split::default();
    let unknown: Vec<FieldError> = headers
        .iter()
        .filter(|h| !FIELDS.contains(&h.as_str()))
        .map(|h| FieldError::new(h.clone(), unknown_field_message()))
        .collect();
    if !unknown.is_empty() {
        split.errors.push(RecordError {
            source: source.to_owned(),
            location: Location::Row(1),
            id: Some("header".into()),
            errors: unknown,
        });
    }
    for row in reader.records() {
        let row = row.map_err(|e| {
            let line = e.position().map(|p| format!("row {}: ", p.line())).unwrap_or_default();
            malformed(format!("{line}{e}"))
        })?;
        if split.records.len() >= MAX_RECORDS {
            return Err(malformed(format!("more than {MAX_RECORDS} records")));
        }
        let location = Location::Row(row.position().map_or(0, |p| p.line()));
        let fields: BTreeMap<String, String> = headers
            .iter()
            .zip(row.iter())
            .filter(|(h, v)| !v.is_empty() && FIELDS.contains(&h.as_str()))
            .map(|(h, v)| (h.clone(), v.to_owned()))
            .collect();
        if row.len() != headers.len() {
            split.errors.push(RecordError {
                source: source.to_owned(),
                location,
                id: fields.get("id").cloned(),
                errors: vec![FieldError::new(
                    "row",
                    format!(
                        "has {} cells, the header has {}; a cell may hold an unquoted comma",
                        row.len(),
                        headers.len()
                    ),
                )],
            });
            continue;
        }
        split.records.push(RawRecord { location, fields });
    }
    Ok(split)
}

/// JSON and YAML: a list of objects, or an object with a `connectors` list.
fn records_from_value(value: Value, source: &str) -> Result<Split, InventoryError> {
    let malformed = |message: &str| InventoryError::Malformed { path: source.to_owned(), message: message.to_owned() };
    let list = match value {
        Value::Array(list) => list,
        Value::Object(mut obj) => match obj.remove("connectors") {
            Some(Value::Array(list)) => list,
            _ => return Err(malformed("expected a list of connectors, or an object with a \"connectors\" list")),
        },
        Value::Null => Vec::new(),
        _ => return Err(malformed("expected a list of connectors, or an object with a \"connectors\" list")),
    };
    if list.len() > MAX_RECORDS {
        return Err(malformed(&format!("more than {MAX_RECORDS} records")));
    }
    let mut split = Split { records: Vec::with_capacity(list.len()), errors: Vec::new() };
    for (i, item) in list.into_iter().enumerate() {
        let location = Location::Record(i + 1);
        let Value::Object(obj) = item else {
            split.errors.push(RecordError {
                source: source.to_owned(),
                location,
                id: None,
                errors: vec![FieldError::new("record", "must be an object of fields")],
            });
            continue;
        };
        let mut fields = BTreeMap::new();
        let mut bad = Vec::new();
        for (key, v) in obj {
            let key = key.to_ascii_lowercase();
            if !FIELDS.contains(&key.as_str()) {
                bad.push(FieldError::new(key, unknown_field_message()));
                continue;
            }
            let text = match v {
                Value::Null => continue,
                Value::String(s) => s.trim().to_owned(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Array(_) | Value::Object(_) => {
                    bad.push(FieldError::new(key, "must be a single value, not a list or object"));
                    continue;
                }
            };
            if !text.is_empty() {
                fields.insert(key, text);
            }
        }
        if !bad.is_empty() {
            split.errors.push(RecordError {
                source: source.to_owned(),
                location,
                id: fields.get("id").cloned(),
                errors: bad,
            });
        }
        split.records.push(RawRecord { location, fields });
    }
    Ok(split)
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
        assert!(e[0].to_string().starts_with("x.csv row 1 (header): ownr: unknown field"));
        let Err(InventoryError::Invalid(e)) =
            read_str(r#"[{"id":"a","ownr":"x"},{"id":"b","org":[1]}]"#, Format::Json, "x.json")
        else {
            panic!()
        };
        assert_eq!(e.len(), 2);
        assert!(e[1].to_string().contains("x.json record 2 (b): org: must be a single value"));
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
}
