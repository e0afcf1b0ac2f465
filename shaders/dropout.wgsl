// dropout.wgsl — counter-based randomness (rng_* in common.wgsl).
//
// entry dropout: out[i] = x[i] / (1 − prob) if rng_f32(seed, i) ≥ prob else 0
//   bindings: 1 x (read) [n], 2 out (read_write) [n]
// entry random_ints: ints[i] = rng_u32(seed, i) mod bound
//   bindings: 3 ints (read_write) [n] u32
// bindings: 0 p (uniform) {n, seed_lo, seed_hi, bound, prob, scale}
// dispatch: 1-D over n. Value i depends only on (seed, i): the same seed gives
// the same mask on every backend, so dropout's backward is dropout(dy, prob, seed).

struct Params { n: u32, seed_lo: u32, seed_hi: u32, bound: u32, prob: f32, scale: f32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> ints: array<u32>;

@compute @workgroup_size(256)
fn dropout(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.n) { return; }
    let keep = rng_f32(p.seed_lo, p.seed_hi, i) >= p.prob;
    out[i] = select(0.0, x[i] * p.scale, keep);
}

@compute @workgroup_size(256)
fn random_ints(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.n) { return; }
    ints[i] = rng_u32(p.seed_lo, p.seed_hi, i) % p.bound;
}
