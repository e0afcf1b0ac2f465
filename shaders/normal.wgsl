// normal.wgsl — N(0, 1) noise by Box–Muller on the counter-based generator
// (rng_* in common.wgsl; Backend::normal; CPU mirror: src/cpu/random.rs).
//
// Entry `main`:
//   binding | name | access     | shape
//   0       | p    | uniform    | Params {n, seed_lo, seed_hi, …} (dropout.wgsl's layout)
//   1       | out  | read_write | [n] f32
//
// Dispatch: 1-D over n, one element per invocation: gpu.grid(n, WG)
// workgroups of WG = 256 spilling into y (flat_id); invocations past n return.
//
// Invariants: element i depends only on (seed, i). With k = i & ~1,
// u1 = ((rng_u32(seed, k) >> 8) + 1) / 2^24 ∈ (0, 1] (so ln u1 is finite),
// u2 = rng_f32(seed, k + 1) ∈ [0, 1), r = √(−2 ln u1), θ = 2π u2;
// out[i] = r cos θ for even i, r sin θ for odd i — the pair (k, k+1) is one
// Box–Muller draw, computed by both of its invocations. The CPU gives the
// same values up to the rounding of ln, cos and sin.

struct Params { n: u32, seed_lo: u32, seed_hi: u32, bound: u32, prob: f32, scale: f32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

const TAU: f32 = 6.2831855;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.n) { return; }
    let k = i & ~1u;
    let u1 = f32((rng_u32(p.seed_lo, p.seed_hi, k) >> 8u) + 1u) * (1.0 / 16777216.0);
    let u2 = rng_f32(p.seed_lo, p.seed_hi, k + 1u);
    let r = sqrt(-2.0 * log(u1));
    let t = TAU * u2;
    out[i] = select(r * sin(t), r * cos(t), (i & 1u) == 0u);
}
