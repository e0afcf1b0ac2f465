//! Loaders for MovieLens files, RecBole atomic `.inter` files and plain
//! delimited interaction files (CSV, TSV, `::`-separated `.dat`).
//!
//! Every parse error is an [`Error::Data`] naming the file and the 1-based line
//! (line 0 when the problem is not on one line, e.g. an empty file); files that
//! cannot be read are [`Error::Io`]. Files must be UTF-8 (a leading byte-order
//! mark is skipped); other bytes are a [`Error::Data`] on the line that holds them.
//!
//! Fields may be quoted as in RFC 4180: a field that *starts* with `"` runs to
//! the next `"` that is not doubled (`""` stands for one `"`), and may hold the
//! delimiter. A quoted field cannot span lines (that is reported as an
//! unterminated quote). Unquoted fields are taken as they are, so a `"` inside
//! one is kept. Fields are trimmed of surrounding whitespace.

use std::borrow::Cow;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use super::Interactions;
use crate::error::{Error, Result};

/// Column layout of a delimited interaction file.
#[derive(Clone, Debug)]
pub struct CsvFormat {
    /// Field separator (`\t`, `,`, `::`, …); must not be empty.
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

    /// MovieLens "latest" (and 20M/25M/32M) `ratings.csv` with a header line
    /// `userId,movieId,rating,timestamp`.
    pub fn ml_latest_csv() -> Self {
        Self { delimiter: ",".into(), header: true, ..Self::ml100k() }
    }

    /// A format whose columns are picked by name from the first line of the file at `path`
    /// (which becomes a skipped header). See [`CsvFormat::from_header_line`] for how names match.
    pub fn from_header(
        path: &Path,
        delimiter: &str,
        user: &str,
        item: &str,
        rating: Option<&str>,
        time: Option<&str>,
    ) -> Result<Self> {
        let header = read_first_line(path)?;
        Self::from_header_line(path, &header, delimiter, user, item, rating, time)
    }

    /// A format whose columns are picked by name from `header`, the first line of the file
    /// `path` (named in errors; only the first line of `header` is read). A header field matches
    /// a name when it equals it, or when it has the RecBole form `name:type` (`user_id:token`).
    /// Quoted header fields are unquoted.
    /// A name that matches no field, or several, is an [`Error::Data`] on line 1.
    pub fn from_header_line(
        path: &Path,
        header: &str,
        delimiter: &str,
        user: &str,
        item: &str,
        rating: Option<&str>,
        time: Option<&str>,
    ) -> Result<Self> {
        let names = header_names(path, header, delimiter)?;
        let find = |want: &str| find_column(path, &names, want);
        Ok(Self {
            delimiter: delimiter.to_string(),
            header: true,
            user_col: find(user)?,
            item_col: find(item)?,
            rating_col: rating.map(find).transpose()?,
            time_col: time.map(find).transpose()?,
        })
    }

    /// The format of a RecBole atomic `.inter` file: tab-separated, a header of `name:type`
    /// fields, columns `user_id` and `item_id` (required), `rating` and `timestamp` (used when
    /// present). Reads only the header of `path`.
    pub fn inter(path: &Path) -> Result<Self> {
        let header = read_first_line(path)?;
        Self::inter_from_header_line(path, &header)
    }

    /// [`CsvFormat::inter`] from the header line itself (only its first line is read).
    pub fn inter_from_header_line(path: &Path, header: &str) -> Result<Self> {
        let names = header_names(path, header, "\t")?;
        let has = |name: &str| names.iter().any(|h| column_matches(h, name));
        let rating = has("rating").then_some("rating");
        let time = has("timestamp").then_some("timestamp");
        Self::from_header_line(path, header, "\t", "user_id", "item_id", rating, time)
    }
}

/// The trimmed, unquoted field names of the first line of `header`.
fn header_names(path: &Path, header: &str, delimiter: &str) -> Result<Vec<String>> {
    check_delimiter(delimiter)?;
    let header = header.strip_prefix('\u{feff}').unwrap_or(header);
    let line = header.lines().next().unwrap_or("");
    let mut fields = Vec::new();
    split_fields(line, delimiter, &mut fields).map_err(|m| data_err(path, 1, format!("header: {m}")))?;
    Ok(fields.iter().map(|f| f.trim().to_string()).collect())
}

/// A header field `h` names column `want` when it equals it or reads `want:type`.
fn column_matches(h: &str, want: &str) -> bool {
    h == want || h.split_once(':').is_some_and(|(n, _)| n == want)
}

fn find_column(path: &Path, names: &[String], want: &str) -> Result<usize> {
    let hits: Vec<usize> = (0..names.len()).filter(|&i| column_matches(&names[i], want)).collect();
    match hits.as_slice() {
        [i] => Ok(*i),
        [] => {
            Err(data_err(path, 1, format!("no column named {want:?} in the header (columns: {})", show_names(names))))
        }
        _ => Err(data_err(path, 1, format!("several columns are named {want:?}: {}", show_names(names)))),
    }
}

fn data_err(path: &Path, line: usize, message: impl Into<String>) -> Error {
    Error::Data { path: path.to_path_buf(), line, message: message.into() }
}

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io { path: path.to_path_buf(), source }
}

fn check_delimiter(delimiter: &str) -> Result<()> {
    if delimiter.is_empty() {
        return Err(Error::Invalid("the field delimiter must not be empty".into()));
    }
    Ok(())
}

/// `s` for an error message, cut to a readable length.
fn show(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}… ({} bytes)", &s[..cut], s.len()),
        None => format!("{s:?}"),
    }
}

fn show_names(names: &[String]) -> String {
    let shown: Vec<String> = names.iter().take(20).map(|n| show(n)).collect();
    let more = if names.len() > 20 { format!(", … ({} in all)", names.len()) } else { String::new() };
    format!("{}{more}", shown.join(", "))
}

/// Splits one line into fields at `delim`, honouring RFC 4180 quotes on fields that start
/// with `"`. `out` is cleared first. Errors describe the problem (the caller adds file and line).
pub(crate) fn split_fields<'a>(
    line: &'a str,
    delim: &str,
    out: &mut Vec<Cow<'a, str>>,
) -> std::result::Result<(), String> {
    debug_assert!(!delim.is_empty());
    out.clear();
    let mut pos = 0;
    loop {
        let rest = &line[pos..];
        if let Some(body) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut i = 0;
            loop {
                let Some(q) = body[i..].find('"') else {
                    return Err(format!("field {} has an unterminated quote", out.len() + 1));
                };
                value.push_str(&body[i..i + q]);
                i += q + 1;
                if body[i..].starts_with('"') {
                    value.push('"');
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(Cow::Owned(value));
            let after = &body[i..];
            if after.trim().is_empty() {
                return Ok(());
            }
            if !after.starts_with(delim) {
                return Err(format!("text after the closing quote of field {}", out.len()));
            }
            pos += 1 + i + delim.len();
        } else {
            match rest.find(delim) {
                Some(d) => {
                    out.push(Cow::Borrowed(&rest[..d]));
                    pos += d + delim.len();
                }
                None => {
                    out.push(Cow::Borrowed(rest));
                    return Ok(());
                }
            }
        }
    }
}

/// Reads a whole file as UTF-8 text (skipping a byte-order mark); invalid bytes are a
/// [`Error::Data`] naming their line.
pub(crate) fn read_utf8(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    decode_utf8(path, bytes)
}

/// The text of a file already read into `bytes` (`path` names it in errors), as
/// the loaders take it: UTF-8 with a leading byte-order mark skipped; invalid bytes
/// are a [`Error::Data`] naming their line.
pub fn decode_utf8(path: &Path, bytes: Vec<u8>) -> Result<String> {
    let mut text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        let col = at - bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
        data_err(path, line, format!("not valid UTF-8 (byte {col} of the line); convert the file to UTF-8"))
    })?;
    if text.starts_with('\u{feff}') {
        text.drain(..3);
    }
    Ok(text)
}

fn read_first_line(path: &Path) -> Result<String> {
    let file = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let mut buf = Vec::new();
    std::io::BufReader::new(file).read_until(b'\n', &mut buf).map_err(|e| io_err(path, e))?;
    first_line(path, &buf)
}

/// The header line of a file whose contents (or at least first line) are `bytes`,
/// exactly as `read_first_line` reads it from the file.
pub(crate) fn first_line(path: &Path, bytes: &[u8]) -> Result<String> {
    let buf = match bytes.iter().position(|&b| b == b'\n') {
        Some(nl) => &bytes[..=nl],
        None => bytes,
    };
    if buf.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(data_err(path, 1, "expected a header line, found an empty file"));
    }
    let line = std::str::from_utf8(buf).map_err(|_| data_err(path, 1, "the header line is not valid UTF-8"))?;
    Ok(line.strip_prefix('\u{feff}').unwrap_or(line).to_string())
}

/// Reads a delimited interaction file.
pub fn load_delimited(path: &Path, fmt: &CsvFormat) -> Result<Interactions> {
    let text = read_utf8(path)?;
    parse_delimited(path, &text, fmt)
}

/// Parses delimited interaction text; `path` is used in error messages.
/// At least one interaction is required.
pub fn parse_delimited(path: &Path, text: &str, fmt: &CsvFormat) -> Result<Interactions> {
    let mut out = Interactions::default();
    append_delimited(&mut out, path, text, fmt)?;
    Ok(out)
}

/// Parses delimited interaction text onto `out`, interning ids into its id maps (so several
/// files share one [`super::IdMap`]). Returns the number of interactions added, at least one.
pub(crate) fn append_delimited(out: &mut Interactions, path: &Path, text: &str, fmt: &CsvFormat) -> Result<usize> {
    check_delimiter(&fmt.delimiter)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let before = out.len();
    let need =
        [Some(fmt.user_col), Some(fmt.item_col), fmt.rating_col, fmt.time_col].into_iter().flatten().max().unwrap();
    let mut fields = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        if (fmt.header && i == 0) || line.trim().is_empty() {
            continue;
        }
        split_fields(line.trim_end_matches('\r'), &fmt.delimiter, &mut fields)
            .map_err(|m| data_err(path, lineno, m))?;
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
                let f = fields[c].trim();
                let v: f32 =
                    f.parse().map_err(|_| data_err(path, lineno, format!("rating {} is not a number", show(f))))?;
                if !v.is_finite() {
                    // Name what the file says: -1e40 parses to -inf in f32.
                    let what =
                        if f.parse::<f64>().is_ok_and(f64::is_finite) { "outside f32's range" } else { "not finite" };
                    return Err(data_err(path, lineno, format!("rating {} is {what}", show(f))));
                }
                v
            }
            None => 1.0,
        };
        let ts = match fmt.time_col {
            Some(c) => {
                let f = fields[c].trim();
                match f.parse::<i64>() {
                    Ok(t) => t,
                    Err(_) => match f.parse::<f64>() {
                        Ok(v) if v.is_finite() => v as i64,
                        _ => return Err(data_err(path, lineno, format!("timestamp {} is not a number", show(f)))),
                    },
                }
            }
            None => 0,
        };
        out.push(user, item, rating, ts);
    }
    if out.len() == before {
        return Err(data_err(path, 0, "no interactions found"));
    }
    Ok(out.len() - before)
}

/// Loads a RecBole atomic `.inter` file (see [`CsvFormat::inter`]).
pub fn load_inter(path: &Path) -> Result<Interactions> {
    parse_inter(path, &read_utf8(path)?)
}

/// [`load_inter`] on text already read (`path` names it in errors).
pub fn parse_inter(path: &Path, text: &str) -> Result<Interactions> {
    let first = text.lines().next().unwrap_or("");
    if first.trim().is_empty() {
        return Err(data_err(path, 1, "expected a header line of name:type fields, found an empty line"));
    }
    let fmt = CsvFormat::inter_from_header_line(path, first)?;
    parse_delimited(path, text, &fmt)
}

/// Loads MovieLens 100K from its folder (`u.data`), with its user and item
/// features ([`super::side::load_ml100k_side`]) when `u.user` and `u.item` are there.
pub fn load_ml100k(dir: &Path) -> Result<Interactions> {
    let mut data = load_delimited(&dir.join("u.data"), &CsvFormat::ml100k())?;
    data.side = super::side::load_ml100k_side(dir, &data.user_ids, &data.item_ids)?.map(std::sync::Arc::new);
    Ok(data)
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

    fn fields(line: &str, delim: &str) -> std::result::Result<Vec<String>, String> {
        let mut out = Vec::new();
        split_fields(line, delim, &mut out)?;
        Ok(out.into_iter().map(Cow::into_owned).collect())
    }

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

    #[test]
    fn a_rating_beyond_f32_is_named_as_written() {
        for (r, want) in [("-1e40", "rating \"-1e40\" is outside f32's range"), ("inf", "rating \"inf\" is not finite")]
        {
            let t = format!("1\t2\t3\t4\n1\t3\t{r}\t4\n");
            let e = parse_delimited(Path::new("big.data"), &t, &CsvFormat::ml100k()).unwrap_err().to_string();
            assert!(e.starts_with("big.data:2:") && e.contains(want), "{e}");
        }
    }

    #[test]
    fn splits_quoted_fields() {
        assert_eq!(fields("a,b,,c", ",").unwrap(), ["a", "b", "", "c"]);
        assert_eq!(fields("1,\"Toy, Story\",x", ",").unwrap(), ["1", "Toy, Story", "x"]);
        assert_eq!(fields("\"say \"\"hi\"\"\",2", ",").unwrap(), ["say \"hi\"", "2"]);
        assert_eq!(fields("\"\",\"\"", ",").unwrap(), ["", ""]);
        assert_eq!(fields("a,\"b\"", ",").unwrap(), ["a", "b"]);
        assert_eq!(fields("a\"b,c", ",").unwrap(), ["a\"b", "c"], "quote inside an unquoted field is kept");
        assert_eq!(fields("1::\"a::b\"::3", "::").unwrap(), ["1", "a::b", "3"]);
        assert_eq!(fields("x,", ",").unwrap(), ["x", ""]);
        assert!(fields("1,\"open", ",").unwrap_err().contains("unterminated"));
        assert!(fields("\"a\"b,c", ",").unwrap_err().contains("closing quote"));
        assert_eq!(fields("é,ü", ",").unwrap(), ["é", "ü"]);
    }

    #[test]
    fn ml_dat_and_latest_csv() {
        let dat = "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4.5::978298413\n";
        let d = parse_delimited(Path::new("ratings.dat"), dat, &CsvFormat::ml_dat()).unwrap();
        assert_eq!((d.len(), d.n_users(), d.n_items()), (3, 2, 2));
        assert_eq!(d.items, vec![0, 1, 0]);
        assert_eq!(d.ratings, vec![5.0, 3.0, 4.5]);
        assert_eq!(d.timestamps[1], 978302109);

        let csv =
            "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n1,3,4.0,964981247\r\n\r\n2,318,3.5,1445714835\r\n";
        let d = parse_delimited(Path::new("ratings.csv"), csv, &CsvFormat::ml_latest_csv()).unwrap();
        assert_eq!((d.len(), d.n_users(), d.n_items()), (3, 2, 3));
        assert_eq!(d.item_ids.id(2), "318");
        assert_eq!(d.ratings[2], 3.5);
        assert_eq!(d.timestamps[2], 1445714835);
    }

    #[test]
    fn columns_by_name() {
        let p = Path::new("r.csv");
        let h = "\u{feff}timestamp,rating,movieId,userId\n";
        let f = CsvFormat::from_header_line(p, h, ",", "userId", "movieId", Some("rating"), None).unwrap();
        assert_eq!((f.user_col, f.item_col, f.rating_col, f.time_col, f.header), (3, 2, Some(1), None, true));
        let d = parse_delimited(p, &format!("{h}5,2.5,m1,u1\n6,4,m2,u1\n"), &f).unwrap();
        assert_eq!((d.len(), d.n_users(), d.ratings[0], d.timestamps[0]), (2, 1, 2.5, 0));
        // RecBole-style name:type headers and quoted names match by name.
        let f = CsvFormat::from_header_line(p, "\"u\",i:token", ",", "u", "i", None, None).unwrap();
        assert_eq!((f.user_col, f.item_col), (0, 1));
        let e = CsvFormat::from_header_line(p, "a,b", ",", "a", "c", None, None).unwrap_err().to_string();
        assert!(e.starts_with("r.csv:1:") && e.contains("\"c\"") && e.contains("\"b\""), "{e}");
        let e = CsvFormat::from_header_line(p, "a,a,b", ",", "a", "b", None, None).unwrap_err().to_string();
        assert!(e.contains("several"), "{e}");
        assert!(matches!(CsvFormat::from_header_line(p, "a,b", "", "a", "b", None, None), Err(Error::Invalid(_))));
    }

    #[test]
    fn movies_csv_quotes() {
        // MovieLens latest movies.csv quotes titles that hold commas.
        let t = concat!(
            "movieId,title,genres\n",
            "1,Toy Story (1995),Adventure|Animation\n",
            "11,\"American President, The (1995)\",Comedy|Drama|Romance\n"
        );
        let f = CsvFormat::from_header_line(Path::new("movies.csv"), t, ",", "movieId", "title", None, None).unwrap();
        assert_eq!((f.user_col, f.item_col), (0, 1), "only the first line is the header");
        let d = parse_delimited(Path::new("movies.csv"), t, &f).unwrap();
        assert_eq!(d.item_ids.id(1), "American President, The (1995)");
        let bad = "movieId,title\n1,\"Open (1995)\n";
        let e = parse_delimited(Path::new("movies.csv"), bad, &f).unwrap_err().to_string();
        assert!(e.starts_with("movies.csv:2:") && e.contains("unterminated"), "{e}");
    }

    #[test]
    fn inter_header() {
        let p = Path::new("ml.inter");
        let f = CsvFormat::inter_from_header_line(p, "user_id:token\titem_id:token\trating:float\ttimestamp:float\n")
            .unwrap();
        assert_eq!((f.user_col, f.item_col, f.rating_col, f.time_col), (0, 1, Some(2), Some(3)));
        let f = CsvFormat::inter_from_header_line(p, "item_id:token\tuser_id:token").unwrap();
        assert_eq!((f.user_col, f.item_col, f.rating_col, f.time_col), (1, 0, None, None));
        let text = "item_id:token\tuser_id:token\n10\t1\n11\t1\n";
        let d = parse_delimited(p, text, &f).unwrap();
        assert_eq!((d.len(), d.n_users(), d.n_items(), d.ratings[1]), (2, 1, 2, 1.0));
        let e = CsvFormat::inter_from_header_line(p, "uid:token\titem_id:token").unwrap_err().to_string();
        assert!(e.starts_with("ml.inter:1:") && e.contains("user_id"), "{e}");
    }

    #[test]
    fn nasty_inputs_are_errors_not_panics() {
        let p = Path::new("x");
        let f = CsvFormat::ml100k();
        for (text, want) in [
            ("", "x:0:"),
            ("\n\n  \n", "x:0:"),
            ("1,2,3,4\n", "x:1:"),
            ("1\t2\t3\n", "x:1:"),
            ("1\t\t3\t4\n", "x:1:"),
            ("1\t2\tNaN\t4\n", "x:1:"),
            ("1\t2\t3\tinf\n", "x:1:"),
            ("1\t2\t3\t4\n1\t2\t3\tyesterday\n", "x:2:"),
        ] {
            let e = parse_delimited(p, text, &f).unwrap_err().to_string();
            assert!(e.starts_with(want), "{text:?}: {e}");
        }
        let header_only = parse_delimited(p, "userId,movieId,rating,timestamp\n", &CsvFormat::ml_latest_csv());
        assert!(header_only.unwrap_err().to_string().contains("no interactions"));
        // A long line: the error stays short.
        let long = format!("1\t2\t{}\t4\n", "9x".repeat(500_000));
        let e = parse_delimited(p, &long, &f).unwrap_err().to_string();
        assert!(e.starts_with("x:1:") && e.len() < 200, "{}", &e[..200.min(e.len())]);
        let long_ok = format!("{}\t2\t3\t4\n", "u".repeat(1_000_000));
        assert_eq!(parse_delimited(p, &long_ok, &f).unwrap().user_ids.id(0).len(), 1_000_000);
        // Float timestamps (RecBole writes them) are accepted.
        assert_eq!(parse_delimited(p, "1\t2\t3\t881250949.0\n", &f).unwrap().timestamps[0], 881250949);
    }
}
