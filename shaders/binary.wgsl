// binary.wgsl — out = a op b with numpy broadcasting up to rank 4.
//
// bindings: 0 p (uniform) {n, op, dims, sa, sb}
//           1 a (read) — strides sa (0 on broadcast axes)
//           2 b (read) — strides sb
//           3 out (read_write) [dims], n = Π dims
// dispatch: 1-D, ceil(n / WG) groups, one output element per invocation.
// op: 0 add, 1 sub, 2 mul, 3 div. Shapes are right-aligned into 4 axes.

struct Params {
    n: u32, op: u32, _pad0: u32, _pad1: u32,
    dims: vec4<u32>,
    sa: vec4<u32>,
    sb: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.n) { return; }
    var rem = i;
    var ia = 0u;
    var ib = 0u;
    for (var ax = 3; ax >= 0; ax--) {
        let d = p.dims[ax];
        let c = rem % d;
        rem = rem / d;
        ia += c * p.sa[ax];
        ib += c * p.sb[ax];
    }
    let x = a[ia];
    let y = b[ib];
    var r: f32;
    switch p.op {
        case 0u: { r = x + y; }
        case 1u: { r = x - y; }
        case 2u: { r = x * y; }
        default: { r = x / y; }
    }
    out[i] = r;
}
