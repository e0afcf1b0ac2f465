//! The model registry: the one place that lists the families. The CLI
//! (`--model`, `--help`), the API, `gpurec bench`, model files (`kind`) and
//! the conformance tests all ask it; nothing else names a model.
//!
//! A family is registered by one line in the [`families!`] invocation below.
//! For each, the registry makes its configuration from the defaults and the
//! caller's overrides (refusing unknown or wrong fields by name), builds a
//! model on either backend, writes a model file from the model's named
//! tensors and configuration, and loads one back after checking every
//! tensor's shape against what the configuration and the id maps imply,
//! before anything is allocated on the device.

use std::marker::PhantomData;

use super::contract::{Family, Info, Model, TrainSet};
use crate::backend::Backend;
use crate::data::IdMap;
use crate::error::{Error, Result};
use crate::model_file::ModelFile;

/// Settings a caller changes in a family's default configuration.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// Embedding size: sets every key of [`Info::dim_keys`].
    pub dim: Option<usize>,
    /// Learning rate: sets [`Info::lr_key`].
    pub lr: Option<f32>,
    /// Any other configuration keys, e.g. `("layers", 3)`.
    pub set: Vec<(String, serde_json::Value)>,
}

impl Overrides {
    /// Parses `KEY=VALUE` (the value as JSON, or else as a string), as `--set` takes it.
    pub fn parse_set(s: &str) -> Result<(String, serde_json::Value)> {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| Error::Invalid(format!("--set {s:?}: expected KEY=VALUE, e.g. layers=3")))?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_string()));
        Ok((k.trim().to_string(), value))
    }

    /// Parses every `--set` argument ([`Self::parse_set`]).
    pub fn parse_sets(sets: &[String]) -> Result<Vec<(String, serde_json::Value)>> {
        sets.iter().map(|s| Self::parse_set(s)).collect()
    }
}

/// A registered family, erased to one backend.
pub trait Entry<B: Backend> {
    /// What the family is.
    fn info(&self) -> &'static Info;
    /// Whether its models have feature embeddings ([`Family::FEATURES`]).
    fn takes_features(&self) -> bool;
    /// The default configuration with `o` applied, validated, as JSON.
    fn config(&self, o: &Overrides) -> Result<serde_json::Value>;
    /// A fresh model for `data` with configuration `config` (from [`Entry::config`]).
    fn build(&self, b: &B, data: &TrainSet, config: &serde_json::Value, seed: u64) -> Result<Box<dyn Model<B>>>;
    /// The model of a model file of this family, checked before anything is allocated.
    fn load(&self, b: &B, file: &ModelFile) -> Result<Box<dyn Model<B>>>;
}

struct Registered<F>(PhantomData<F>);

fn parse<F: Family>(value: &serde_json::Value, what: &str) -> Result<F::Config> {
    let cfg: F::Config =
        serde_json::from_value(value.clone()).map_err(|e| Error::Invalid(format!("{} {what}: {e}", F::INFO.name)))?;
    F::validate(&cfg)?;
    Ok(cfg)
}

impl<F: Family, B: Backend> Entry<B> for Registered<F> {
    fn info(&self) -> &'static Info {
        &F::INFO
    }

    fn takes_features(&self) -> bool {
        F::FEATURES
    }

    fn config(&self, o: &Overrides) -> Result<serde_json::Value> {
        let info = &F::INFO;
        let mut v = serde_json::to_value(F::Config::default()).expect("a configuration serialises to JSON");
        let obj = v.as_object_mut().expect("a configuration is a JSON object");
        if let Some(dim) = o.dim {
            if info.dim_keys.is_empty() {
                return Err(Error::Invalid(format!("{} has no embedding size to set (--dim)", info.name)));
            }
            for k in info.dim_keys {
                obj.insert(k.to_string(), dim.into());
            }
        }
        if let Some(lr) = o.lr {
            if !lr.is_finite() {
                return Err(Error::Invalid(format!("{}: lr must be a finite number, got {lr}", info.name)));
            }
            let k = info
                .lr_key
                .ok_or_else(|| Error::Invalid(format!("{} is not trained by gradient: it has no --lr", info.name)))?;
            obj.insert(k.to_string(), serde_json::json!(lr));
        }
        for (k, val) in &o.set {
            if !obj.contains_key(k) {
                let keys: Vec<&String> = obj.keys().collect();
                return Err(Error::Invalid(format!("{} has no setting `{k}` (it has {keys:?})", info.name)));
            }
            obj.insert(k.clone(), val.clone());
        }
        let cfg = parse::<F>(&v, "configuration")?;
        Ok(serde_json::to_value(cfg).expect("a configuration serialises to JSON"))
    }

    fn build(&self, b: &B, data: &TrainSet, config: &serde_json::Value, seed: u64) -> Result<Box<dyn Model<B>>> {
        let cfg = parse::<F>(config, "configuration")?;
        check_sizes(b, F::INFO.name, &F::layout(&cfg, data.n_users(), data.n_items()))?;
        Ok(Box::new(F::build(b, data, cfg, seed)?))
    }

    fn load(&self, b: &B, file: &ModelFile) -> Result<Box<dyn Model<B>>> {
        let cfg = parse::<F>(&file.config, "model file's configuration").map_err(|e| match &file.path {
            Some(p) => Error::ModelFile { path: p.clone(), message: e.to_string() },
            None => e,
        })?;
        file.check_layout(&F::layout(&cfg, file.user_ids.len(), file.item_ids.len()))?;
        F::load(b, cfg, file)
    }
}

/// An error with the sizes, before anything is allocated, unless every
/// tensor of `layout` fits the backend one by one and the model's weights
/// with their two Adam moments fit the host's memory together (the weights
/// are made on the host first). Sizes are multiplied with overflow checks,
/// so an absurd `--dim` is an error, not an abort.
pub fn check_sizes<B: Backend>(b: &B, model: &str, layout: &super::contract::Layout) -> Result<()> {
    let mut total: u64 = 0;
    for (name, shape) in layout {
        let what = || format!("{model}: tensor `{name}` {shape:?}");
        let bytes = shape
            .iter()
            .try_fold(4u64, |acc, &d| acc.checked_mul(d as u64))
            .ok_or_else(|| Error::Invalid(format!("{}: its size overflows 64 bits", what())))?;
        b.check_fits(&what, bytes)?;
        total = total.saturating_add(bytes);
    }
    let host = crate::cpu::host_memory_bytes();
    let need = total.saturating_mul(3);
    if need > host {
        return Err(Error::TooLarge {
            what: format!("{model}: weights and Adam moments of {} tensors", layout.len()),
            bytes: need,
            limit: host,
            limit_name: "host memory",
        });
    }
    Ok(())
}

/// Lists the families: `families! { path::Family, … }`, one per line.
macro_rules! families {
    ($($family:ty),+ $(,)?) => {
        /// Every registered family, in registry order.
        pub static FAMILIES: &[&Info] = &[$(&<$family as Family>::INFO),+];

        /// The family called `name`, on backend `B`.
        pub fn entry<B: Backend>(name: &str) -> Result<Box<dyn Entry<B>>> {
            $(if name == <$family as Family>::INFO.name {
                return Ok(Box::new(Registered::<$family>(PhantomData)));
            })+
            Err(Error::Invalid(format!("unknown model {name:?}; available: {}", names().join(", "))))
        }
    };
}

families! {
    super::bpr::Bpr,
    super::lightgcn::LightGcnFamily,
    super::ngcf::NgcfFamily,
    super::lightfm::LightFmFamily,
    super::neumf::NeuMfFamily,
    super::mf::Mf,
    super::autorec::AutoRecFamily,
    super::ease::Ease,
    super::itemknn::ItemKnn,
    super::pop::PopFamily,
    super::multdae::MultDaeFamily,
    super::multvae::MultVaeFamily,
    super::cdae::CdaeFamily,
    super::gru4rec::Gru4RecFamily,
    super::gru4rec::LstmFamily,
    super::caser::CaserFamily,
    super::sasrec::SasRecFamily,
}

/// The registered family names, in registry order.
pub fn names() -> Vec<&'static str> {
    FAMILIES.iter().map(|f| f.name).collect()
}

/// What the family `name` is.
pub fn info(name: &str) -> Result<&'static Info> {
    FAMILIES
        .iter()
        .copied()
        .find(|f| f.name == name)
        .ok_or_else(|| Error::Invalid(format!("unknown model {name:?}; available: {}", names().join(", "))))
}

/// A model file of `model` with training record `info` and the id maps.
pub fn to_file<B: Backend>(
    b: &B,
    model: &dyn Model<B>,
    info: serde_json::Value,
    user_ids: &IdMap,
    item_ids: &IdMap,
) -> Result<ModelFile> {
    Ok(ModelFile {
        kind: model.kind().into(),
        config: model.config(),
        info,
        user_ids: user_ids.clone(),
        item_ids: item_ids.clone(),
        tensors: model.weights(b)?,
        ..Default::default()
    })
}

/// The model `file` holds, on `b`: its family from `kind`, its configuration
/// validated, every tensor's shape checked against what the configuration
/// and the id maps imply (so a hand-made file whose widths disagree is
/// refused here, not found out by a panic while scoring).
pub fn load<B: Backend>(b: &B, file: &ModelFile) -> Result<Box<dyn Model<B>>> {
    let family = entry::<B>(&file.kind).map_err(|_| {
        let msg = format!("model kind {:?} is not one this version serves ({})", file.kind, names().join(", "));
        match &file.path {
            Some(p) => Error::ModelFile { path: p.clone(), message: msg },
            None => Error::Invalid(msg),
        }
    })?;
    family.load(b, file)
}
