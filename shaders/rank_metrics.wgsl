// rank_metrics.wgsl — per row, RecBole's top-K metrics of a ranked list
// against the row's targets, its AUC from precomputed counts, and the columns
// each cut-off covers (Backend::rank_metrics; definitions in
// src/eval/ranking.rs, mirrored by cpu::metrics::rank_metrics).
//
// bindings: 0 p (uniform) {rows, k, m, nk, kmax, has_auc, has_cover, width, ks[16]}
//           1 top (read) [rows, k] u32 — best first, 0xffffffff = empty slot
//           2 t_ptr (read) [rows + 1] u32, 3 t_idx (read) [nnz] u32 — targets, ascending per row
//           4 before (read) [nnz] u32 — negatives ranked before each target (if has_auc)
//           5 negatives (read) [rows] u32 — negatives per row (if has_auc)
//           6 out (read_write) [rows, width] f32, width = 6·nk + 1: column j·nk + i
//             is metric j (recall, precision, hit, ndcg, mrr, map) at cut-off ks[i],
//             the last column the row's AUC (0 without targets or negatives)
//           7 covered (read_write) [nk, m] f32, written as bits (if has_cover)
// dispatch: 1-D over rows, 64 wide. One invocation walks positions
// 0..kmax (kmax = the largest cut-off) of its list once, binary-searching each
// listed column in its target row, and writes a cut-off's metrics as the walk
// passes it. Rows without targets get zeros.
// Determinism: the sums over rows are a separate `reduce`, not float atomics;
// coverage flags are only ever set, all to 1.0 (atomicStore so that the
// concurrent stores of equal bits are well defined).

struct Params {
    rows: u32, k: u32, m: u32, nk: u32,
    kmax: u32, has_auc: u32, has_cover: u32, width: u32,
    ks: array<vec4<u32>, 4>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> top: array<u32>;
@group(0) @binding(2) var<storage, read> t_ptr: array<u32>;
@group(0) @binding(3) var<storage, read> t_idx: array<u32>;
@group(0) @binding(4) var<storage, read> before: array<u32>;
@group(0) @binding(5) var<storage, read> negatives: array<u32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> covered: array<atomic<u32>>;

const ONE_BITS: u32 = 0x3f800000u; // 1.0f

fn cutoff(i: u32) -> u32 {
    return p.ks[i / 4u][i % 4u];
}

// Whether column c is among t_idx[lo..hi] (ascending).
fn is_target(c: u32, lo: u32, hi: u32) -> bool {
    var a = lo;
    var b = hi;
    while (a < b) {
        let mid = a + (b - a) / 2u;
        let v = t_idx[mid];
        if (v == c) { return true; }
        if (v < c) { a = mid + 1u; } else { b = mid; }
    }
    return false;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = flat_id(gid, nwg, 64u);
    if (r >= p.rows) { return; }
    let t0 = t_ptr[r];
    let t1 = t_ptr[r + 1u];
    let nt = t1 - t0;
    let row = r * p.width;
    if (nt == 0u) {
        for (var j = 0u; j < p.width; j++) { out[row + j] = 0.0; }
    }
    var hits = 0u;
    var dcg = 0.0;
    var idcg = 0.0;
    var first = 0.0;
    var ap = 0.0;
    for (var j = 0u; j < p.kmax; j++) {
        let disc = 1.0 / log2(f32(j + 2u));
        if (j < nt) { idcg += disc; }
        if (j < p.k) {
            let c = top[r * p.k + j];
            if (c < p.m && is_target(c, t0, t1)) {
                hits++;
                dcg += disc;
                if (hits == 1u) { first = 1.0 / f32(j + 1u); }
                ap += f32(hits) / f32(j + 1u);
            }
            if (p.has_cover == 1u && c < p.m) {
                for (var i = 0u; i < p.nk; i++) {
                    if (j < cutoff(i)) { atomicStore(&covered[i * p.m + c], ONE_BITS); }
                }
            }
        }
        if (nt == 0u) { continue; }
        for (var i = 0u; i < p.nk; i++) {
            let kc = cutoff(i);
            if (kc != j + 1u) { continue; }
            out[row + i] = f32(hits) / f32(nt);
            out[row + p.nk + i] = f32(hits) / f32(kc);
            out[row + 2u * p.nk + i] = select(0.0, 1.0, hits > 0u);
            out[row + 3u * p.nk + i] = dcg / idcg;
            out[row + 4u * p.nk + i] = first;
            out[row + 5u * p.nk + i] = ap / f32(min(nt, kc));
        }
    }
    var auc = 0.0;
    if (p.has_auc == 1u && nt > 0u && negatives[r] > 0u) {
        // Σ before as 64 bits: |targets| · negatives can pass 2^32.
        var lo = 0u;
        var hi = 0u;
        for (var e = t0; e < t1; e++) {
            let s = lo + before[e];
            hi += select(0u, 1u, s < lo);
            lo = s;
        }
        let wrong = f32(hi) * 4294967296.0 + f32(lo);
        auc = 1.0 - wrong / (f32(nt) * f32(negatives[r]));
    }
    out[row + p.width - 1u] = auc;
}
