// adagrad.wgsl — one fused Adagrad step: s ← s + g²;  p ← p − lr · g / (√s + eps),
// with g = grad + wd · p (L2 weight decay folded into the gradient).
//
// bindings: 0 p (uniform) {n, lr, eps, wd}
//           1 g (read) [n]
//           2 param (read_write) [n]
//           3 accum (read_write) [n]
// dispatch: 1-D over n.

struct Params { n: u32, lr: f32, eps: f32, wd: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read_write> accum: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.n) { return; }
    let w = param[i];
    let gi = g[i] + p.wd * w;
    let s = accum[i] + gi * gi;
    accum[i] = s;
    param[i] = w - p.lr * gi / (sqrt(s) + p.eps);
}
