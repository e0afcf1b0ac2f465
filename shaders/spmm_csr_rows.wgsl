// spmm_csr_rows.wgsl — CSR sparse × dense on a selection of rows:
// out[q, :] = A[rows[q], :] · X (Backend::spmm_csr_rows; CPU mirror:
// src/cpu/sparse.rs). Scores X[users] · B without densifying X: the user ids
// arrive as a device index, so no per-batch CSR is built or uploaded.
//
// Entry `main`:
//   binding | name    | access     | shape
//   0       | p       | uniform    | Params
//   1       | row_ptr | read       | [a_rows + 1] u32 offsets into col_idx / vals
//   2       | col_idx | read       | [nnz] u32 column of each entry (< cols)
//   3       | vals    | read       | [nnz] f32 value of each entry
//   4       | rows    | read       | [n] u32 selected rows of A (may repeat)
//   5       | x       | read       | [cols, d] f32 dense operand
//   6       | out     | read_write | [n, d] f32
//
// Dispatch: 1-D over the n·d output elements, i = q·d + j, as spmm_csr.wgsl:
// gpu.grid(n·d, WG) workgroups of WG = 256 spilling into y (flat_id);
// neighbouring invocations share a selected row (broadcast reads of its
// entries) and read consecutive columns j of X. Invocations past n·d return.
//
// Invariants: out[q, j] starts at 0 and adds vals[e] · x[col_idx[e], j] for
// e = row_ptr[r] .. row_ptr[r+1] in order, r = rows[q] — the loop of
// spmm_csr.wgsl, so the sum order is fixed and matches the CPU reference up
// to FMA rounding. A selected row r ≥ a_rows is a caller's bug that the host
// cannot see without a read-back: its output row is NaN (visible downstream)
// and row_ptr is never read past its end.

struct Params {
    n: u32,      // selected rows, rows of out
    d: u32,      // columns of x and of out
    total: u32,  // n · d
    a_rows: u32, // rows of A
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(2) var<storage, read> col_idx: array<u32>;
@group(0) @binding(3) var<storage, read> vals: array<f32>;
@group(0) @binding(4) var<storage, read> rows: array<u32>;
@group(0) @binding(5) var<storage, read> x: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.total) { return; }
    let d = p.d;
    let q = i / d;
    let j = i - q * d;
    let r = rows[q];
    if (r >= p.a_rows) {
        out[i] = bitcast<f32>(0x7fc00000u);
        return;
    }
    let lo = row_ptr[r];
    let hi = row_ptr[r + 1u];
    var acc = 0.0;
    for (var e = lo; e < hi; e++) {
        acc += vals[e] * x[col_idx[e] * d + j];
    }
    out[i] = acc;
}
