//! Rendering answers as a table, JSON, NDJSON or CSV on stdout.
//!
//! List items are written as they arrive (JSON, NDJSON, CSV), so walking
//! 10,000 tags with `--all` holds one page in memory; only the table, which
//! needs every row to size its columns, buffers.

use std::io::{self, BufWriter, IsTerminal, Stdout, Write};

use serde_json::Value;

/// Output format (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A human table (the default on a terminal).
    Table,
    /// Pretty JSON (the default when piped).
    Json,
    /// One compact JSON document per line.
    Ndjson,
    /// Comma-separated values with a header row.
    Csv,
}

impl Format {
    /// Parse a `--format` value.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "table" => Some(Format::Table),
            "json" => Some(Format::Json),
            "ndjson" => Some(Format::Ndjson),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// The default: a table on a terminal, JSON otherwise.
    pub fn default_for_stdout() -> Format {
        if io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Json
        }
    }
}

/// Keys shown first, in this order, when they exist.
const PREFERRED: &[&str] = &[
    "name",
    "namespace",
    "username",
    "userName",
    "token_label",
    "label",
    "uuid",
    "id",
    "group_id",
    "group_name",
    "team_name",
    "email",
    "role",
    "permission",
    "action",
    "actor",
    "tag_status",
    "status",
    "is_private",
    "is_active",
    "active",
    "pull_count",
    "star_count",
    "member_count",
    "full_size",
    "tag_last_pushed",
    "tag_last_pulled",
    "last_updated",
    "created_at",
    "timestamp",
    "digest",
    "description",
];

/// Keys that identify an item, for `--quiet`.
const IDENT: &[&str] = &[
    "name",
    "username",
    "userName",
    "uuid",
    "id",
    "group_id",
    "invitee",
    "label",
    "token_label",
];

/// Table columns at most.
const TABLE_COLUMNS: usize = 7;

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Object(_))
        && !matches!(v, Value::Array(a) if a.iter().any(|x| x.is_object() || x.is_array()))
}

/// Columns for items shaped like `first`: preferred keys first, then the
/// other scalar keys in order; at most `max`.
pub fn columns(first: &Value, max: Option<usize>) -> Vec<String> {
    let Some(obj) = first.as_object() else {
        return vec!["value".to_string()];
    };
    let mut cols: Vec<String> = PREFERRED
        .iter()
        .filter(|k| obj.get(**k).is_some_and(is_scalar))
        .map(|k| (*k).to_string())
        .collect();
    for (k, v) in obj {
        if is_scalar(v) && !cols.iter().any(|c| c == k) {
            cols.push(k.clone());
        }
    }
    if let Some(max) = max {
        cols.truncate(max);
    }
    cols
}

/// Text of one cell.
pub fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) if a.iter().all(|x| !x.is_object() && !x.is_array()) => a
            .iter()
            .map(|x| cell(Some(x)))
            .collect::<Vec<_>>()
            .join(","),
        Some(Value::Array(a)) => format!("<{} items>", a.len()),
        Some(other) => other.to_string(),
    }
}

/// The identifier of an item, for `--quiet`.
pub fn ident(v: &Value) -> Option<String> {
    match v {
        Value::Object(o) => IDENT
            .iter()
            .find_map(|k| o.get(*k).filter(|x| !x.is_null()))
            .map(|x| cell(Some(x))),
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_row(cols: &[String], v: &Value) -> String {
    cols.iter()
        .map(|c| {
            let x = if v.is_object() { v.get(c) } else { Some(v) };
            csv_field(&cell(x))
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A new comfy table without colours or terminal probing.
pub fn new_table(header: Vec<String>) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header);
    t
}

/// Writes list items or single values to stdout in one format.
pub struct Printer {
    format: Format,
    quiet: bool,
    out: BufWriter<Stdout>,
    count: usize,
    cols: Option<Vec<String>>,
    rows: Vec<Value>,
}

impl Printer {
    /// A printer for `format`; `quiet` prints identifiers only.
    pub fn new(format: Format, quiet: bool) -> Printer {
        Printer {
            format,
            quiet,
            out: BufWriter::new(io::stdout()),
            count: 0,
            cols: None,
            rows: Vec::new(),
        }
    }

    /// The format in use.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Write raw text (the CSV members export), as is.
    pub fn text(&mut self, s: &str) -> io::Result<()> {
        self.out.write_all(s.as_bytes())?;
        if !s.ends_with('\n') {
            self.out.write_all(b"\n")?;
        }
        self.out.flush()
    }

    /// Write one list item.
    pub fn item(&mut self, v: &Value) -> io::Result<()> {
        let first = self.count == 0;
        self.count += 1;
        if self.quiet {
            if let Some(id) = ident(v) {
                writeln!(self.out, "{id}")?;
            }
            return Ok(());
        }
        match self.format {
            Format::Json => {
                let text = serde_json::to_string_pretty(v).map_err(io::Error::other)?;
                let text = text.replace('\n', "\n  ");
                let sep = if first { "[\n  " } else { ",\n  " };
                write!(self.out, "{sep}{text}")?;
            }
            Format::Ndjson => {
                serde_json::to_writer(&mut self.out, v).map_err(io::Error::other)?;
                self.out.write_all(b"\n")?;
            }
            Format::Csv => {
                if first {
                    let cols = columns(v, None);
                    writeln!(
                        self.out,
                        "{}",
                        cols.iter()
                            .map(|c| csv_field(c))
                            .collect::<Vec<_>>()
                            .join(",")
                    )?;
                    self.cols = Some(cols);
                }
                let cols = self.cols.as_deref().unwrap_or_default();
                writeln!(self.out, "{}", csv_row(cols, v))?;
            }
            Format::Table => self.rows.push(v.clone()),
        }
        Ok(())
    }

    /// End a list started with [`Printer::item`].
    pub fn finish_list(&mut self) -> io::Result<()> {
        if self.quiet {
            return self.out.flush();
        }
        match self.format {
            Format::Json => {
                if self.count == 0 {
                    writeln!(self.out, "[]")?;
                } else {
                    writeln!(self.out, "\n]")?;
                }
            }
            Format::Table => {
                if let Some(first) = self.rows.first() {
                    let cols = columns(first, Some(TABLE_COLUMNS));
                    let mut t = new_table(cols.iter().map(|c| c.to_uppercase()).collect());
                    for r in &self.rows {
                        t.add_row(cols.iter().map(|c| {
                            if r.is_object() {
                                cell(r.get(c))
                            } else {
                                cell(Some(r))
                            }
                        }));
                    }
                    writeln!(self.out, "{t}")?;
                } else {
                    eprintln!("(no items)");
                }
                self.rows.clear();
            }
            Format::Ndjson | Format::Csv => {}
        }
        self.out.flush()
    }

    /// Write one value that is not a list.
    pub fn value(&mut self, v: &Value) -> io::Result<()> {
        if let Value::String(s) = v {
            return self.text(s);
        }
        if self.quiet {
            if let Some(id) = ident(v) {
                writeln!(self.out, "{id}")?;
            }
            return self.out.flush();
        }
        match self.format {
            Format::Json => {
                let text = serde_json::to_string_pretty(v).map_err(io::Error::other)?;
                writeln!(self.out, "{text}")?;
            }
            Format::Ndjson => writeln!(self.out, "{v}")?,
            Format::Csv => {
                let cols = columns(v, None);
                writeln!(
                    self.out,
                    "{}",
                    cols.iter()
                        .map(|c| csv_field(c))
                        .collect::<Vec<_>>()
                        .join(",")
                )?;
                writeln!(self.out, "{}", csv_row(&cols, v))?;
            }
            Format::Table => match v.as_object() {
                Some(obj) => {
                    let mut t = new_table(vec!["FIELD".into(), "VALUE".into()]);
                    for (k, x) in obj {
                        let text = if is_scalar(x) {
                            cell(Some(x))
                        } else {
                            x.to_string()
                        };
                        t.add_row(vec![k.clone(), text]);
                    }
                    writeln!(self.out, "{t}")?;
                }
                None => writeln!(self.out, "{}", cell(Some(v)))?,
            },
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_prefer_names_and_skip_nested() {
        let v = json!({"z": 1, "images": [{"a": 1}], "name": "x", "tag_status": "active"});
        assert_eq!(columns(&v, None), vec!["name", "tag_status", "z"]);
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(ident(&v).as_deref(), Some("x"));
    }
}
