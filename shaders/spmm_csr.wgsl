// spmm_csr.wgsl — CSR sparse × dense: out = A · X (Backend::spmm_csr; CPU
// mirror: src/cpu/sparse.rs). For Aᵀ · X the host uploads CsrHost::transpose.
//
// Entry `main`:
//   binding | name    | access     | shape
//   0       | p       | uniform    | Params
//   1       | row_ptr | read       | [rows + 1] u32 offsets into col_idx / vals
//   2       | col_idx | read       | [nnz] u32 column of each entry (< cols)
//   3       | vals    | read       | [nnz] f32 value of each entry
//   4       | x       | read       | [cols, d] f32 dense operand
//   5       | out     | read_write | [rows, d] f32
//
// Dispatch: 1-D over the rows·d output elements, i = r·d + j, one invocation
// per output element; gpu.grid(rows·d, WG) workgroups of WG = 256, spilling
// into y (flat_id). A workgroup therefore covers a chunk of consecutive rows:
// neighbouring invocations share a row (its col_idx / vals reads broadcast)
// and read consecutive columns j of X (coalesced). Invocations past rows·d
// return.
//
// Invariants: out[r, j] starts at 0 and adds vals[e] · x[col_idx[e], j] for
// e = row_ptr[r] .. row_ptr[r+1] in order — a fixed sum order, no atomics, so
// results are deterministic and match the CPU reference up to FMA rounding.
// Rows without entries produce 0. Any d ≥ 1 works (no tiling assumptions).

struct Params {
    rows: u32,  // rows of A and of out
    d: u32,     // columns of x and of out
    total: u32, // rows · d
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(2) var<storage, read> col_idx: array<u32>;
@group(0) @binding(3) var<storage, read> vals: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.total) { return; }
    let d = p.d;
    let r = i / d;
    let j = i - r * d;
    let lo = row_ptr[r];
    let hi = row_ptr[r + 1u];
    var acc = 0.0;
    for (var e = lo; e < hi; e++) {
        acc += vals[e] * x[col_idx[e] * d + j];
    }
    out[i] = acc;
}
