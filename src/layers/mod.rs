//! Layers with forward, backward and parameters (in progress).
