// dot_rows.wgsl — out[r] = Σ_j a[r, j] · b[r, j] (sequential over j).
//
// bindings: 0 p (uniform) {rows, d}
//           1 a (read) [rows, d]
//           2 b (read) [rows, d]
//           3 out (read_write) [rows]
// dispatch: 1-D, one row per invocation.

struct Params { rows: u32, d: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = flat_id(gid, nwg, WG);
    if (r >= p.rows) { return; }
    var acc = 0.0;
    for (var j = 0u; j < p.d; j++) { acc += a[r * p.d + j] * b[r * p.d + j]; }
    out[r] = acc;
}
