// adam.wgsl — one fused Adam / AdamW step over a parameter buffer.
//
// entry dense: every element i < n of p, m, v with gradient g[i].
// entry rows:  lazy Adam — element i < n of the compact gradient g [len(rows), d]
//              updates table element rows[i / d]·d + i % d.
// bindings: 0 p (uniform) {n, d, decoupled, lr, beta1, beta2, eps, wd, bc1, bc2}
//           1 g (read)
//           2 param (read_write)
//           3 m (read_write)
//           4 v (read_write)
//           5 rows (read) u32                    — rows only
// dispatch: 1-D over n. bc1 = 1 − β1^t and bc2 = 1 − β2^t come from the host
// (computed once per step, as the CPU reference does).

struct Params {
    n: u32, d: u32, decoupled: u32, _pad0: u32,
    lr: f32, beta1: f32, beta2: f32, eps: f32,
    wd: f32, bc1: f32, bc2: f32, _pad1: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> rows: array<u32>;

fn update(k: u32, grad: f32) {
    var w = param[k];
    var gr = grad;
    if (p.decoupled == 0u) { gr = gr + p.wd * w; }
    let mk = p.beta1 * m[k] + (1.0 - p.beta1) * gr;
    let vk = p.beta2 * v[k] + (1.0 - p.beta2) * gr * gr;
    m[k] = mk;
    v[k] = vk;
    let mhat = mk / p.bc1;
    let vhat = vk / p.bc2;
    if (p.decoupled == 1u) { w = w - p.lr * p.wd * w; }
    param[k] = w - p.lr * mhat / (sqrt(vhat) + p.eps);
}

@compute @workgroup_size(256)
fn dense(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.n) { return; }
    update(i, g[i]);
}

@compute @workgroup_size(256)
fn sparse_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.n) { return; }
    update(rows[i / p.d] * p.d + i % p.d, g[i]);
}
