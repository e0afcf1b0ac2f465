// scatter_add_rows.wgsl — the gradient of gather_rows, without atomics:
// out[g, j] = Σ_{k in offsets[g]..offsets[g+1]} dy[order[k], j], in that order.
//
// bindings: 0 p (uniform) {groups, d}
//           1 dy (read) [batch, d]
//           2 offsets (read) [groups + 1] u32
//           3 order (read) [batch] u32 — batch positions sorted by row
//           4 out (read_write) [groups, d]
// dispatch: 1-D over groups·d, one output element each; deterministic.

struct Params { groups: u32, d: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.groups * p.d) { return; }
    let g = i / p.d;
    let j = i % p.d;
    var acc = 0.0;
    for (var k = offsets[g]; k < offsets[g + 1u]; k++) { acc += dy[order[k] * p.d + j]; }
    out[i] = acc;
}
