// gram.wgsl — the Gram matrix G = Xᵀ · X [cols, cols] of a CSR X [rows, cols]
// (Backend::gram; CPU mirror: src/cpu/sparse.rs), the item–item
// co-occurrence of EASE and ItemKNN. X is densified one chunk of rows
// [u0, u1) at a time into D [u1 − u0, cols]; then every G[i, j] adds
// xt_val · D[u − u0, j] over the users u of item i in the chunk (row i of
// Xᵀ, u ascending), starting from 0 in the first chunk and from its stored
// value after that. Over the chunks, in order, every G[i, j] is therefore
// summed over u in ascending order whatever the chunk size: the CPU order.
//
// Entry `densify` (D = X[u0..u1], one invocation per element of D):
//   binding | name       | access     | shape
//   0       | p          | uniform    | Params
//   1       | x_row_ptr  | read       | [rows + 1] u32
//   2       | x_col_idx  | read       | [nnz] u32, distinct and ascending within a row
//   3       | x_vals     | read       | [nnz] f32
//   7       | dense      | read_write | [≥ (u1 − u0)·cols] f32
// Entry `main` (G[i, j], one invocation per element of G):
//   4       | xt_row_ptr | read       | [cols + 1] u32
//   5       | xt_col_idx | read       | [nnz] u32, users ascending within a row
//   6       | xt_vals    | read       | [nnz] f32
//   7       | dense      | read_write | (read here) the chunk D
//   8       | g          | read_write | [cols, cols] f32
//
// Dispatch: both 1-D over p.total elements (densify: (u1 − u0)·cols; main:
// cols²), gpu.grid(total, WG) of WG = 256, spilling into y (flat_id);
// consecutive invocations walk consecutive columns j, so the reads of D and
// the writes are coalesced and a workgroup shares its row's CSR entries.
// densify binary-searches the row for j (O(log deg) per element); main finds
// the chunk's first user in row i of Xᵀ by binary search, then walks it.
//
// Cost: Σ over chunks of nnz_chunk · cols multiply-adds (2·nnz·cols FLOPs in
// all, of which the Σ_u deg(u)² with both factors stored are the useful
// ones); bytes: D written (rows·cols·4) and gathered once per entry of Xᵀ
// (4·nnz·cols), G read and written once per chunk (8·cols² per chunk).
//
// Invariants: no atomics; each G[i, j] is written by one invocation per
// chunk and chunks are separate dispatches in submission order, so the
// result is deterministic. A product with an unstored X[u, j] adds v · 0, which
// leaves the sum unchanged for finite values.

struct Params {
    cols: u32,
    u0: u32,    // first row of the chunk
    u1: u32,    // one past its last row
    first: u32, // 1 in the first chunk: G starts from 0
    total: u32, // invocations doing work in this dispatch
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x_row_ptr: array<u32>;
@group(0) @binding(2) var<storage, read> x_col_idx: array<u32>;
@group(0) @binding(3) var<storage, read> x_vals: array<f32>;
@group(0) @binding(4) var<storage, read> xt_row_ptr: array<u32>;
@group(0) @binding(5) var<storage, read> xt_col_idx: array<u32>;
@group(0) @binding(6) var<storage, read> xt_vals: array<f32>;
@group(0) @binding(7) var<storage, read_write> dense: array<f32>;
@group(0) @binding(8) var<storage, read_write> g: array<f32>;

@compute @workgroup_size(256)
fn densify(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.total) { return; }
    let q = i / p.cols;
    let j = i - q * p.cols;
    let r = p.u0 + q;
    // First entry of row r with column ≥ j.
    var lo = x_row_ptr[r];
    var hi = x_row_ptr[r + 1u];
    let end = hi;
    while (lo < hi) {
        let mid = (lo + hi) / 2u;
        if (x_col_idx[mid] < j) { lo = mid + 1u; } else { hi = mid; }
    }
    var v = 0.0;
    if (lo < end && x_col_idx[lo] == j) { v = x_vals[lo]; }
    dense[i] = v;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = flat_id(gid, nwg, WG);
    if (idx >= p.total) { return; }
    let cols = p.cols;
    let i = idx / cols;
    let j = idx - i * cols;
    // First user ≥ u0 in row i of Xᵀ.
    var lo = xt_row_ptr[i];
    var hi = xt_row_ptr[i + 1u];
    let end = hi;
    while (lo < hi) {
        let mid = (lo + hi) / 2u;
        if (xt_col_idx[mid] < p.u0) { lo = mid + 1u; } else { hi = mid; }
    }
    var acc = 0.0;
    if (p.first == 0u) { acc = g[idx]; }
    for (var e = lo; e < end; e++) {
        let u = xt_col_idx[e];
        if (u >= p.u1) { break; }
        acc += xt_vals[e] * dense[(u - p.u0) * cols + j];
    }
    g[idx] = acc;
}
