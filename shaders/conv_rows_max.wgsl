// conv_rows_max.wgsl — a full-width convolution over the rows of short
// images fused with its bias, ReLU and max-pooling over the positions
// (Caser's horizontal convolution), and its gradients.
//
// Shapes (row-major): x / acc / dx [n·L, d] (n images of L rows), w / dw
// [h·c, d] with row u·c + o = row u of filter o, bias / db [c], y / dy / arg
// [n, c]; P = L − h + 1 positions per image.
//
//   conv[r, i, o] = Σ_u<h Σ_k<d x[r·L + i + u, k] · w[u·c + o, k]       (u outer, k inner)
//   y[r, o]       = max(0, max_i<P conv[r, i, o] + b[o]),  arg = the first such i
//   g[r, o]       = dy[r, o] where y[r, o] > 0, else 0
//   dx[r·L + j, k] = acc + Σ_o g[r, o] · w[(j − arg)·c + o, k]        (o ascending, 0 ≤ j − arg < h)
//   dw[u·c + o, k] = Σ_r g[r, o] · x[r·L + arg[r, o] + u, k]          (r ascending)
//   db[o]          = Σ_r g[r, o]                                      (r ascending)
//
// Terms with g = 0 are skipped, as in the CPU reference
// (src/cpu/conv_rows_max.rs), so both sum the same terms in the same order.
//
// Bindings (group 0):
//   0  p     uniform     Params
//   1  x     read        [n·L, d]
//   2  w     read        [h·c, d]
//   3  bias  read        [c]          forward
//   4  y     read_write  [n, c]       forward
//   5  arg   read_write  [n, c] u32   forward
//   6  dy    read        [n, c]       backward
//   7  acc   read        [n·L, d]     backward_input (x itself when has_acc = 0)
//   8  dx    read_write  [n·L, d]     backward_input
//   9  dw    read_write  [h·c, d]     backward_weight
//  10  db    read_write  [c]          backward_weight
//  11  y_in  read        [n, c]       backward (forward's y)
//  12  arg_in read       [n, c] u32   backward (forward's arg)
//
// Entry points and dispatch geometry (1-D grids of WG = 256 invocations,
// spilling into y, see flat_id; p.total is the thread count):
//   forward          n·c threads, one (image, filter) each: P·h·d multiply-adds.
//   backward_input   n·L·d threads, one dx element each: at most c terms.
//   backward_weight  h·c·d + c threads: one dw element each (n terms), then
//                    the c bias sums.
// Invariants: 1 ≤ h ≤ L, c ≥ 1; no atomics; every index below the largest
// buffer's length, which the host checks fits in u32.

struct Params {
    n: u32,
    l: u32,
    d: u32,
    h: u32,
    c: u32,
    has_acc: u32,
    total: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> arg: array<u32>;
@group(0) @binding(6) var<storage, read> dy: array<f32>;
@group(0) @binding(7) var<storage, read> acc: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx: array<f32>;
@group(0) @binding(9) var<storage, read_write> dw: array<f32>;
@group(0) @binding(10) var<storage, read_write> db: array<f32>;
@group(0) @binding(11) var<storage, read> y_in: array<f32>;
@group(0) @binding(12) var<storage, read> arg_in: array<u32>;

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = flat_id(gid, nwg, WG);
    if (e >= p.total) { return; }
    let o = e % p.c;
    let r = e / p.c;
    let positions = p.l - p.h + 1u;
    var best = 0.0;
    var best_i = 0u;
    for (var i = 0u; i < positions; i++) {
        var s = 0.0;
        for (var u = 0u; u < p.h; u++) {
            let xr = (r * p.l + i + u) * p.d;
            let wr = (u * p.c + o) * p.d;
            for (var k = 0u; k < p.d; k++) {
                s += x[xr + k] * w[wr + k];
            }
        }
        let v = s + bias[o];
        // Strictly greater: ties keep the lowest position.
        if (i == 0u || v > best) {
            best = v;
            best_i = i;
        }
    }
    y[e] = max(best, 0.0);
    arg[e] = best_i;
}

fn gate(idx: u32) -> f32 {
    return select(0.0, dy[idx], y_in[idx] > 0.0);
}

@compute @workgroup_size(256)
fn backward_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = flat_id(gid, nwg, WG);
    if (e >= p.total) { return; }
    let k = e % p.d;
    let j = (e / p.d) % p.l;
    let r = e / (p.d * p.l);
    var s = 0.0;
    if (p.has_acc != 0u) {
        s = acc[e];
    }
    for (var o = 0u; o < p.c; o++) {
        let g = gate(r * p.c + o);
        let a = arg_in[r * p.c + o];
        if (g != 0.0 && j >= a && j - a < p.h) {
            s += g * w[((j - a) * p.c + o) * p.d + k];
        }
    }
    dx[e] = s;
}

@compute @workgroup_size(256)
fn backward_weight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = flat_id(gid, nwg, WG);
    if (e >= p.total) { return; }
    let weights = p.h * p.c * p.d;
    var s = 0.0;
    if (e < weights) {
        let k = e % p.d;
        let o = (e / p.d) % p.c;
        let u = e / (p.d * p.c);
        for (var r = 0u; r < p.n; r++) {
            let g = gate(r * p.c + o);
            if (g != 0.0) {
                s += g * x[(r * p.l + arg_in[r * p.c + o] + u) * p.d + k];
            }
        }
    } else {
        let o = e - weights;
        for (var r = 0u; r < p.n; r++) {
            let g = gate(r * p.c + o);
            if (g != 0.0) {
                s += g;
            }
        }
        db[o] = s;
        return;
    }
    dw[e] = s;
}
