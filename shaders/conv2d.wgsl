// conv2d.wgsl — 2-D convolution (cross-correlation, like PyTorch) and its
// gradients; 1-D convolution runs through here with h = 1 (see conv1d.wgsl).
//
// Shapes (row-major): x [n, ci, h, w], weight [co, ci, kh, kw], bias [co],
// y / dy [n, co, ho, wo] with ho = (h + 2·ph − kh) / sh + 1 (wo likewise).
// y[b,o,i,j] = Σ_{c,p,q} x[b, c, i·sh + p − ph, j·sw + q − pw] · weight[o,c,p,q] (+ bias[o]),
// out-of-range input positions reading as zero.
//
// Bindings (group 0):
//   0  p       uniform     Params
//   1  x       read        [n, ci, h, w]      forward, backward_weight
//   2  wt      read        [co, ci, kh, kw]   forward, backward_input
//   3  bias    read        [co]               forward (a dummy when has_bias = 0)
//   4  y       read_write  [n, co, ho, wo]    forward
//   5  dy      read        [n, co, ho, wo]    backward_input, backward_weight, backward_bias
//   6  dx      read_write  [n, ci, h, w]      backward_input
//   7  dw      read_write  [co, ci, kh, kw]   backward_weight
//   8  db      read_write  [co]               backward_bias
//
// Entry points and dispatch geometry (1-D grids of WG = 256 invocations,
// spilling into y, see flat_id; one output element per invocation; p.total is
// the element count of that output):
//   forward          n·co·ho·wo threads, sums over (c, p, q) in that order, then adds bias.
//   backward_input   n·ci·h·w threads, a gather: sums over (o, p, q) the dy of the
//                    output positions whose window puts weight (p, q) on the element.
//   backward_weight  co·ci·kh·kw threads, sums over (b, i, j).
//   backward_bias    co threads, sums over (b, i, j).
// Invariants: stride ≥ 1; every sum runs in a fixed order (no atomics), the
// same as the CPU reference in src/cpu/conv.rs, so results are deterministic.

struct Params {
    n: u32,
    ci: u32,
    h: u32,
    w: u32,
    co: u32,
    kh: u32,
    kw: u32,
    ho: u32,
    wo: u32,
    sh: u32,
    sw: u32,
    ph: u32,
    pw: u32,
    has_bias: u32,
    total: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read_write> dw: array<f32>;
@group(0) @binding(8) var<storage, read_write> db: array<f32>;

// Input coordinate read by output coordinate `o` at kernel offset `k`
// (may fall outside [0, len): the caller checks).
fn src_pos(o: u32, k: u32, s: u32, pad: u32) -> i32 {
    return i32(o * s + k) - i32(pad);
}

// Output coordinate whose window puts kernel offset `k` on input coordinate
// `v`, or -1 when there is none.
fn dst_pos(v: u32, k: u32, s: u32, pad: u32, out_len: u32) -> i32 {
    let t = i32(v + pad) - i32(k);
    if (t < 0) { return -1; }
    let tu = u32(t);
    if (tu % s != 0u) { return -1; }
    let o = tu / s;
    if (o >= out_len) { return -1; }
    return i32(o);
}

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = flat_id(gid, nwg, WG);
    if (e >= p.total) { return; }
    let j = e % p.wo;
    let i = (e / p.wo) % p.ho;
    let o = (e / (p.wo * p.ho)) % p.co;
    let b = e / (p.wo * p.ho * p.co);
    var acc = 0.0;
    for (var c = 0u; c < p.ci; c++) {
        let xbase = (b * p.ci + c) * p.h;
        let wbase = (o * p.ci + c) * p.kh;
        for (var kp = 0u; kp < p.kh; kp++) {
            let r = src_pos(i, kp, p.sh, p.ph);
            if (r < 0 || r >= i32(p.h)) { continue; }
            for (var kq = 0u; kq < p.kw; kq++) {
                let s = src_pos(j, kq, p.sw, p.pw);
                if (s < 0 || s >= i32(p.w)) { continue; }
                acc += x[(xbase + u32(r)) * p.w + u32(s)] * wt[(wbase + kp) * p.kw + kq];
            }
        }
    }
    if (p.has_bias != 0u) {
        acc += bias[o];
    }
    y[e] = acc;
}

@compute @workgroup_size(256)
fn backward_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = flat_id(gid, nwg, WG);
    if (e >= p.total) { return; }
    let xx = e % p.w;
    let yy = (e / p.w) % p.h;
    let c = (e / (p.w * p.h)) % p.ci;
    let b = e / (p.w * p.h * p.ci);
    var acc = 0.0;
    for (var o = 0u; o < p.co; o++) {
        let dbase = (b * p.co + o) * p.ho;
        let wbase = (o * p.ci + c) * p.kh;
        for (var kp = 0u; kp < p.kh; kp++) {
            let i = dst_pos(yy, kp, p.sh, p.ph, p.ho);
            if (i < 0) { continue; }
            for (var kq = 0u; kq < p.kw; kq++) {
                let j = dst_pos(xx, kq, p.sw, p.pw, p.wo);
                if (j < 0) { continue; }
                acc += dy[(dbase + u32(i)) * p.wo + u32(j)] * wt[(wbase + kp) * p.kw + kq];
            }
        }
    }
    dx[e] = acc;
}

@compute @workgroup_size(256)
fn backward_weight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = flat_id(gid, nwg, WG);
    if (e >= p.total) { return; }
    let kq = e % p.kw;
    let kp = (e / p.kw) % p.kh;
    let c = (e / (p.kw * p.kh)) % p.ci;
    let o = e / (p.kw * p.kh * p.ci);
    var acc = 0.0;
    for (var b = 0u; b < p.n; b++) {
        let dbase = (b * p.co + o) * p.ho;
        let xbase = (b * p.ci + c) * p.h;
        for (var i = 0u; i < p.ho; i++) {
            let r = src_pos(i, kp, p.sh, p.ph);
            if (r < 0 || r >= i32(p.h)) { continue; }
            for (var j = 0u; j < p.wo; j++) {
                let s = src_pos(j, kq, p.sw, p.pw);
                if (s < 0 || s >= i32(p.w)) { continue; }
                acc += dy[(dbase + i) * p.wo + j] * x[(xbase + u32(r)) * p.w + u32(s)];
            }
        }
    }
    dw[e] = acc;
}

@compute @workgroup_size(256)
fn backward_bias(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = flat_id(gid, nwg, WG);
    if (o >= p.total) { return; }
    let plane = p.ho * p.wo;
    var acc = 0.0;
    for (var b = 0u; b < p.n; b++) {
        let start = (b * p.co + o) * plane;
        for (var k = 0u; k < plane; k++) {
            acc += dy[start + k];
        }
    }
    db[o] = acc;
}
