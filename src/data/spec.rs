//! Data named on a command line or in a model file: "synthetic" (the embedded
//! generator; `synthetic:users=…,items=…` sizes it), a MovieLens 100K folder, or an interaction file whose format
//! follows from its extension; the filters applied after loading; and the
//! fingerprint (canonical path and content checksum) a model file records so
//! that `eval` and `recommend` never silently read different data.

use std::path::{Path, PathBuf};

use super::filter::Duplicates;
use super::movielens::{self, CsvFormat};
use super::split::{load_presplit, load_presplit_inter, Split};
use super::synthetic::{generate, SyntheticConfig};
use super::Interactions;
use crate::error::{Error, Result};

/// Which file a data set came from and what it held.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint {
    /// The canonical (absolute, resolved) path of the file read.
    pub path: PathBuf,
    /// Its length in bytes.
    pub bytes: u64,
    /// CRC-32 of its contents.
    pub crc32: u32,
}

impl Fingerprint {
    /// The fingerprint of the file at `path`.
    pub fn of(path: &Path) -> Result<Self> {
        let io = |source| Error::Io { path: path.to_path_buf(), source };
        let canonical = path.canonicalize().map_err(io)?;
        let bytes = std::fs::read(&canonical).map_err(io)?;
        Ok(Self { path: canonical, bytes: bytes.len() as u64, crc32: crate::model_file::crc32(&bytes) })
    }

    /// An error unless the file at `self.path` still holds the same bytes.
    pub fn check(&self) -> Result<()> {
        let now = Self::of(&self.path).map_err(|e| {
            Error::Invalid(format!(
                "the model's training data {} cannot be read ({e}); pass --data",
                self.path.display()
            ))
        })?;
        if now != *self {
            return Err(Error::Invalid(format!(
                "{} has changed since the model was trained on it ({} bytes, CRC-32 {:08x}; it was {} bytes, {:08x}); \
                 pass --data to evaluate on it anyway",
                self.path.display(),
                now.bytes,
                now.crc32,
                self.bytes,
                self.crc32
            )));
        }
        Ok(())
    }
}

/// Interactions loaded from a spec, with where they came from.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The interactions.
    pub data: Interactions,
    /// In words, e.g. "path/to/u.data".
    pub source: String,
    /// The file's fingerprint (none for the synthetic data set).
    pub fingerprint: Option<Fingerprint>,
}

/// The format of an interaction file, from its extension: `.dat` is
/// MovieLens 1M/10M, `.csv` MovieLens "latest", anything else the
/// tab-separated `user item rating timestamp` layout of ML-100K's `u.data`
/// (RecBole's `.inter` files have a loader of their own).
pub fn format_for(path: &Path) -> CsvFormat {
    match path.extension().and_then(|e| e.to_str()) {
        Some("dat") => CsvFormat::ml_dat(),
        Some("csv") => CsvFormat::ml_latest_csv(),
        _ => CsvFormat::ml100k(),
    }
}

/// Loads `spec`: "synthetic", a folder holding `u.data`, or a file.
pub fn load(spec: &str) -> Result<Loaded> {
    if let Some(cfg) = SyntheticConfig::from_spec(spec) {
        let cfg = cfg?;
        return Ok(Loaded {
            data: generate(&cfg),
            source: if spec == "synthetic" {
                format!("embedded synthetic dataset (seed {})", cfg.seed)
            } else {
                format!("embedded synthetic dataset ({} users, {} items, seed {})", cfg.users, cfg.items, cfg.seed)
            },
            fingerprint: None,
        });
    }
    let path = PathBuf::from(spec);
    let (mut data, file) = if path.is_dir() {
        let file = path.join("u.data");
        if !file.is_file() {
            return Err(Error::Invalid(format!("{} is a folder without u.data (MovieLens 100K)", path.display())));
        }
        (movielens::load_ml100k(&path)?, file)
    } else if path.extension().and_then(|e| e.to_str()) == Some("inter") {
        (movielens::load_inter(&path)?, path.clone())
    } else {
        (movielens::load_delimited(&path, &format_for(&path))?, path.clone())
    };
    // MovieLens 100K's user and item features, when its u.user and u.item are next to u.data.
    if data.side.is_none() && file.file_name().and_then(|f| f.to_str()) == Some("u.data") {
        if let Some(dir) = file.parent() {
            data.side = super::side::load_ml100k_side(dir, &data.user_ids, &data.item_ids)?.map(std::sync::Arc::new);
        }
    }
    Ok(Loaded { data, source: path.display().to_string(), fingerprint: Some(Fingerprint::of(&file)?) })
}

/// Loads pre-split train / (optional) valid / test files into one id space,
/// each in the format its extension says (RecBole `.inter` files together;
/// RecBole's sequential ones, with an `item_id_list` column, through
/// [`crate::data::item_lists`]).
pub fn load_presplit_files(train: &Path, valid: Option<&Path>, test: &Path) -> Result<(Interactions, Split)> {
    let is_inter = |p: &Path| p.extension().and_then(|e| e.to_str()) == Some("inter");
    if is_inter(train) && crate::data::item_lists::has_item_list_header(&first_line(train)?) {
        crate::data::item_lists::load_presplit_item_lists(train, valid, test)
    } else if is_inter(train) {
        load_presplit_inter(train, valid, test)
    } else {
        load_presplit(train, valid, test, &format_for(train))
    }
}

/// What is kept of the loaded interactions.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Filters {
    /// Keep only ratings at or above this value (implicit feedback).
    pub threshold: Option<f32>,
    /// Drop users with fewer interactions (iterated with `min_item` until stable).
    pub min_user: usize,
    /// Drop items with fewer interactions.
    pub min_item: usize,
    /// What to do with repeated (user, item) rows (applied first).
    #[serde(default)]
    pub duplicates: Duplicates,
}

impl Filters {
    /// `data` with the filters applied, and how many repeated rows were
    /// merged; an error naming the filters when nothing is left.
    pub fn apply(&self, data: Interactions) -> Result<(Interactions, usize)> {
        if let Some(t) = self.threshold.filter(|t| !t.is_finite()) {
            return Err(Error::Invalid(format!("threshold {t}: a rating threshold must be a finite number")));
        }
        let before = data.len();
        let (mut data, merged) = data.dedup(self.duplicates);
        if self.threshold.is_some() {
            data = data.implicit(self.threshold);
        }
        if self.min_user > 0 || self.min_item > 0 {
            data = data.filter_min_interactions(self.min_user, self.min_item);
        }
        if data.is_empty() && before > 0 {
            return Err(Error::Invalid(format!(
                "the filters removed all {before} interactions (threshold {:?}, min_user {}, min_item {})",
                self.threshold, self.min_user, self.min_item
            )));
        }
        Ok((data, merged))
    }
}

/// The first line of `path` (empty for an empty file).
fn first_line(path: &Path) -> Result<String> {
    use std::io::BufRead;
    let file =
        std::fs::File::open(path).map_err(|source| crate::error::Error::Io { path: path.to_path_buf(), source })?;
    let mut line = String::new();
    std::io::BufReader::new(file)
        .read_line(&mut line)
        .map_err(|source| crate::error::Error::Io { path: path.to_path_buf(), source })?;
    Ok(line)
}
