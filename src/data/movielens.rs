//! Loaders for MovieLens files and plain delimited interaction files.
//!
//! Every parse error names the file and the 1-based line.

use std::path::{Path, PathBuf};

use super::Interactions;
use crate::error::{Error, Result};

/// Column layout of a delimited interaction file.
#[derive(Clone, Debug)]
pub struct CsvFormat {
    /// Field separator (`\t`, `,`, `::`, …).
    pub delimiter: String,
    /// Skip the first line.
    pub header: bool,
    /// 0-based columns of user, item, and optionally rating and timestamp.
    pub user_col: usize,
    /// Item column.
    pub item_col: usize,
    /// Rating column, if any (otherwise every interaction counts 1.0).
    pub rating_col: Option<usize>,
    /// Timestamp column, if any.
    pub time_col: Option<usize>,
}

impl CsvFormat {
    /// MovieLens 100K `u.data`: `user \t item \t rating \t timestamp`.
    pub fn ml100k() -> Self {
        Self { delimiter: "\t".into(), header: false, user_col: 0, item_col: 1, rating_col: Some(2), time_col: Some(3) }
    }

    /// MovieLens 1M / 10M `ratings.dat`: `user::item::rating::timestamp`.
    pub fn ml_dat() -> Self {
        Self { delimiter: "::".into(), ..Self::ml100k() }
    }

    /// MovieLens "latest" `ratings.csv` with a header line.
    pub fn ml_latest_csv() -> Self {
        Self { delimiter: ",".into(), header: true, ..Self::ml100k() }
    }
}

fn data_err(path: &Path, line: usize, message: impl Into<String>) -> Error {
    Error::Data { path: path.to_path_buf(), line, message: message.into() }
}

/// Reads a delimited interaction file.
pub fn load_delimited(path: &Path, fmt: &CsvFormat) -> Result<Interactions> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    parse_delimited(path, &text, fmt)
}

/// Parses delimited interaction text; `path` is used in error messages.
pub fn parse_delimited(path: &Path, text: &str, fmt: &CsvFormat) -> Result<Interactions> {
    let mut out = Interactions::default();
    let need =
        [Some(fmt.user_col), Some(fmt.item_col), fmt.rating_col, fmt.time_col].into_iter().flatten().max().unwrap();
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        if (fmt.header && i == 0) || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.trim_end_matches('\r').split(fmt.delimiter.as_str()).collect();
        if fields.len() <= need {
            return Err(data_err(
                path,
                lineno,
                format!(
                    "expected at least {} fields separated by {:?}, found {}",
                    need + 1,
                    fmt.delimiter,
                    fields.len()
                ),
            ));
        }
        let user = fields[fmt.user_col].trim();
        let item = fields[fmt.item_col].trim();
        if user.is_empty() || item.is_empty() {
            return Err(data_err(path, lineno, "empty user or item id"));
        }
        let rating = match fmt.rating_col {
            Some(c) => {
                let v: f32 = fields[c]
                    .trim()
                    .parse()
                    .map_err(|_| data_err(path, lineno, format!("rating {:?} is not a number", fields[c])))?;
                if !v.is_finite() {
                    return Err(data_err(path, lineno, format!("rating {v} is not finite")));
                }
                v
            }
            None => 1.0,
        };
        let ts = match fmt.time_col {
            Some(c) => {
                let f = fields[c].trim();
                f.parse::<i64>()
                    .or_else(|_| f.parse::<f64>().map(|v| v as i64))
                    .map_err(|_| data_err(path, lineno, format!("timestamp {f:?} is not a number")))?
            }
            None => 0,
        };
        out.push(user, item, rating, ts);
    }
    if out.is_empty() {
        return Err(data_err(path, 0, "no interactions found"));
    }
    Ok(out)
}

/// Loads MovieLens 100K from its folder (`u.data`).
pub fn load_ml100k(dir: &Path) -> Result<Interactions> {
    load_delimited(&dir.join("u.data"), &CsvFormat::ml100k())
}

/// Where the shared MovieLens 100K copy lives: `$GPUREC_ML100K`, else
/// `../shared/datasets/ml-100k` from the crate root. `None` when absent.
pub fn find_ml100k() -> Option<PathBuf> {
    let candidates = [
        std::env::var("GPUREC_ML100K").ok().map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/ml-100k")),
    ];
    candidates.into_iter().flatten().find(|p| p.join("u.data").is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_remaps_ids() {
        let t = "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t1\t878887116\n";
        let d = parse_delimited(Path::new("u.data"), t, &CsvFormat::ml100k()).unwrap();
        assert_eq!((d.len(), d.n_users(), d.n_items()), (3, 2, 2));
        assert_eq!(d.users, vec![0, 1, 0]);
        assert_eq!(d.items, vec![0, 1, 1]);
        assert_eq!(d.item_ids.id(1), "302");
        assert_eq!(d.timestamps[2], 878887116);
    }

    #[test]
    fn errors_name_file_and_line() {
        let t = "1\t2\t3\t4\n1\t2\tx\t4\n";
        let e = parse_delimited(Path::new("bad.data"), t, &CsvFormat::ml100k()).unwrap_err().to_string();
        assert!(e.starts_with("bad.data:2:") && e.contains("rating"), "{e}");
        let e = parse_delimited(Path::new("short.csv"), "1,2\n", &CsvFormat::ml_latest_csv()).unwrap_err();
        assert!(e.to_string().contains("no interactions"), "header line skipped, then nothing: {e}");
        let e = parse_delimited(Path::new("f.dat"), "1::2\n", &CsvFormat::ml_dat()).unwrap_err().to_string();
        assert!(e.starts_with("f.dat:1:") && e.contains("fields"), "{e}");
    }
}
