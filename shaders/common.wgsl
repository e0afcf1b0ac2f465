// common.wgsl — prelude prepended to every kernel in this folder (see
// src/gpu/shaders.rs). Holds what several kernels share: the flat index of
// 1-D grids that spill into the second dimension, the activation functions of
// fused epilogues, and the counter-based random generator (mirrored bit for
// bit by src/rng.rs).

// Workgroup size of 1-D elementwise kernels (gpu::WG on the host).
const WG: u32 = 256u;

// Flat invocation index of a 1-D grid of `wg`-wide workgroups laid out as
// (x, y) when the group count exceeds the per-dimension limit.
fn flat_id(gid: vec3<u32>, nwg: vec3<u32>, wg: u32) -> u32 {
    return gid.y * nwg.x * wg + gid.x;
}

// Activation codes (Act::code on the host): 0 identity, 1 relu, 2 leaky relu,
// 3 sigmoid, 4 tanh, 5 softplus.
fn act_forward(x: f32, code: u32, alpha: f32) -> f32 {
    switch code {
        case 1u: { return max(x, 0.0); }
        case 2u: { return select(alpha * x, x, x > 0.0); }
        case 3u: { return 1.0 / (1.0 + exp(-x)); }
        case 4u: { return tanh(x); }
        case 5u: { return max(x, 0.0) + log(1.0 + exp(-abs(x))); }
        default: { return x; }
    }
}

// act'(x) written with the output y = act(x).
fn act_grad_from_output(y: f32, code: u32, alpha: f32) -> f32 {
    switch code {
        case 1u: { return select(0.0, 1.0, y > 0.0); }
        case 2u: { return select(alpha, 1.0, y > 0.0); }
        case 3u: { return y * (1.0 - y); }
        case 4u: { return 1.0 - y * y; }
        case 5u: { return 1.0 - exp(-y); }
        default: { return 1.0; }
    }
}

// PCG hash (Jarzynski & Olano 2020).
fn pcg_hash(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// Value i of the stream with 64-bit seed (lo, hi).
fn rng_u32(seed_lo: u32, seed_hi: u32, i: u32) -> u32 {
    return pcg_hash(pcg_hash(i ^ pcg_hash(seed_lo)) + seed_hi);
}

// Uniform in [0, 1) with 24 bits.
fn rng_f32(seed_lo: u32, seed_hi: u32, i: u32) -> f32 {
    return f32(rng_u32(seed_lo, seed_hi, i) >> 8u) * (1.0 / 16777216.0);
}

// -inf, built at run time (WGSL has no infinite literals).
fn neg_inf() -> f32 {
    return bitcast<f32>(0xff800000u);
}

// Workgroup reduction shared by the row kernels (reduce, softmax, loss):
// each of the 256 invocations stores its partial in part[t], then calls
// tree(t, is_max) — a halving tree, the order cpu::dense::tree_sum mirrors.
// Every invocation of the group must call it (it holds barriers). Modules
// that never call it do not pay for `part`: unused workgroup variables are
// not part of any entry point.
var<workgroup> part: array<f32, 256>;

fn tree(t: u32, is_max: bool) -> f32 {
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (t < s) {
            if (is_max) { part[t] = max(part[t], part[t + s]); } else { part[t] += part[t + s]; }
        }
        workgroupBarrier();
    }
    let v = part[0];
    workgroupBarrier();
    return v;
}
