// masked_softmax.wgsl — softmax over attention scores with a causal and a
// key-padding mask (Backend::masked_softmax; CPU mirror:
// src/cpu/masked_softmax.rs). The backward is softmax.wgsl's (y·(dy − Σ dy·y)
// is 0 wherever y is).
//
// x is [n, lq, lk]; row r = b·lq + i holds query i of batch b. Key j is
// masked when p.causal = 1 and j > i, or when p.has_mask = 1 and
// key_mask[(b / p.group)·lk + j] = 0 (key_mask [n / group, lk], 0/1 floats).
//   mx = max over unmasked j of x[r, j]
//   out[r, j] = exp(x[r, j] − mx) / Σ_unmasked exp(x[r, k] − mx), 0 if masked
//   a row with mx = −inf (every key masked) is all 0, never NaN.
//
// Entry `forward` (one 256-wide workgroup per row, (x, y) layout past the limit):
//   binding | name     | access     | shape
//   0       | p        | uniform    | Params
//   1       | x        | read       | [n, lq, lk]
//   2       | key_mask | read       | [n / group, lk]; any read-only buffer when p.has_mask = 0
//   3       | out      | read_write | [n, lq, lk]
//
// Invariants: the sum adds 0 for masked keys and runs in the strided-partials
// + halving-tree order of cpu::dense::tree_sum (`tree` in common.wgsl); each
// output element has one writer (no atomics, deterministic).

struct Params {
    rows: u32,     // n·lq
    lq: u32,
    lk: u32,
    group: u32,    // batches per key-mask row (heads)
    causal: u32,
    has_mask: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> key_mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn kept(b: u32, i: u32, j: u32) -> bool {
    if (p.causal != 0u && j > i) { return false; }
    if (p.has_mask != 0u && key_mask[(b / p.group) * p.lk + j] == 0.0) { return false; }
    return true;
}

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) t: u32) {
    let r = wid.y * nwg.x + wid.x;
    let live = r < p.rows;
    let lk = p.lk;
    let b = r / p.lq;
    let i = r - b * p.lq;
    let base = r * lk;
    var m = neg_inf();
    if (live) {
        for (var j = t; j < lk; j += 256u) {
            if (kept(b, i, j)) { m = max(m, x[base + j]); }
        }
    }
    part[t] = m;
    let mx = tree(t, true);
    var s = 0.0;
    if (live && mx != neg_inf()) {
        for (var j = t; j < lk; j += 256u) {
            if (kept(b, i, j)) { s += exp(x[base + j] - mx); }
        }
    }
    part[t] = s;
    let sum = tree(t, false);
    if (!live) { return; }
    let any = mx != neg_inf();
    for (var j = t; j < lk; j += 256u) {
        if (any && kept(b, i, j)) { out[base + j] = exp(x[base + j] - mx) / sum; } else { out[base + j] = 0.0; }
    }
}
