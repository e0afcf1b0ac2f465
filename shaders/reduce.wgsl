// reduce.wgsl — sum / mean / max along the last axis (rows) or first axis (cols).
//
// bindings: 0 p (uniform) {outer, len, stride, op}
//           1 x (read)
//           2 out (read_write) [outer]
// Reduction r (0 ≤ r < outer) covers x[base(r) + j·stride] for j < len, where
//   rows: base = r·len, stride = 1;   cols: base = r, stride = outer.
// dispatch: one 256-wide workgroup per reduction, laid out (x, y) when
// outer exceeds the per-dimension limit.
// Order: thread t accumulates j ≡ t (mod 256) in order, then a halving tree —
// the same order as cpu::dense::tree_sum, so both backends agree bit for bit
// up to the hardware's exp/fma rounding.
// op: 0 sum, 1 mean, 2 max.

struct Params { outer: u32, len: u32, stride: u32, op: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;



@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
    let r = wid.y * nwg.x + wid.x;
    let live = r < p.outer;
    var base = 0u;
    if (p.stride == 1u) { base = r * p.len; } else { base = r; }
    var acc = 0.0;
    if (p.op == 2u) { acc = neg_inf(); }
    if (live) {
        for (var j = t; j < p.len; j += 256u) {
            let v = x[base + j * p.stride];
            if (p.op == 2u) { acc = max(acc, v); } else { acc += v; }
        }
    }
    part[t] = acc;
    let total = tree(t, p.op == 2u);
    if (live && t == 0u) {
        var v = total;
        if (p.op == 1u) { v = select(v / f32(p.len), 0.0, p.len == 0u); }
        out[r] = v;
    }
}
