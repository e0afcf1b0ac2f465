// csr_rows_dense.wgsl — selected rows of a CSR matrix as dense rows:
// out[q, j] = A[rows[q], j] (Backend::csr_rows_dense; CPU mirror:
// src/cpu/sparse.rs). An autoencoder's batch input x_u built on the device
// from the training matrix uploaded once: a step uploads only the user ids.
//
// Entry `main`:
//   binding | name    | access     | shape
//   0       | p       | uniform    | Params
//   1       | row_ptr | read       | [a_rows + 1] u32 offsets into col_idx / vals
//   2       | col_idx | read       | [nnz] u32 column of each entry, sorted and distinct within a row
//   3       | vals    | read       | [nnz] f32 value of each entry
//   4       | rows    | read       | [n] u32 selected rows of A (may repeat)
//   5       | out     | read_write | [n, cols] f32
//
// Dispatch: 1-D over the n·cols output elements, i = q·cols + j:
// gpu.grid(n·cols, WG) workgroups of WG = 256 spilling into y (flat_id).
// Invocations past n·cols return. Neighbouring invocations search the same
// row (its entries stay in cache).
//
// Invariants: each invocation binary-searches column j among the entries
// row_ptr[r] .. row_ptr[r+1] of r = rows[q] and writes the stored value or
// 0 — every output element is written exactly once, so no clearing pass is
// needed. A selected row r ≥ a_rows is a caller's bug the host cannot see
// without a read-back: its output row is NaN and row_ptr is never read past
// its end (as spmm_csr_rows.wgsl).

struct Params {
    n: u32,      // selected rows, rows of out
    cols: u32,   // columns of A and of out
    total: u32,  // n · cols
    a_rows: u32, // rows of A
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(2) var<storage, read> col_idx: array<u32>;
@group(0) @binding(3) var<storage, read> vals: array<f32>;
@group(0) @binding(4) var<storage, read> rows: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.total) { return; }
    let q = i / p.cols;
    let j = i - q * p.cols;
    let r = rows[q];
    if (r >= p.a_rows) {
        out[i] = bitcast<f32>(0x7fc00000u);
        return;
    }
    // First entry in [lo, hi) whose column is ≥ j.
    var lo = row_ptr[r];
    var hi = row_ptr[r + 1u];
    let end = hi;
    while (lo < hi) {
        let mid = lo + (hi - lo) / 2u;
        if (col_idx[mid] < j) { lo = mid + 1u; } else { hi = mid; }
    }
    var v = 0.0;
    if (lo < end && col_idx[lo] == j) { v = vals[lo]; }
    out[i] = v;
}
