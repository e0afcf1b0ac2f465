//! The data a command works on and how it is split, and what a model file
//! records of it so `eval` and `recommend` can rebuild exactly that data —
//! or refuse, when the file it names has changed since.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use gpurec::data::spec::{self, Filters, Fingerprint};
use gpurec::data::split::{leave_one_out, per_user_ratio, random_ratio, Split};
use gpurec::data::Interactions;
use gpurec::model_file::ModelFile;

/// How interactions are split into train / validation / test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SplitChoice {
    /// Per user, a random 80 % / 10 % / 10 % (RecBole's default for general models).
    Ratio,
    /// Over all interactions, a random 80 % / 10 % / 10 %.
    Random,
    /// Per user by time: the last interaction tests, the one before validates
    /// (users with fewer than three interactions only train).
    Loo,
}

impl SplitChoice {
    /// The name recorded in model files.
    pub fn name(self) -> &'static str {
        match self {
            SplitChoice::Ratio => "ratio",
            SplitChoice::Random => "random",
            SplitChoice::Loo => "loo",
        }
    }

    /// Reads a recorded name (model files before this record "per_user_ratio 8:1:1").
    fn from_record(s: &str) -> Option<Self> {
        match s {
            "ratio" | "per_user_ratio 8:1:1" => Some(SplitChoice::Ratio),
            "random" => Some(SplitChoice::Random),
            "loo" => Some(SplitChoice::Loo),
            _ => None,
        }
    }

    /// Describes the split for the command's header.
    pub fn describe(self, seed: u64) -> String {
        match self {
            SplitChoice::Ratio => format!("per-user random 8:1:1 (seed {seed})"),
            SplitChoice::Random => format!("random 8:1:1 over all interactions (seed {seed})"),
            SplitChoice::Loo => "per-user leave-one-out by time (last = test, second-to-last = validation)".into(),
        }
    }

    /// Splits `data`.
    pub fn apply(self, data: &Interactions, seed: u64) -> Result<Split> {
        Ok(match self {
            SplitChoice::Ratio => per_user_ratio(data, 0.1, 0.1, seed),
            SplitChoice::Random => random_ratio(data, 0.1, 0.1, seed)?,
            SplitChoice::Loo => leave_one_out(data),
        })
    }
}

/// Data as a command found it.
pub struct Input {
    /// The interactions (with filters applied).
    pub data: Interactions,
    /// Where they came from, in words.
    pub source: String,
    /// The split, when the data came pre-split (train, valid, test files).
    pub presplit: Option<Split>,
    /// What a model file records of the data (`info` keys).
    pub record: serde_json::Value,
    /// Repeated (user, item) rows merged by the duplicates policy.
    pub merged: usize,
    /// Item names (titles) where the data has them, aligned with the item ids.
    pub names: Option<Vec<String>>,
}

/// The item names next to `path` ([`gpurec::data::side::load_item_names`]);
/// a names file that cannot be read is reported and left out, since names
/// only label the output.
fn item_names(path: &Path, items: &gpurec::data::IdMap) -> Option<Vec<String>> {
    match gpurec::data::side::load_item_names(path, items) {
        Ok(names) => names,
        Err(e) => {
            eprintln!("warning: item names left out: {e}");
            None
        }
    }
}

/// `record` with the item names added (`item_names`), so served models show them.
fn with_names(mut record: serde_json::Value, names: &Option<Vec<String>>) -> serde_json::Value {
    if let Some(names) = names {
        record["item_names"] = serde_json::json!(names);
    }
    record
}

/// Where the data of `train` comes from.
pub struct DataArgs<'a> {
    pub data: &'a str,
    pub train: Option<&'a Path>,
    pub valid: Option<&'a Path>,
    pub test: Option<&'a Path>,
    pub filters: Filters,
}

/// Loads the data `train` was asked for.
pub fn load(a: &DataArgs<'_>) -> Result<Input> {
    match (a.train, a.test) {
        (Some(train), Some(test)) => {
            if a.filters != Filters::default() {
                bail!(
                    "--threshold, --min-user and --min-item do not apply to pre-split files: they are used as they are"
                );
            }
            let (data, split) = spec::load_presplit_files(train, a.valid, test)?;
            let fp = |p: &Path| Fingerprint::of(p).map_err(anyhow::Error::from);
            let record = serde_json::json!({
                "split": "files",
                "files": {
                    "train": fp(train)?,
                    "valid": a.valid.map(fp).transpose()?,
                    "test": fp(test)?,
                },
            });
            let source = match a.valid {
                Some(v) => format!("{} / {} / {}", train.display(), v.display(), test.display()),
                None => format!("{} / {}", train.display(), test.display()),
            };
            let names = item_names(train, &data.item_ids);
            Ok(Input { data, source, presplit: Some(split), record: with_names(record, &names), merged: 0, names })
        }
        (None, None) if a.valid.is_none() => {
            let loaded = spec::load(a.data)?;
            let (data, merged) = a.filters.apply(loaded.data).with_context(|| loaded.source.clone())?;
            let record = serde_json::json!({
                "data": a.data,
                "data_file": loaded.fingerprint,
                "data_folder": Path::new(a.data).is_dir(),
                "threshold": a.filters.threshold,
                "min_user": a.filters.min_user,
                "min_item": a.filters.min_item,
                "duplicates": a.filters.duplicates,
            });
            let names =
                if a.data.starts_with("synthetic") { None } else { item_names(Path::new(a.data), &data.item_ids) };
            Ok(Input { data, source: loaded.source, presplit: None, record: with_names(record, &names), merged, names })
        }
        _ => bail!("pre-split data needs --train and --test (--valid is optional)"),
    }
}

/// The data and split a model file was trained on, rebuilt from its record:
/// the same file (refused if its contents changed), the same filters and the
/// same split. With `over` (`--data`), that data instead, split the same way.
pub fn for_model(file: &ModelFile, over: Option<&str>) -> Result<(Interactions, String, Split)> {
    let info = &file.info;
    let seed = info.get("split_seed").and_then(|v| v.as_u64()).unwrap_or(2024);
    let split_name = info.get("split").and_then(|v| v.as_str()).unwrap_or("ratio");
    if over.is_none() && split_name == "files" {
        let files = &info["files"];
        let path = |k: &str| -> Result<Option<PathBuf>> {
            match files.get(k).filter(|v| !v.is_null()) {
                None => Ok(None),
                Some(v) => {
                    let fp: Fingerprint = serde_json::from_value(v.clone()).context("the model file's data record")?;
                    fp.check()?;
                    Ok(Some(fp.path))
                }
            }
        };
        let (train, valid, test) = (path("train")?, path("valid")?, path("test")?);
        let (Some(train), Some(test)) = (train, test) else { bail!("the model file's data record lacks its files") };
        let (data, split) = spec::load_presplit_files(&train, valid.as_deref(), &test)?;
        return Ok((data, format!("{} / {}", train.display(), test.display()), split));
    }
    let spec_str = match over {
        Some(d) => d.to_string(),
        None => {
            let spec = info
                .get("data")
                .and_then(|v| v.as_str())
                .ok_or_else(|| anyhow::anyhow!("the model file does not record its training data; pass --data"))?;
            match info.get("data_file").filter(|v| !v.is_null()) {
                // The file it was trained on, wherever this command runs, if it is unchanged.
                Some(v) => {
                    let fp: Fingerprint = serde_json::from_value(v.clone()).context("the model file's data record")?;
                    fp.check()?;
                    if info.get("data_folder").and_then(|v| v.as_bool()).unwrap_or(false) {
                        // A MovieLens folder: its u.data is what was fingerprinted.
                        fp.path.parent().map(|p| p.display().to_string()).unwrap_or_default()
                    } else {
                        fp.path.display().to_string()
                    }
                }
                None => spec.to_string(),
            }
        }
    };
    let loaded = spec::load(&spec_str)?;
    let filters = Filters {
        threshold: info.get("threshold").and_then(|v| v.as_f64()).map(|v| v as f32),
        min_user: info.get("min_user").and_then(|v| v.as_u64()).unwrap_or(0) as usize,
        min_item: info.get("min_item").and_then(|v| v.as_u64()).unwrap_or(0) as usize,
        // Files from before the policy existed kept every row.
        duplicates: match info.get("duplicates") {
            Some(v) => serde_json::from_value(v.clone()).context("the model file's `duplicates` record")?,
            None => gpurec::data::filter::Duplicates::Keep,
        },
    };
    let (data, _) = filters.apply(loaded.data)?;
    let choice = SplitChoice::from_record(split_name).unwrap_or(SplitChoice::Ratio);
    let split = choice.apply(&data, seed)?;
    Ok((data, loaded.source, split))
}
