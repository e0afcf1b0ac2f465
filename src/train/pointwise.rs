//! Pointwise training loop (rating prediction).
