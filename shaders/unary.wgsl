// unary.wgsl — out = op(x), elementwise.
//
// bindings: 0 p (uniform) {n, op, alpha, beta}
//           1 x (read) [n]
//           2 out (read_write) [n]
// dispatch: 1-D, ceil(n / WG) groups.
// op: 0 neg, 1 exp, 2 log, 3 sqrt, 4 square, 5 abs, 6 recip, 7 alpha·x + beta.

struct Params { n: u32, op: u32, alpha: f32, beta: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.n) { return; }
    let v = x[i];
    var r: f32;
    switch p.op {
        case 0u: { r = -v; }
        case 1u: { r = exp(v); }
        case 2u: { r = log(v); }
        case 3u: { r = sqrt(v); }
        case 4u: { r = v * v; }
        case 5u: { r = abs(v); }
        case 6u: { r = 1.0 / v; }
        default: { r = p.alpha * v + p.beta; }
    }
    out[i] = r;
}
