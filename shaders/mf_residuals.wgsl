// mf_residuals.wgsl — biased MF's predictions, squared errors and their
// gradients in one pass over a batch of ratings.
//
// For k < n, with table rows u = idx[k] (a user) and i = idx[n + k] (an item):
//     r̂_k = ((Σ_c F[u, c] · F[i, c]) + B[u]) + B[i]     (dot summed in order over d)
//     e_k = r̂_k − want[k]
//     terms[k] = e_k²            grad[k] = 2 e_k / n
// The mean of `terms` is taken by reduce.wgsl afterwards (the CPU order).
//
// bindings: 0 p (uniform) {n, d, inv_n}
//           1 factors (read) [rows, d]   2 biases (read) [≥ rows]
//           3 idx (read) [2n] u32        4 want (read) [n]
//           5 terms (rw) [n]             6 grad (rw) [n]
// dispatch: 1-D, one rating per invocation.

struct Params { n: u32, d: u32, inv_n: f32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> factors: array<f32>;
@group(0) @binding(2) var<storage, read> biases: array<f32>;
@group(0) @binding(3) var<storage, read> idx: array<u32>;
@group(0) @binding(4) var<storage, read> want: array<f32>;
@group(0) @binding(5) var<storage, read_write> terms: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let k = flat_id(gid, nwg, WG);
    if (k >= p.n) { return; }
    let u = idx[k];
    let i = idx[p.n + k];
    var dot = 0.0;
    for (var c = 0u; c < p.d; c++) { dot += factors[u * p.d + c] * factors[i * p.d + c]; }
    let e = dot + biases[u] + biases[i] - want[k];
    terms[k] = e * e;
    grad[k] = 2.0 * e * p.inv_n;
}
