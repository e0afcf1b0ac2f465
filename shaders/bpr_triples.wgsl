// bpr_triples.wgsl — BPR-MF's loss and per-triple gradients in one pass.
//
// For k < n, with u = idx[k], i = idx[n + k], j = idx[2n + k] and rows
// p = user[u], qi = item[i], qj = item[j] of width d:
//     x_k = p·qi − p·qj               (each dot summed in order over d)
//     terms[k] = softplus(−x_k) = −ln σ(x_k)
//     g = −σ(−x_k) / n
//     d_user[k]      = g (qi − qj) + reg_n p
//     d_item[k]      = g p + reg_n qi
//     d_item[n + k]  = −(g p) + reg_n qj
// The mean of `terms` is taken by reduce.wgsl afterwards (the CPU order).
//
// bindings: 0 p (uniform) {n, d, inv_n, reg_n}
//           1 user (read) [users, d]     2 item (read) [items, d]
//           3 idx (read) [3n] u32        4 terms (rw) [n]
//           5 d_user (rw) [n, d]         6 d_item (rw) [2n, d]
// dispatch: 1-D, one triple per invocation.

struct Params { n: u32, d: u32, inv_n: f32, reg_n: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> user: array<f32>;
@group(0) @binding(2) var<storage, read> item: array<f32>;
@group(0) @binding(3) var<storage, read> idx: array<u32>;
@group(0) @binding(4) var<storage, read_write> terms: array<f32>;
@group(0) @binding(5) var<storage, read_write> d_user: array<f32>;
@group(0) @binding(6) var<storage, read_write> d_item: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let k = flat_id(gid, nwg, WG);
    if (k >= p.n) { return; }
    let d = p.d;
    let pu = idx[k] * d;
    let qi = idx[p.n + k] * d;
    let qj = idx[2u * p.n + k] * d;
    var xi = 0.0;
    var xj = 0.0;
    for (var c = 0u; c < d; c++) { xi += user[pu + c] * item[qi + c]; }
    for (var c = 0u; c < d; c++) { xj += user[pu + c] * item[qj + c]; }
    let x = xi - xj;
    terms[k] = max(-x, 0.0) + log(1.0 + exp(-abs(x)));
    let g = -1.0 / (1.0 + exp(x)) * p.inv_n;
    let out_u = k * d;
    let out_i = k * d;
    let out_j = (p.n + k) * d;
    for (var c = 0u; c < d; c++) {
        let pc = user[pu + c];
        let ic = item[qi + c];
        let jc = item[qj + c];
        d_user[out_u + c] = (ic - jc) * g + p.reg_n * pc;
        let gp = pc * g;
        d_item[out_i + c] = gp + p.reg_n * ic;
        d_item[out_j + c] = -gp + p.reg_n * jc;
    }
}
