// spd_inverse.wgsl — A⁻¹ of a symmetric positive-definite A [n, n] by blocked
// Gauss–Jordan without pivoting, in place on a copy of A (src/gpu/ops/linalg.rs).
//
// Block column K covers rows/columns k0 ≤ t < k0 + kb (kb = min(B, n − k0),
// B = 32). With D = A_KK and Ã the block row A_K* whose own block A_KK is
// replaced by the identity, one step is
//     panel:  R = D⁻¹ Ã  [B, n]   and   C = A_*K  [n, B]   (copied out first)
//     update: A_ij ← R_(i−k0), j                          for i in K
//             A_ij ← [j ∉ K] · A_ij − Σ_l C_il R_lj        otherwise
// which is the block Gauss–Jordan step (A_KK ← D⁻¹, A_KJ ← D⁻¹A_KJ,
// A_IK ← −A_IK D⁻¹, A_IJ ← A_IJ − A_IK D⁻¹ A_KJ). After the last block
// column A holds A⁻¹; `finish` symmetrizes it, or fills it with NaN when a
// pivot failed.
//
// bindings: 0 p (uniform) {n, k0, kb}
//           1 a (rw) [n, n]           the matrix, overwritten by A⁻¹
//           2 r (rw) [B, n]           R, row l at l·n
//           3 c (rw) [n, B]           C, row i at i·B (columns ≥ kb are 0)
//           4 status (rw) [1] u32     0, or 1 once a pivot was ≤ 0, subnormal or not finite
// entries and dispatch geometry:
//   panel   ⌈n / 64⌉ workgroups of 256: workgroup w reduces [D | Ã(:, 64w‥64w+64)]
//           to [I | R(:, 64w‥)] in workgroup memory (every workgroup inverts D
//           again, the same way: same bits), and copies rows 64w‥64w+64 of C.
//           Rows kb ≤ l < B are padded as identity rows of D with zero Ã,
//           so R's rows ≥ kb are 0 and a partial last block needs no branch.
//   update  (⌈n / 64⌉, ⌈n / 64⌉) workgroups of 16×16; each invocation owns a
//           4×4 block of a 64×64 tile and sums l = 0‥B in order (matmul.wgsl's
//           layout). Every element of A is read and written by one invocation
//           only, so the update is safe in place. 16 KiB of workgroup memory.
//   finish  1-D over n² (flat_id): invocation (i, j) with i ≤ j writes
//           ½(a_ij + a_ji) to both, or NaN to both if status ≠ 0 or the
//           value is not finite (an overflow past a tiny pivot).
// Invariants: dispatches run in order (wgpu barriers storage between them);
// status is zeroed before the first panel; no float atomics (status is a u32
// flag every failing workgroup sets to the same value).

struct Params { n: u32, k0: u32, kb: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> r: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> status: array<atomic<u32>>;

const B: u32 = 32u;
// Columns of the panel's augmented matrix [D | Ã tile].
const PW: u32 = 96u;
const TILE: u32 = 64u;

var<workgroup> m: array<f32, 3072>; // [B][PW]
var<workgroup> col: array<f32, 32>; // column p of m before step p

// The biased exponent of x: 0 for ±0 and subnormals, 255 for ±∞ and NaN.
// Decided on the bits: shader compilers may assume NaN and ∞ never occur, so
// comparisons cannot be trusted with them.
fn exponent(x: f32) -> u32 {
    return (bitcast<u32>(x) >> 23u) & 0xffu;
}

// True for a positive, normal, finite pivot (a subnormal one would overflow 1/x).
fn good_pivot(x: f32) -> bool {
    return (bitcast<u32>(x) >> 31u) == 0u && exponent(x) != 0u && exponent(x) != 0xffu;
}

@compute @workgroup_size(256)
fn panel(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let n = p.n;
    let k0 = p.k0;
    let kb = p.kb;
    let j0 = wid.x * TILE;
    for (var e = t; e < B * PW; e += 256u) {
        let l = e / PW;
        let q = e % PW;
        var v = 0.0;
        if (q < B) {
            if (l < kb && q < kb) { v = a[(k0 + l) * n + k0 + q]; } else if (l == q) { v = 1.0; }
        } else {
            let j = j0 + q - B;
            if (l < kb && j < n) {
                if (j >= k0 && j < k0 + kb) {
                    v = select(0.0, 1.0, j - k0 == l);
                } else {
                    v = a[(k0 + l) * n + j];
                }
            }
        }
        m[e] = v;
    }
    // C: rows j0‥j0+64 of block column K.
    for (var e = t; e < TILE * B; e += 256u) {
        let i = j0 + e / B;
        let l = e % B;
        if (i < n) {
            var v = 0.0;
            if (l < kb) { v = a[i * n + k0 + l]; }
            c[i * B + l] = v;
        }
    }
    workgroupBarrier();

    for (var q = 0u; q < B; q++) {
        if (t < B) { col[t] = m[t * PW + q]; }
        workgroupBarrier();
        var piv = col[q];
        if (!good_pivot(piv)) {
            if (t == 0u) { atomicStore(&status[0], 1u); }
            piv = 1.0; // keep the rest finite; `finish` writes NaN
        }
        let inv = 1.0 / piv;
        // Row q scaled; columns ≤ q of D are never read again.
        for (var e = q + 1u + t; e < PW; e += 256u) { m[q * PW + e] = m[q * PW + e] * inv; }
        workgroupBarrier();
        let w = PW - q - 1u;
        for (var e = t; e < B * w; e += 256u) {
            let l = e / w;
            let x = q + 1u + e % w;
            if (l != q) { m[l * PW + x] = m[l * PW + x] - col[l] * m[q * PW + x]; }
        }
        workgroupBarrier();
    }

    for (var e = t; e < B * TILE; e += 256u) {
        let l = e / TILE;
        let j = j0 + e % TILE;
        if (j < n) { r[l * n + j] = m[l * PW + B + e % TILE]; }
    }
}

var<workgroup> c_tile: array<f32, 2048>; // [B][TILE], c_tile[l][ii] = C[row0 + ii][l]
var<workgroup> r_tile: array<f32, 2048>; // [B][TILE], r_tile[l][jj] = R[l][col0 + jj]

@compute @workgroup_size(16, 16)
fn update(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let n = p.n;
    let tid = lid.y * 16u + lid.x;
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;
    for (var e = tid; e < B * TILE; e += 256u) {
        let ii = e / B;
        let l = e % B;
        var cv = 0.0;
        if (row0 + ii < n) { cv = c[(row0 + ii) * B + l]; }
        c_tile[l * TILE + ii] = cv;
        let lr = e / TILE;
        let jj = e % TILE;
        var rv = 0.0;
        if (col0 + jj < n) { rv = r[lr * n + col0 + jj]; }
        r_tile[lr * TILE + jj] = rv;
    }
    workgroupBarrier();
    var acc: array<f32, 16>;
    for (var i = 0u; i < 16u; i++) { acc[i] = 0.0; }
    for (var l = 0u; l < B; l++) {
        var cr: array<f32, 4>;
        var rr: array<f32, 4>;
        for (var x = 0u; x < 4u; x++) { cr[x] = c_tile[l * TILE + lid.y * 4u + x]; }
        for (var y = 0u; y < 4u; y++) { rr[y] = r_tile[l * TILE + lid.x * 4u + y]; }
        for (var x = 0u; x < 4u; x++) {
            for (var y = 0u; y < 4u; y++) {
                acc[x * 4u + y] = acc[x * 4u + y] + cr[x] * rr[y];
            }
        }
    }
    let k0 = p.k0;
    let k1 = p.k0 + p.kb;
    for (var x = 0u; x < 4u; x++) {
        let i = row0 + lid.y * 4u + x;
        if (i >= n) { continue; }
        for (var y = 0u; y < 4u; y++) {
            let j = col0 + lid.x * 4u + y;
            if (j >= n) { continue; }
            var v: f32;
            if (i >= k0 && i < k1) {
                v = r_tile[(i - k0) * TILE + lid.x * 4u + y];
            } else {
                var own = 0.0;
                if (j < k0 || j >= k1) { own = a[i * n + j]; }
                v = own - acc[x * 4u + y];
            }
            a[i * n + j] = v;
        }
    }
}

@compute @workgroup_size(256)
fn finish(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let n = p.n;
    let k = flat_id(gid, nwg, WG);
    if (k >= n * n) { return; }
    let i = k / n;
    let j = k % n;
    if (i > j) { return; }
    var v = 0.5 * (a[i * n + j] + a[j * n + i]);
    if (atomicLoad(&status[0]) != 0u || exponent(v) == 0xffu) { v = bitcast<f32>(0x7fc00000u); }
    a[i * n + j] = v;
    a[j * n + i] = v;
}
