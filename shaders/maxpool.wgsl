// maxpool.wgsl — 2-D max-pooling without padding, and its gradient.
//
// Shapes (row-major): x / dx [planes = n·c, h, w], y / dy / argmax
// [planes, ho, wo] with ho = (h − kh) / sh + 1 (wo likewise). argmax holds the
// flat position r·w + s within the input h·w plane of each window's maximum.
//
// Bindings (group 0):
//   0  p       uniform     Params
//   1  x       read        [planes, h, w]      forward
//   2  y       read_write  [planes, ho, wo]    forward
//   3  arg     read_write  [planes, ho, wo]    forward (u32)
//   4  dy      read        [planes, ho, wo]    backward
//   5  arg_in  read        [planes, ho, wo]    backward (u32, forward's arg)
//   6  dx      read_write  [planes, h, w]      backward
//
// Entry points and dispatch geometry (1-D grids of WG = 256 invocations,
// spilling into y, see flat_id; one output element per invocation; p.total is
// the element count of that output):
//   forward   planes·ho·wo threads: scans the window row by row, replacing the
//             running maximum only when strictly greater (ties keep the lowest
//             position).
//   backward  planes·h·w threads, a gather: sums, in row-major window order,
//             the dy of the windows covering the element whose argmax it is.
// Invariants: kh, kw, sh, sw ≥ 1, h ≥ kh, w ≥ kw; no atomics; matches the CPU
// reference in src/cpu/conv.rs.

struct Params {
    planes: u32,
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    total: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> arg: array<u32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read> arg_in: array<u32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = flat_id(gid, nwg, WG);
    if (e >= p.total) { return; }
    let j = e % p.wo;
    let i = (e / p.wo) % p.ho;
    let pl = e / (p.wo * p.ho);
    let base = pl * p.h * p.w;
    var best_pos = i * p.sh * p.w + j * p.sw;
    var best = x[base + best_pos];
    for (var kp = 0u; kp < p.kh; kp++) {
        let row = (i * p.sh + kp) * p.w + j * p.sw;
        for (var kq = 0u; kq < p.kw; kq++) {
            let v = x[base + row + kq];
            if (v > best) {
                best = v;
                best_pos = row + kq;
            }
        }
    }
    y[e] = best;
    arg[e] = best_pos;
}

@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = flat_id(gid, nwg, WG);
    if (e >= p.total) { return; }
    let s = e % p.w;
    let r = (e / p.w) % p.h;
    let pl = e / (p.w * p.h);
    let pos = r * p.w + s;
    // Windows i with i·sh ≤ r < i·sh + kh (and likewise j).
    let i_lo = (max(r + 1u, p.kh) - p.kh + p.sh - 1u) / p.sh;
    let i_hi = min(r / p.sh, p.ho - 1u);
    let j_lo = (max(s + 1u, p.kw) - p.kw + p.sw - 1u) / p.sw;
    let j_hi = min(s / p.sw, p.wo - 1u);
    var acc = 0.0;
    for (var i = i_lo; i <= i_hi; i++) {
        for (var j = j_lo; j <= j_hi; j++) {
            let k = (pl * p.ho + i) * p.wo + j;
            if (arg_in[k] == pos) {
                acc += dy[k];
            }
        }
    }
    dx[e] = acc;
}
