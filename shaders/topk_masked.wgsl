// topk_masked.wgsl — per row, the k best (score, column) pairs whose column
// is not excluded; best = higher score, then lower column; NaN counts as −inf.
//
// entry mark: one invocation per row r < rows sets bit c of row r in `bits`
//   for every excluded column c of that row (plain read-modify-write: a row's
//   words belong to its invocation alone, so no atomics are needed).
//   bindings: 2 bits (rw) [rows, words] u32 (zeroed by the host), 3 row_ptr, 4 col_idx
// entry select: one 256-wide workgroup per row; k rounds, each picking the
//   best candidate strictly worse than the previous pick (a workgroup tree
//   reduction). Rows with fewer than k candidates are padded with
//   (0xffffffff, −inf). O(k·m) per row: fine for evaluation's k ≤ 100.
//   bindings: 1 scores (read) [rows, m], 2 bits, 5 out_cols (rw) [rows, k] u32,
//             6 out_vals (rw) [rows, k]
// bindings: 0 p (uniform) {rows, m, k, words, has_mask}
// dispatch: mark — 1-D over rows; select — one workgroup per row, (x, y) layout.

struct Params { rows: u32, m: u32, k: u32, words: u32, has_mask: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read_write> bits: array<u32>;
@group(0) @binding(3) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(4) var<storage, read> col_idx: array<u32>;
@group(0) @binding(5) var<storage, read_write> out_cols: array<u32>;
@group(0) @binding(6) var<storage, read_write> out_vals: array<f32>;

@compute @workgroup_size(256)
fn mark(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = flat_id(gid, nwg, WG);
    if (r >= p.rows) { return; }
    for (var e = row_ptr[r]; e < row_ptr[r + 1u]; e++) {
        let c = col_idx[e];
        if (c < p.m) {
            let w = r * p.words + c / 32u;
            bits[w] = bits[w] | (1u << (c % 32u));
        }
    }
}

var<workgroup> best_v: array<f32, 256>;
var<workgroup> best_c: array<u32, 256>;

// (va, ca) ranks before (vb, cb).
fn before(va: f32, ca: u32, vb: f32, cb: u32) -> bool {
    return va > vb || (va == vb && ca < cb);
}

@compute @workgroup_size(256)
fn select_topk(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) t: u32) {
    let r = wid.y * nwg.x + wid.x;
    let live = r < p.rows;
    let base = r * p.m;
    var pv = 0.0;
    var pc = 0u;
    for (var round = 0u; round < p.k; round++) {
        var bv = neg_inf();
        var bc = 0xffffffffu;
        if (live) {
            for (var j = t; j < p.m; j += 256u) {
                if (p.has_mask == 1u && ((bits[r * p.words + j / 32u] >> (j % 32u)) & 1u) == 1u) { continue; }
                var v = scores[base + j];
                if (v != v) { v = neg_inf(); }
                if (round > 0u && !before(pv, pc, v, j)) { continue; }
                if (before(v, j, bv, bc)) { bv = v; bc = j; }
            }
        }
        best_v[t] = bv;
        best_c[t] = bc;
        workgroupBarrier();
        for (var s = 128u; s > 0u; s >>= 1u) {
            if (t < s && before(best_v[t + s], best_c[t + s], best_v[t], best_c[t])) {
                best_v[t] = best_v[t + s];
                best_c[t] = best_c[t + s];
            }
            workgroupBarrier();
        }
        pv = best_v[0];
        pc = best_c[0];
        if (live && t == 0u) {
            out_cols[r * p.k + round] = pc;
            out_vals[r * p.k + round] = pv;
        }
        workgroupBarrier();
    }
}
