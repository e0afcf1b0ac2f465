// gather_rows.wgsl — out[i, j] = table[idx[i], j] (embedding lookup).
//
// bindings: 0 p (uniform) {n, d, rows}
//           1 table (read) [rows, d]
//           2 idx (read) [n] u32
//           3 out (read_write) [n, d]
// dispatch: 1-D over n·d, one element each. An index ≥ rows yields 0
// (the host validates ids when it loads data; this only keeps reads in bounds).

struct Params { n: u32, d: u32, rows: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.n * p.d) { return; }
    let row = idx[i / p.d];
    var v = 0.0;
    if (row < p.rows) { v = table[row * p.d + i % p.d]; }
    out[i] = v;
}
