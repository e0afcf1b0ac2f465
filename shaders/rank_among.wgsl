// rank_among.wgsl — for each query entry (row r, column t) of a CSR pattern,
// how many competitors c rank before it in row r of `scores` (higher score,
// then lower column; NaN counts as −inf).
//
// mode 0 (all): competitors are every column of the row that is neither
//   excluded (pattern `other`) nor itself a query of that row — for AUC.
// mode 1 (only): competitors are exactly the columns of row r in `other`
//   — for the sampled protocol (a target against N sampled negatives).
//
// bindings: 0 p (uniform) {rows, m, mode, has_other}
//           1 scores (read) [rows, m]
//           2 q_ptr (read) [rows + 1] u32, 3 q_idx (read) [nq] u32 — queries, ascending per row
//           4 o_ptr (read) [rows + 1] u32, 5 o_idx (read) u32         — `other`, ascending per row
//           6 out (read_write) [nq] u32
// dispatch: 1-D over nq; the row of query e is found by binary search in q_ptr.
// mode 0 scans the whole row (O(m) per query), mode 1 only the row's `other`.

struct Params { rows: u32, m: u32, mode: u32, has_other: u32, nq: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read> q_ptr: array<u32>;
@group(0) @binding(3) var<storage, read> q_idx: array<u32>;
@group(0) @binding(4) var<storage, read> o_ptr: array<u32>;
@group(0) @binding(5) var<storage, read> o_idx: array<u32>;
@group(0) @binding(6) var<storage, read_write> out: array<u32>;

fn score(r: u32, c: u32) -> f32 {
    let v = scores[r * p.m + c];
    return select(v, neg_inf(), v != v);
}

fn before(va: f32, ca: u32, vb: f32, cb: u32) -> bool {
    return va > vb || (va == vb && ca < cb);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = flat_id(gid, nwg, WG);
    if (e >= p.nq) { return; }
    // Row r with q_ptr[r] <= e < q_ptr[r + 1].
    var lo = 0u;
    var hi = p.rows;
    while (lo + 1u < hi) {
        let mid = (lo + hi) / 2u;
        if (q_ptr[mid] <= e) { lo = mid; } else { hi = mid; }
    }
    let r = lo;
    let t = q_idx[e];
    let st = score(r, t);
    var count = 0u;
    var o = 0u;
    var o_end = 0u;
    if (p.has_other == 1u) { o = o_ptr[r]; o_end = o_ptr[r + 1u]; }
    if (p.mode == 1u) {
        for (; o < o_end; o++) {
            let c = o_idx[o];
            if (c != t && c < p.m && before(score(r, c), c, st, t)) { count++; }
        }
    } else {
        var q = q_ptr[r];
        let q_end = q_ptr[r + 1u];
        for (var c = 0u; c < p.m; c++) {
            while (o < o_end && o_idx[o] < c) { o++; }
            while (q < q_end && q_idx[q] < c) { q++; }
            if ((o < o_end && o_idx[o] == c) || (q < q_end && q_idx[q] == c)) { continue; }
            if (before(score(r, c), c, st, t)) { count++; }
        }
    }
    out[e] = count;
}
