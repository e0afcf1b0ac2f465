//! Side features of MovieLens 100K: movie genres (`u.item`) and user demographics (`u.user`),
//! as dense row-major matrices aligned to an [`IdMap`].
//!
//! Row `i` of a matrix belongs to index `i` of the map it was built for; ids the map has but
//! the side file lacks get a row of zeros (and `present[i] == false`); ids in the side file that
//! the map lacks are ignored. The files are latin-1 (`u.item` has titles such as
//! `Misérables, Les (1995)` in that encoding) and are decoded as such, byte for byte.
//! Malformed lines are [`Error::Data`] naming the file and the 1-based line.

use std::path::Path;

use super::IdMap;
use crate::error::{Error, Result};
use crate::sparse::CsrHost;

/// A dense feature matrix, one row per index of an [`IdMap`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeatureMatrix {
    /// Column names.
    pub names: Vec<String>,
    /// Number of rows (the length of the id map).
    pub rows: usize,
    /// `rows × names.len()` values, row-major.
    pub values: Vec<f32>,
    /// Whether the side file had a row for each index (rows without one are all zeros).
    pub present: Vec<bool>,
}

impl FeatureMatrix {
    fn zeros(names: Vec<String>, rows: usize) -> Self {
        let values = vec![0.0; rows * names.len()];
        Self { names, rows, values, present: vec![false; rows] }
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.names.len()
    }

    /// The features of row `i`. Panics when `i ≥ rows`.
    pub fn row(&self, i: usize) -> &[f32] {
        let c = self.cols();
        &self.values[i * c..(i + 1) * c]
    }

    /// The column called `name`, if any.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    fn row_mut(&mut self, i: usize) -> &mut [f32] {
        let c = self.cols();
        &mut self.values[i * c..(i + 1) * c]
    }
}

/// Movie side information from `u.item`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ItemSide {
    /// Binary genre flags, columns `genre=<name>` in `u.genre` order (19 for MovieLens 100K).
    pub genres: FeatureMatrix,
    /// Titles, decoded from latin-1 (empty where the file has no row).
    pub titles: Vec<String>,
}

/// The 19 MovieLens 100K genres in `u.genre` order (used when `u.genre` is absent).
pub const ML100K_GENRES: [&str; 19] = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

/// The MovieLens 1M age groups, used as one-hot age buckets: `[lo, hi)` years and a name.
const AGE_GROUPS: [(u32, u32, &str); 7] = [
    (0, 18, "<18"),
    (18, 25, "18-24"),
    (25, 35, "25-34"),
    (35, 45, "35-44"),
    (45, 50, "45-49"),
    (50, 56, "50-55"),
    (56, u32::MAX, "56+"),
];

/// Ages above this are errors (`age/100` would otherwise be a wild feature value).
const MAX_AGE: u32 = 150;

/// Decodes latin-1 (ISO 8859-1): every byte is the code point of the same value.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

fn data_err(path: &Path, line: usize, message: impl Into<String>) -> Error {
    Error::Data { path: path.to_path_buf(), line, message: message.into() }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

/// The non-blank lines of latin-1 `bytes` with their 1-based numbers, `\r` stripped.
fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, String)> + '_ {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, latin1(l.strip_suffix(b"\r").unwrap_or(l))))
        .filter(|(_, l)| !l.trim().is_empty())
}

/// `s` for an error message, cut to a readable length.
fn show(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
        None => format!("{s:?}"),
    }
}

/// Tracks which index each side-file line filled, to reject duplicates.
struct Seen(Vec<usize>);

impl Seen {
    /// The index of `id` in `map` when it is there and not yet seen; `None` when the map lacks it.
    fn claim(&mut self, path: &Path, line: usize, map: &IdMap, id: &str) -> Result<Option<usize>> {
        let Some(i) = map.get(id) else { return Ok(None) };
        let i = i as usize;
        if self.0[i] != 0 {
            return Err(data_err(path, line, format!("id {} is listed twice (first on line {})", show(id), self.0[i])));
        }
        self.0[i] = line;
        Ok(Some(i))
    }
}

/// Reads `u.genre` (`name|index` lines, indices 0, 1, … in order): the genre names.
pub fn parse_genres(path: &Path, bytes: &[u8]) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for (line, text) in lines(bytes) {
        let (name, idx) = text
            .rsplit_once('|')
            .ok_or_else(|| data_err(path, line, format!("expected `name|index`, found {}", show(&text))))?;
        if idx.trim().parse::<usize>().ok() != Some(names.len()) {
            return Err(data_err(path, line, format!("expected genre index {}, found {}", names.len(), show(idx))));
        }
        names.push(name.trim().to_string());
    }
    if names.is_empty() {
        return Err(data_err(path, 0, "no genres found"));
    }
    Ok(names)
}

/// Parses `u.item` (`id|title|release date|video release date|URL|` then one `0`/`1` flag per
/// genre in `genres`, [`ML100K_GENRES`] when `None`) for the items of `items`.
pub fn parse_ml100k_items(path: &Path, bytes: &[u8], items: &IdMap, genres: Option<&[String]>) -> Result<ItemSide> {
    let genres: Vec<String> = match genres {
        Some(g) => g.to_vec(),
        None => ML100K_GENRES.iter().map(|g| g.to_string()).collect(),
    };
    let g = genres.len();
    let names = genres.iter().map(|n| format!("genre={n}")).collect();
    let mut out =
        ItemSide { genres: FeatureMatrix::zeros(names, items.len()), titles: vec![String::new(); items.len()] };
    let mut seen = Seen(vec![0; items.len()]);
    for (line, text) in lines(bytes) {
        let fields: Vec<&str> = text.split('|').collect();
        let n = fields.len();
        if n < 5 + g {
            return Err(data_err(
                path,
                line,
                format!("expected {} fields separated by '|' (5 + {g} genre flags), found {n}", 5 + g),
            ));
        }
        let id = fields[0].trim();
        if id.is_empty() {
            return Err(data_err(path, line, "empty movie id"));
        }
        let mut flags = Vec::with_capacity(g);
        for (k, f) in fields[n - g..].iter().enumerate() {
            flags.push(match f.trim() {
                "0" => 0.0,
                "1" => 1.0,
                other => {
                    return Err(data_err(
                        path,
                        line,
                        format!("genre flag {} ({}) is {}, not 0 or 1", k + 1, genres[k], show(other)),
                    ))
                }
            });
        }
        let Some(i) = seen.claim(path, line, items, id)? else { continue };
        out.genres.row_mut(i).copy_from_slice(&flags);
        out.genres.present[i] = true;
        // A title holding '|' would split in two: rejoin everything between id and the dates.
        out.titles[i] = fields[1..n - g - 3].join("|");
    }
    Ok(out)
}

/// Loads `dir/u.item` for the items of `items`, with genre names from `dir/u.genre` when present.
pub fn load_ml100k_items(dir: &Path, items: &IdMap) -> Result<ItemSide> {
    let genre_path = dir.join("u.genre");
    let genres = if genre_path.is_file() { Some(parse_genres(&genre_path, &read(&genre_path)?)?) } else { None };
    let path = dir.join("u.item");
    parse_ml100k_items(&path, &read(&path)?, items, genres.as_deref())
}

/// Parses `u.user` (`id|age|gender|occupation|zip`) for the users of `users`.
///
/// Columns, in order: `age/100` (years divided by 100); one-hot age groups `age=<18`,
/// `age=18-24`, `age=25-34`, `age=35-44`, `age=45-49`, `age=50-55`, `age=56+` (MovieLens 1M's
/// groups); `gender=M`, `gender=F`; `occupation=<name>` for each of `occupations` (in that
/// order; when `None`, the distinct occupations of the file, sorted); and the zip code's first
/// character one-hot, `zip=0` … `zip=9`, `zip=other` (letters: Canadian codes).
/// An occupation missing from `occupations` or a gender other than `M`/`F` is an error.
pub fn parse_ml100k_users(
    path: &Path,
    bytes: &[u8],
    users: &IdMap,
    occupations: Option<&[String]>,
) -> Result<FeatureMatrix> {
    struct Row {
        line: usize,
        id: String,
        age: u32,
        male: bool,
        occupation: String,
        zip: String,
    }
    let mut rows = Vec::new();
    for (line, text) in lines(bytes) {
        let f: Vec<&str> = text.split('|').map(str::trim).collect();
        if f.len() != 5 {
            return Err(data_err(
                path,
                line,
                format!("expected 5 fields `id|age|gender|occupation|zip`, found {}", f.len()),
            ));
        }
        if f[0].is_empty() {
            return Err(data_err(path, line, "empty user id"));
        }
        let age: u32 =
            f[1].parse().map_err(|_| data_err(path, line, format!("age {} is not a whole number", show(f[1]))))?;
        if age > MAX_AGE {
            return Err(data_err(path, line, format!("age {age} is over {MAX_AGE} years")));
        }
        let male = match f[2] {
            "M" => true,
            "F" => false,
            g => return Err(data_err(path, line, format!("gender {} is not M or F", show(g)))),
        };
        rows.push(Row { line, id: f[0].into(), age, male, occupation: f[3].into(), zip: f[4].into() });
    }
    let occupations: Vec<String> = match occupations {
        Some(o) => o.to_vec(),
        None => {
            let mut o: Vec<String> = rows.iter().map(|r| r.occupation.clone()).collect();
            o.sort();
            o.dedup();
            o
        }
    };
    let mut names = vec!["age/100".to_string()];
    names.extend(AGE_GROUPS.iter().map(|g| format!("age={}", g.2)));
    names.extend(["gender=M".to_string(), "gender=F".to_string()]);
    names.extend(occupations.iter().map(|o| format!("occupation={o}")));
    names.extend((0..10).map(|d| format!("zip={d}")));
    names.push("zip=other".into());
    let occ0 = 1 + AGE_GROUPS.len() + 2;
    let zip0 = occ0 + occupations.len();
    let mut out = FeatureMatrix::zeros(names, users.len());
    let mut seen = Seen(vec![0; users.len()]);
    for r in rows {
        let occ = occupations.iter().position(|o| *o == r.occupation).ok_or_else(|| {
            data_err(path, r.line, format!("occupation {} is not in the list of occupations", show(&r.occupation)))
        })?;
        let Some(i) = seen.claim(path, r.line, users, &r.id)? else { continue };
        let row = out.row_mut(i);
        row[0] = r.age as f32 / 100.0;
        // The last group is open-ended: `(56, u32::MAX)` holds u32::MAX too.
        let group = AGE_GROUPS.iter().position(|g| r.age < g.1).unwrap_or(AGE_GROUPS.len() - 1);
        row[1 + group] = 1.0;
        row[1 + AGE_GROUPS.len() + usize::from(!r.male)] = 1.0;
        row[occ0 + occ] = 1.0;
        let zip = r.zip.chars().next().and_then(|c| c.to_digit(10)).map_or(10, |d| d as usize);
        row[zip0 + zip] = 1.0;
        out.present[i] = true;
    }
    Ok(out)
}

/// Loads `dir/u.user` for the users of `users`, with the occupation list from
/// `dir/u.occupation` when present (see [`parse_ml100k_users`] for the columns).
pub fn load_ml100k_users(dir: &Path, users: &IdMap) -> Result<FeatureMatrix> {
    let occ_path = dir.join("u.occupation");
    let occupations = if occ_path.is_file() {
        let list: Vec<String> = lines(&read(&occ_path)?).map(|(_, l)| l.trim().to_string()).collect();
        if list.is_empty() {
            return Err(data_err(&occ_path, 0, "no occupations found"));
        }
        Some(list)
    } else {
        None
    };
    let path = dir.join("u.user");
    parse_ml100k_users(&path, &read(&path)?, users, occupations.as_deref())
}

/// Item names (titles) where the data has them, aligned with `items` (""
/// for an item the file lacks): MovieLens 100K's `u.item` in the folder or
/// next to `u.data`, ML-1M/10M's `movies.dat` next to `ratings.dat`
/// (`id::title::genres`, latin-1 or UTF-8), MovieLens latest `movies.csv`
/// next to `ratings.csv` (titles quoted where they hold commas); `Ok(None)`
/// where there is no such file. A malformed file is an error naming its line.
pub fn load_item_names(data: &Path, items: &IdMap) -> Result<Option<Vec<String>>> {
    let dir = if data.is_dir() { Some(data) } else { data.parent() };
    let Some(dir) = dir else { return Ok(None) };
    let file = data.file_name().and_then(|f| f.to_str()).unwrap_or("");
    if data.is_dir() || file == "u.data" {
        if !dir.join("u.item").is_file() {
            return Ok(None);
        }
        return Ok(Some(load_ml100k_items(dir, items)?.titles));
    }
    let movies_dat = dir.join("movies.dat");
    if data.extension().and_then(|e| e.to_str()) == Some("dat") && movies_dat.is_file() {
        return parse_movies_dat(&movies_dat, &read(&movies_dat)?, items).map(Some);
    }
    let movies_csv = dir.join("movies.csv");
    if data.extension().and_then(|e| e.to_str()) == Some("csv") && movies_csv.is_file() && movies_csv != data {
        let text = super::movielens::decode_utf8(&movies_csv, read(&movies_csv)?)?;
        let fmt =
            super::movielens::CsvFormat::from_header_line(&movies_csv, &text, ",", "movieId", "title", None, None)?;
        // Read as (movie id, title) pairs through the quote-aware interaction parser.
        let pairs = super::movielens::parse_delimited(&movies_csv, &text, &fmt)?;
        let mut out = vec![String::new(); items.len()];
        for r in 0..pairs.len() {
            if let Some(i) = items.get(pairs.user_ids.id(pairs.users[r])) {
                out[i as usize] = pairs.item_ids.id(pairs.items[r]).to_string();
            }
        }
        return Ok(Some(out));
    }
    Ok(None)
}

/// Parses MovieLens 1M/10M `movies.dat` (`id::title::genres`) into titles aligned with `items`.
pub fn parse_movies_dat(path: &Path, bytes: &[u8], items: &IdMap) -> Result<Vec<String>> {
    let mut out = vec![String::new(); items.len()];
    // ML-1M's file is latin-1, later ones UTF-8: UTF-8 when the whole file is.
    let text = std::str::from_utf8(bytes).map(str::to_string).unwrap_or_else(|_| latin1(bytes));
    let numbered = text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim().is_empty());
    for (line, text) in numbered {
        let (Some(first), Some(last)) = (text.find("::"), text.rfind("::")) else {
            return Err(data_err(path, line, "expected id::title::genres"));
        };
        if first == last {
            return Err(data_err(path, line, "expected id::title::genres, found one '::'"));
        }
        if let Some(i) = items.get(text[..first].trim()) {
            out[i as usize] = text[first + 2..last].to_string();
        }
    }
    Ok(out)
}

/// Features of users or of items, keyed by id, for the feature-aware models
/// (`lightfm`): row r of `rows` holds the features of id `ids.id(r)` as
/// (column, value) entries, columns named by `names` (`gender=F`,
/// `genre=Comedy`, `age/100`). Keyed by id rather than by index, so a table
/// stays valid through any filter or re-indexing of the interactions; a model
/// asks for it [aligned](FeatureTable::aligned) to its own id map.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureTable {
    /// Column names.
    pub names: Vec<String>,
    /// The ids that have a row.
    pub ids: IdMap,
    /// `ids.len() × names.len()`.
    pub rows: CsrHost,
}

impl FeatureTable {
    /// A table with no columns and no rows.
    pub fn empty() -> Self {
        Self { names: Vec::new(), ids: IdMap::default(), rows: CsrHost::from_triplets(0, 0, &[]) }
    }

    /// The rows of `m` that the side file had (`present`), keyed by the ids of `map`
    /// (which `m` is aligned to); zero values are not stored.
    pub fn from_matrix(m: &FeatureMatrix, map: &IdMap) -> Self {
        let mut ids = IdMap::default();
        let mut trip = Vec::new();
        for i in (0..m.rows).filter(|&i| m.present[i]) {
            let r = ids.intern(map.id(i as u32));
            trip.extend(m.row(i).iter().enumerate().filter(|(_, v)| **v != 0.0).map(|(c, &v)| (r, c as u32, v)));
        }
        let rows = CsrHost::from_triplets(ids.len(), m.cols(), &trip);
        Self { names: m.names.clone(), ids, rows }
    }

    /// A table from (id, feature name) pairs, each feature with value 1
    /// (columns in order of first appearance; a repeated pair counts once):
    /// how an application hands its users' or items' categories to gpurec.
    pub fn from_pairs<S: AsRef<str>, T: AsRef<str>>(pairs: &[(S, T)]) -> Self {
        let (mut ids, mut names) = (IdMap::default(), IdMap::default());
        let mut trip: Vec<(u32, u32, f32)> =
            pairs.iter().map(|(id, f)| (ids.intern(id.as_ref()), names.intern(f.as_ref()), 1.0)).collect();
        trip.sort_by_key(|&(r, c, _)| (r, c));
        trip.dedup_by_key(|t| (t.0, t.1));
        let names: Vec<String> = (0..names.len() as u32).map(|c| names.id(c).to_string()).collect();
        let rows = CsrHost::from_triplets(ids.len(), names.len(), &trip);
        Self { names, ids, rows }
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.names.len()
    }

    /// The features of the ids of `map`, one row per index (`map.len() × cols`);
    /// ids without a row get an empty one.
    pub fn aligned(&self, map: &IdMap) -> CsrHost {
        let mut trip = Vec::new();
        for i in 0..map.len() as u32 {
            let Some(r) = self.ids.get(map.id(i)) else { continue };
            let (a, b) = (self.rows.row_ptr[r as usize] as usize, self.rows.row_ptr[r as usize + 1] as usize);
            trip.extend((a..b).map(|e| (i, self.rows.col_idx[e], self.rows.vals[e])));
        }
        CsrHost::from_triplets(map.len(), self.cols(), &trip)
    }

    /// The features of id `id`, if it has a row.
    pub fn row_of(&self, id: &str) -> Option<Vec<(u32, f32)>> {
        let r = self.ids.get(id)? as usize;
        let (a, b) = (self.rows.row_ptr[r] as usize, self.rows.row_ptr[r + 1] as usize);
        Some((a..b).map(|e| (self.rows.col_idx[e], self.rows.vals[e])).collect())
    }
}

/// Resolves feature names given by a user (`gender=F`, or `age/100:0.3` with a
/// value) against the column names `names`: (column, value) entries, value 1
/// when none is given. An unknown name is an error listing some known ones.
pub fn resolve_features(names: &[String], given: &[&str]) -> Result<Vec<(u32, f32)>> {
    let mut out: Vec<(u32, f32)> = Vec::with_capacity(given.len());
    for g in given {
        let g = g.trim();
        let (name, value) = match g.rsplit_once(':').map(|(n, v)| (n.trim(), v.trim().parse::<f32>())) {
            Some((n, Ok(v))) => (n, v),
            _ => (g, 1.0),
        };
        if !value.is_finite() {
            return Err(Error::Invalid(format!("feature {name:?}: value {value} is not finite")));
        }
        let Some(c) = names.iter().position(|n| n == name) else {
            let some: Vec<&str> = names.iter().take(12).map(String::as_str).collect();
            let more = if names.len() > 12 { format!(", … ({} in all)", names.len()) } else { String::new() };
            return Err(Error::Invalid(format!(
                "unknown feature {name:?}; the model knows {}{more}",
                if some.is_empty() { "none".to_string() } else { some.join(", ") }
            )));
        };
        if out.iter().any(|&(k, _)| k == c as u32) {
            return Err(Error::Invalid(format!("feature {name:?} is given twice")));
        }
        out.push((c as u32, value));
    }
    Ok(out)
}

/// User and item features, as [`crate::data::Interactions::side`] carries them.
#[derive(Clone, Debug, PartialEq)]
pub struct SideFeatures {
    /// User features (ML-100K: age, gender, occupation, zip region).
    pub users: FeatureTable,
    /// Item features (ML-100K: genres).
    pub items: FeatureTable,
}

/// MovieLens 100K's user and item features from `dir/u.user` and `dir/u.item`
/// for the users and items of the maps: `None` unless both files are there.
pub fn load_ml100k_side(dir: &Path, users: &IdMap, items: &IdMap) -> Result<Option<SideFeatures>> {
    if !(dir.join("u.user").is_file() && dir.join("u.item").is_file()) {
        return Ok(None);
    }
    let u = load_ml100k_users(dir, users)?;
    let i = load_ml100k_items(dir, items)?;
    Ok(Some(SideFeatures {
        users: FeatureTable::from_matrix(&u, users),
        items: FeatureTable::from_matrix(&i.genres, items),
    }))
}

/// Parses a feature file: a header line `id,<column>,…` (comma-separated, or
/// tab-separated when the header has a tab and no comma; RFC 4180 quotes),
/// then one line per id. Every column is categorical: a cell `v` is the
/// feature `<column>=v` with value 1, a cell `a|b` the two features
/// `<column>=a` and `<column>=b` (genre lists), an empty cell none. Columns are
/// named in order of first appearance. A line with the wrong number of
/// fields, an empty id or an id listed twice is an error naming the line.
pub fn parse_feature_csv(path: &Path, text: &str) -> Result<FeatureTable> {
    use std::borrow::Cow;
    let mut numbered = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
    let mut numbered = numbered.by_ref().filter(|(_, l)| !l.trim().is_empty());
    let Some((hline, header)) = numbered.next() else {
        return Err(data_err(path, 0, "empty feature file: expected a header line `id,<column>,…`"));
    };
    let delim = if header.contains(',') || !header.contains('\t') { "," } else { "\t" };
    let mut fields: Vec<Cow<'_, str>> = Vec::new();
    super::movielens::split_fields(header, delim, &mut fields).map_err(|e| data_err(path, hline, e))?;
    let columns: Vec<String> = fields.iter().map(|f| f.trim().to_string()).collect();
    if columns.len() < 2 {
        return Err(data_err(path, hline, "expected a header `id,<column>,…` with at least one feature column"));
    }
    if let Some(c) = columns.iter().skip(1).position(|c| c.is_empty()) {
        return Err(data_err(path, hline, format!("header column {} has no name", c + 2)));
    }
    let mut names = IdMap::default();
    let mut ids = IdMap::default();
    let mut first_line: Vec<usize> = Vec::new();
    let mut trip = Vec::new();
    for (line, text) in numbered {
        super::movielens::split_fields(text, delim, &mut fields).map_err(|e| data_err(path, line, e))?;
        if fields.len() != columns.len() {
            return Err(data_err(
                path,
                line,
                format!("expected {} fields like the header, found {}", columns.len(), fields.len()),
            ));
        }
        let id = fields[0].trim();
        if id.is_empty() {
            return Err(data_err(path, line, "empty id"));
        }
        let r = ids.intern(id);
        if (r as usize) < first_line.len() {
            return Err(data_err(
                path,
                line,
                format!("id {} is listed twice (first on line {})", show(id), first_line[r as usize]),
            ));
        }
        first_line.push(line);
        for (col, cell) in columns.iter().zip(fields.iter()).skip(1) {
            for v in cell.split('|').map(str::trim).filter(|v| !v.is_empty()) {
                let c = names.intern(&format!("{col}={v}"));
                if !trip.iter().rev().take_while(|&&(rr, _, _)| rr == r).any(|&(_, cc, _)| cc == c) {
                    trip.push((r, c, 1.0));
                }
            }
        }
    }
    let names: Vec<String> = (0..names.len() as u32).map(|c| names.id(c).to_string()).collect();
    let rows = CsrHost::from_triplets(ids.len(), names.len(), &trip);
    Ok(FeatureTable { names, ids, rows })
}

/// Loads a feature file ([`parse_feature_csv`]), UTF-8.
pub fn load_feature_csv(path: &Path) -> Result<FeatureTable> {
    let text = super::movielens::decode_utf8(path, read(path)?)?;
    parse_feature_csv(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(ids: &[&str]) -> IdMap {
        let mut m = IdMap::default();
        for id in ids {
            m.intern(id);
        }
        m
    }

    const ITEMS: &[u8] = b"1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\r\n\
543|Mis\xe9rables, Les (1995)|01-Jan-1995||http://y|0|0|0|0|0|0|0|0|1|0|0|0|1|0|0|0|0|0|0\n\
\n\
999|Not in the map|||http://z|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n";

    #[test]
    fn item_genres_align_to_the_map() {
        let m = map(&["543", "7", "1"]);
        let s = parse_ml100k_items(Path::new("u.item"), ITEMS, &m, None).unwrap();
        assert_eq!((s.genres.rows, s.genres.cols()), (3, 19));
        assert_eq!(s.genres.names[1], "genre=Action");
        assert_eq!(s.titles[0], "Misérables, Les (1995)", "latin-1 decoded");
        assert_eq!(s.titles[1], "", "7 has no row");
        assert_eq!(s.genres.present, vec![true, false, true]);
        let on = |r: usize| -> Vec<usize> { (0..19).filter(|&c| s.genres.row(r)[c] == 1.0).collect() };
        assert_eq!(on(0), vec![8, 12], "Drama, Musical");
        assert_eq!(on(1), Vec::<usize>::new());
        assert_eq!(on(2), vec![3, 4, 5], "Animation, Children's, Comedy");
        assert_eq!(s.genres.col("genre=Drama"), Some(8));
    }

    #[test]
    fn item_errors_name_the_line() {
        let m = map(&["1"]);
        let p = Path::new("u.item");
        let e = |b: &[u8]| parse_ml100k_items(p, b, &m, None).unwrap_err().to_string();
        assert!(e(b"1|short|x\n").starts_with("u.item:1:"));
        let bad_flag = b"\n1|T|d||u|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|2\n";
        assert!(e(bad_flag).starts_with("u.item:2:") && e(bad_flag).contains("Western"), "{}", e(bad_flag));
        let twice = b"1|T|d||u|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n1|T|d||u|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n";
        assert!(e(twice).starts_with("u.item:2:") && e(twice).contains("line 1"), "{}", e(twice));
        // Empty and binary input: no rows, no panic.
        assert_eq!(parse_ml100k_items(p, b"", &m, None).unwrap().genres.present, vec![false]);
        assert!(parse_ml100k_items(p, b"\xff\xfe\x00|\x01", &m, None).is_err());
        // A custom genre list changes the width.
        let g = vec!["a".to_string(), "b".to_string()];
        let s = parse_ml100k_items(p, b"1|T|d||u|1|0\n", &m, Some(&g)).unwrap();
        assert_eq!(
            (s.genres.names.clone(), s.genres.values.clone()),
            (vec!["genre=a".into(), "genre=b".into()], vec![1.0, 0.0])
        );
    }

    #[test]
    fn genre_list() {
        let g = parse_genres(Path::new("u.genre"), b"unknown|0\nAction|1\n\n").unwrap();
        assert_eq!(g, ["unknown", "Action"]);
        let e = parse_genres(Path::new("u.genre"), b"unknown|0\nAction|5\n").unwrap_err().to_string();
        assert!(e.starts_with("u.genre:2:"), "{e}");
    }

    #[test]
    fn user_demographics() {
        let text = b"1|24|M|technician|85711\n2|53|F|other|94043\n3|17|M|writer|T8H1N\n4|60|F|other|x\n";
        let m = map(&["3", "2", "99", "1"]);
        let f = parse_ml100k_users(Path::new("u.user"), text, &m, None).unwrap();
        // occupations from the file, sorted: other, technician, writer
        assert_eq!(f.cols(), 1 + 7 + 2 + 3 + 11);
        assert_eq!(f.present, vec![true, true, false, true]);
        let on = |r: usize| -> Vec<&str> {
            (0..f.cols()).filter(|&c| f.row(r)[c] == 1.0).map(|c| f.names[c].as_str()).collect()
        };
        assert_eq!(on(0), ["age=<18", "gender=M", "occupation=writer", "zip=other"]);
        assert_eq!(on(1), ["age=50-55", "gender=F", "occupation=other", "zip=9"]);
        assert_eq!(on(3), ["age=18-24", "gender=M", "occupation=technician", "zip=8"]);
        assert!(f.row(2).iter().all(|&v| v == 0.0));
        assert_eq!(f.row(1)[0], 0.53);
        let occ: Vec<String> = ["engineer", "other", "technician", "writer"].map(String::from).to_vec();
        let f = parse_ml100k_users(Path::new("u.user"), text, &m, Some(&occ)).unwrap();
        assert_eq!(f.cols(), 1 + 7 + 2 + 4 + 11);
        let p = Path::new("u.user");
        let e = |b: &[u8]| parse_ml100k_users(p, b, &m, Some(&occ)).unwrap_err().to_string();
        assert!(e(b"1|24|M|pilot|1\n").contains("pilot"));
        assert!(e(b"1|24|X|other|1\n").starts_with("u.user:1:"));
        assert!(e(b"1|-3|M|other|1\n").contains("age"));
        assert!(e(b"1,24,M,other,1\n").contains("5 fields"));
        // u32::MAX fell in no age group (the last one was half-open) and panicked.
        assert!(e(b"1|4294967295|M|other|1\n").starts_with("u.user:1: age 4294967295 is over 150"));
        let old = parse_ml100k_users(p, b"1|150|M|other|1\n", &m, Some(&occ)).unwrap();
        assert_eq!(old.row(3)[1..8], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0], "age=56+");
    }

    #[test]
    fn feature_tables_are_keyed_by_id_and_aligned_to_any_map() {
        let text = b"1|24|M|technician|85711\n2|53|F|other|94043\n";
        let m = map(&["2", "1", "7"]);
        let f = parse_ml100k_users(Path::new("u.user"), text, &m, None).unwrap();
        let t = FeatureTable::from_matrix(&f, &m);
        assert_eq!((t.ids.len(), t.cols()), (2, f.cols()), "id 7 had no row in the file");
        // Another map, in another order, with an id the table lacks.
        let other = map(&["1", "9", "2"]);
        let a = t.aligned(&other);
        assert_eq!((a.rows, a.cols), (3, f.cols()));
        assert!(a.row(1).is_empty());
        let names = |r: usize| -> Vec<&str> { a.row(r).iter().map(|&c| t.names[c as usize].as_str()).collect() };
        assert_eq!(names(0), ["age/100", "age=18-24", "gender=M", "occupation=technician", "zip=8"]);
        assert_eq!(names(2)[2..4], ["gender=F", "occupation=other"]);
        assert_eq!(t.row_of("2").unwrap()[0], (0, 0.53));
        assert_eq!(t.row_of("9"), None);
    }

    #[test]
    fn feature_files_are_categorical_columns_with_lists() {
        let p = Path::new("items.csv");
        let t = parse_feature_csv(
            p,
            "item,genres,studio\nA,Action|Comedy,Ghibli\nB,,\"Pixar, Inc\"\r\n\nC,Comedy,Ghibli\n",
        )
        .unwrap();
        assert_eq!(t.names, ["genres=Action", "genres=Comedy", "studio=Ghibli", "studio=Pixar, Inc"]);
        assert_eq!(t.row_of("A").unwrap(), [(0, 1.0), (1, 1.0), (2, 1.0)]);
        assert_eq!(t.row_of("B").unwrap(), [(3, 1.0)], "an empty cell is no feature; quotes keep commas");
        assert_eq!(t.row_of("C").unwrap(), [(1, 1.0), (2, 1.0)]);
        let tab = parse_feature_csv(p, "id\tage\nu1\t25-34\n").unwrap();
        assert_eq!(tab.names, ["age=25-34"]);
        let e = |text: &str| parse_feature_csv(p, text).unwrap_err().to_string();
        assert!(e("").contains("empty feature file"));
        assert!(e("id\n").contains("at least one feature column"));
        assert!(e("id,,x\n").starts_with("items.csv:1: header column 2 has no name"));
        assert!(e("id,g\nA,x\nB,y,z\n").starts_with("items.csv:3: expected 2 fields"), "{}", e("id,g\nA,x\nB,y,z\n"));
        assert!(e("id,g\nA,x\n\nA,y\n").starts_with("items.csv:4: id \"A\" is listed twice (first on line 2)"));
        assert!(e("id,g\n,x\n").starts_with("items.csv:2: empty id"));
        assert!(e("id,g\nA,\"x\n").contains("unterminated quote"));
    }

    #[test]
    fn feature_names_resolve_with_optional_values() {
        let names: Vec<String> = ["gender=F", "age/100", "genre=Sci-Fi"].map(String::from).to_vec();
        assert_eq!(resolve_features(&names, &["gender=F", " age/100:0.3 "]).unwrap(), [(0, 1.0), (1, 0.3)]);
        assert_eq!(resolve_features(&names, &["genre=Sci-Fi"]).unwrap(), [(2, 1.0)]);
        let e = |g: &[&str]| resolve_features(&names, g).unwrap_err().to_string();
        assert!(e(&["gender=X"]).contains("unknown feature \"gender=X\"; the model knows gender=F, age/100"));
        assert!(e(&["gender=F", "gender=F"]).contains("given twice"));
        assert!(e(&["age/100:inf"]).contains("not finite"));
        assert!(resolve_features(&[], &["a"]).unwrap_err().to_string().contains("knows none"));
    }
}
