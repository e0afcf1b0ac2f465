//! The GPU side of each op family: host functions that check shapes, pick a
//! grid and record the dispatches of the matching `shaders/*.wgsl` kernel.

pub(crate) mod conv;
pub(crate) mod dense;
pub(crate) mod embedding;
pub(crate) mod gru;
pub(crate) mod layer_norm;
pub(crate) mod linalg;
pub(crate) mod loss;
pub(crate) mod lstm;
pub(crate) mod masked_softmax;
pub(crate) mod metrics;
pub(crate) mod optim;
pub(crate) mod random;
pub(crate) mod sparse;
pub(crate) mod topk;
