//! Recommender models, one file each, each opening with its paper and
//! equations; [`contract`] says what a family declares and a model honours,
//! [`registry`] lists the families.

pub mod autorec;
pub mod bpr;
pub mod caser;
pub mod cdae;
pub mod contract;
pub mod dot;
pub mod ease;
pub mod gru4rec;
pub mod itemknn;
pub mod lightfm;
pub mod lightgcn;
pub mod mf;
pub mod multdae;
pub mod multvae;
pub mod neumf;
pub mod ngcf;
pub mod pop;
pub mod refit;
pub mod registry;
pub mod sasrec;

pub use autorec::{AutoRec, AutoRecConfig, AutoRecFamily};
pub use bpr::{Bpr, BprConfig, BprMf};
pub use caser::{Caser, CaserConfig, CaserFamily};
pub use cdae::{Cdae, CdaeConfig, CdaeFamily};
pub use contract::{
    Batch, BatchKind, Family, FeatureModel, Info, Model, RatingModel, Schedule, Scorer, Task, TrainSet,
};
pub use dot::DotScorer;
pub use ease::{Ease, EaseConfig, EaseModel};
pub use gru4rec::{Gru4Rec, Gru4RecConfig, Gru4RecFamily, LstmConfig, LstmFamily, LstmRec, NextItemRnn, RnnConfig};
pub use itemknn::{ItemKnn, ItemKnnConfig, ItemKnnModel};
pub use lightfm::{LightFm, LightFmConfig, LightFmFamily, LightFmServed};
pub use lightgcn::{LightGcn, LightGcnConfig, LightGcnFamily};
pub use mf::{BiasedMf, Mf, MfConfig};
pub use multdae::{MultDae, MultDaeConfig, MultDaeFamily};
pub use multvae::{MultVae, MultVaeConfig, MultVaeFamily};
pub use neumf::{NeuMf, NeuMfConfig, NeuMfFamily};
pub use ngcf::{Ngcf, NgcfConfig, NgcfFamily};
pub use pop::{Pop, PopConfig, PopFamily};
pub use registry::{Entry, Overrides, FAMILIES};
pub use sasrec::{SasRec, SasRecConfig, SasRecFamily};
