// softmax.wgsl — softmax / log-softmax over the last axis, and their backward.
//
// entry forward:  out = softmax(x) or log_softmax(x) per row (p.log)
// entry backward: out = y·(dy − Σ dy·y)          (softmax, y its output)
//                 out = dy − e^y · Σ dy           (log-softmax, y its output)
// bindings: 0 p (uniform) {rows, len, log}
//           1 x or y (read) [rows, len]
//           2 dy (read) [rows, len]          — backward only
//           3 out (read_write) [rows, len]
// dispatch: one 256-wide workgroup per row, (x, y) layout past the limit.
// Sums use the strided-partials + halving-tree order of cpu::dense::tree_sum.

struct Params { rows: u32, len: u32, log: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;


@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) t: u32) {
    let r = wid.y * nwg.x + wid.x;
    let live = r < p.rows;
    let base = r * p.len;
    var m = neg_inf();
    if (live) { for (var j = t; j < p.len; j += 256u) { m = max(m, x[base + j]); } }
    part[t] = m;
    let mx = tree(t, true);
    var s = 0.0;
    if (live) { for (var j = t; j < p.len; j += 256u) { s += exp(x[base + j] - mx); } }
    part[t] = s;
    let sum = tree(t, false);
    if (!live) { return; }
    let lse = mx + log(sum);
    for (var j = t; j < p.len; j += 256u) {
        let v = x[base + j];
        if (p.log == 1u) { out[base + j] = v - lse; } else { out[base + j] = exp(v - mx) / sum; }
    }
}

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) t: u32) {
    let r = wid.y * nwg.x + wid.x;
    let live = r < p.rows;
    let base = r * p.len;
    var s = 0.0;
    if (live) {
        for (var j = t; j < p.len; j += 256u) {
            if (p.log == 1u) { s += dy[base + j]; } else { s += dy[base + j] * x[base + j]; }
        }
    }
    part[t] = s;
    let total = tree(t, false);
    if (!live) { return; }
    for (var j = t; j < p.len; j += 256u) {
        let y = x[base + j];
        if (p.log == 1u) { out[base + j] = dy[base + j] - exp(y) * total; }
        else { out[base + j] = y * (dy[base + j] - total); }
    }
}
