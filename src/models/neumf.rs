//! NeuMF (in progress).
