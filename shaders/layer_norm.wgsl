// layer_norm.wgsl — layer norm over the last axis and its backward
// (Backend::layer_norm / layer_norm_backward; CPU mirror: src/cpu/layer_norm.rs).
//
// x is [rows, d] (all leading axes flattened), gamma and beta [d]:
//   mean = Σx/d, var = Σ(x − mean)²/d, rstd = 1/√(var + eps)
//   y = (x − mean)·rstd·gamma + beta,  stats[r] = (mean, rstd)
// Backward, with x̂ = (x − mean)·rstd and g = dy·gamma:
//   dx = rstd·(g − Σg/d − x̂·Σ(g·x̂)/d)            (per row)
//   dgamma = Σ_r dy·x̂, dbeta = Σ_r dy             (per column, rows in order)
//
// Entry `forward` (one 256-wide workgroup per row, (x, y) layout past the limit):
//   binding | name  | access     | shape
//   0       | p     | uniform    | Params
//   1       | x     | read       | [rows, d]
//   2       | gamma | read       | [d]
//   3       | beta  | read       | [d]
//   4       | y     | read_write | [rows, d]
//   5       | stats | read_write | [rows, 2] (mean, rstd)
//
// Entry `backward_dx` (one 256-wide workgroup per row):
//   1 x (read) [rows, d], 2 gamma (read) [d], 3 stats (read) [rows, 2],
//   4 dy (read) [rows, d], 5 dx (read_write) [rows, d]
//
// Entry `backward_params` (1-D, one invocation per column, gpu.grid(d, WG)):
//   1 x (read) [rows, d], 2 stats (read) [rows, 2], 3 dy (read) [rows, d],
//   4 dgamma (read_write) [d], 5 dbeta (read_write) [d]
//
// Invariants: row sums use the strided-partials + halving-tree order of
// cpu::dense::tree_sum (`tree` in common.wgsl); column sums loop rows in
// order in one invocation. Every output element has exactly one writer: no
// atomics, deterministic. Expressions keep the operand order of the CPU
// reference.

struct Params {
    rows: u32,
    d: u32,
    eps: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// ---- forward ----------------------------------------------------------------

@group(0) @binding(1) var<storage, read> f_x: array<f32>;
@group(0) @binding(2) var<storage, read> f_gamma: array<f32>;
@group(0) @binding(3) var<storage, read> f_beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> f_y: array<f32>;
@group(0) @binding(5) var<storage, read_write> f_stats: array<f32>;

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) t: u32) {
    let r = wid.y * nwg.x + wid.x;
    let live = r < p.rows;
    let d = p.d;
    let base = r * d;
    var s = 0.0;
    if (live) { for (var j = t; j < d; j += 256u) { s += f_x[base + j]; } }
    part[t] = s;
    let mean = tree(t, false) / f32(d);
    var v = 0.0;
    if (live) {
        for (var j = t; j < d; j += 256u) {
            let c = f_x[base + j] - mean;
            v += c * c;
        }
    }
    part[t] = v;
    let variance = tree(t, false) / f32(d);
    if (!live) { return; }
    let rstd = 1.0 / sqrt(variance + p.eps);
    for (var j = t; j < d; j += 256u) {
        f_y[base + j] = (f_x[base + j] - mean) * rstd * f_gamma[j] + f_beta[j];
    }
    if (t == 0u) {
        f_stats[2u * r] = mean;
        f_stats[2u * r + 1u] = rstd;
    }
}

// ---- backward: input gradient -------------------------------------------------

@group(0) @binding(1) var<storage, read> b_x: array<f32>;
@group(0) @binding(2) var<storage, read> b_gamma: array<f32>;
@group(0) @binding(3) var<storage, read> b_stats: array<f32>;
@group(0) @binding(4) var<storage, read> b_dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> b_dx: array<f32>;

@compute @workgroup_size(256)
fn backward_dx(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) t: u32) {
    let r = wid.y * nwg.x + wid.x;
    let live = r < p.rows;
    let d = p.d;
    let base = r * d;
    var mean = 0.0;
    var rstd = 0.0;
    if (live) {
        mean = b_stats[2u * r];
        rstd = b_stats[2u * r + 1u];
    }
    var s = 0.0;
    if (live) { for (var j = t; j < d; j += 256u) { s += b_dy[base + j] * b_gamma[j]; } }
    part[t] = s;
    let s1 = tree(t, false) / f32(d);
    var s2p = 0.0;
    if (live) {
        for (var j = t; j < d; j += 256u) {
            s2p += b_dy[base + j] * b_gamma[j] * ((b_x[base + j] - mean) * rstd);
        }
    }
    part[t] = s2p;
    let s2 = tree(t, false) / f32(d);
    if (!live) { return; }
    for (var j = t; j < d; j += 256u) {
        let xhat = (b_x[base + j] - mean) * rstd;
        b_dx[base + j] = rstd * (b_dy[base + j] * b_gamma[j] - s1 - xhat * s2);
    }
}

// ---- backward: scale and shift gradients ----------------------------------------

@group(0) @binding(1) var<storage, read> c_x: array<f32>;
@group(0) @binding(2) var<storage, read> c_stats: array<f32>;
@group(0) @binding(3) var<storage, read> c_dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> c_dgamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> c_dbeta: array<f32>;

@compute @workgroup_size(256)
fn backward_params(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = flat_id(gid, nwg, WG);
    let d = p.d;
    if (j >= d) { return; }
    var sg = 0.0;
    var sb = 0.0;
    for (var r = 0u; r < p.rows; r += 1u) {
        let xhat = (c_x[r * d + j] - c_stats[2u * r]) * c_stats[2u * r + 1u];
        let dv = c_dy[r * d + j];
        sg += dv * xhat;
        sb += dv;
    }
    c_dgamma[j] = sg;
    c_dbeta[j] = sb;
}
