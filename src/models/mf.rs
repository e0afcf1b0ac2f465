//! Biased matrix factorisation (in progress).
