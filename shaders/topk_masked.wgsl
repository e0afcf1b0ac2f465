// topk_masked.wgsl — per row, the k best (score, column) pairs whose column
// is not excluded; best = higher score, then lower column; NaN counts as −inf.
//
// bindings: 0 p (uniform) {rows, m, k, has_mask}
//           1 scores (read) [rows, m]
//           2 row_ptr (read) [rows + 1] u32 — excluded columns of each row (CSR,
//           3 col_idx (read) [nnz] u32        ascending within a row)
//           4 out_cols (read_write) [rows, k] u32
//           5 out_vals (read_write) [rows, k]
// dispatch: 1-D over rows; one invocation walks its row once, keeping a
// sorted top-k list in private memory (k ≤ KMAX) and stepping through the
// row's excluded columns in step with the scan. No barriers, no atomics, one
// pass: O(m · log-ish k) per row. Rows with fewer than k candidates are padded
// with (0xffffffff, −inf).
// Scores are read row-wise by each invocation (not coalesced across a
// warp): fine for evaluation, where the scoring matmul dominates.

const KMAX: u32 = 128u;

struct Params { rows: u32, m: u32, k: u32, has_mask: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(3) var<storage, read> col_idx: array<u32>;
@group(0) @binding(4) var<storage, read_write> out_cols: array<u32>;
@group(0) @binding(5) var<storage, read_write> out_vals: array<f32>;

// (va, ca) ranks before (vb, cb).
fn before(va: f32, ca: u32, vb: f32, cb: u32) -> bool {
    return va > vb || (va == vb && ca < cb);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = flat_id(gid, nwg, 64u);
    if (r >= p.rows) { return; }
    var bv: array<f32, KMAX>;
    var bc: array<u32, KMAX>;
    var count = 0u;
    let k = min(p.k, KMAX);
    var e = 0u;
    var e_end = 0u;
    if (p.has_mask == 1u) { e = row_ptr[r]; e_end = row_ptr[r + 1u]; }
    let base = r * p.m;
    for (var j = 0u; j < p.m; j++) {
        while (e < e_end && col_idx[e] < j) { e++; }
        if (e < e_end && col_idx[e] == j) { continue; }
        var v = scores[base + j];
        if (v != v) { v = neg_inf(); }
        if (count == k && !before(v, j, bv[k - 1u], bc[k - 1u])) { continue; }
        var pos = min(count, k - 1u);
        if (count < k) { count++; }
        while (pos > 0u && before(v, j, bv[pos - 1u], bc[pos - 1u])) {
            bv[pos] = bv[pos - 1u];
            bc[pos] = bc[pos - 1u];
            pos--;
        }
        bv[pos] = v;
        bc[pos] = j;
    }
    for (var q = 0u; q < p.k; q++) {
        var c = 0xffffffffu;
        var v = neg_inf();
        if (q < count) { c = bc[q]; v = bv[q]; }
        out_cols[r * p.k + q] = c;
        out_vals[r * p.k + q] = v;
    }
}
