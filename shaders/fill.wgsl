// fill.wgsl — out[i] = value.
//
// bindings: 0 p (uniform) {n, value}
//           1 out (read_write) [n]
// dispatch: 1-D, WG-wide groups, ceil(n / WG) (spilling into y), one element each.

struct Params { n: u32, value: f32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.n) { return; }
    out[i] = p.value;
}
