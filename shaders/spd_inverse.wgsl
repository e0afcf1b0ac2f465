// spd_inverse.wgsl — A⁻¹ of a symmetric positive-definite A [n, n] by the
// blocked sweep operator (symmetric Gauss–Jordan without pivoting, Goodnight
// 1979), in place on a copy of A (src/gpu/ops/linalg.rs).
//
// Block column K covers rows/columns k0 ≤ t < k0 + kb (kb = min(B, n − k0),
// B = 32). Sweeping K maps a symmetric A to a symmetric A':
//     A'_KK = −D⁻¹,  A'_KJ = D⁻¹A_KJ,  A'_IK = A_IK D⁻¹,  A'_IJ = A_IJ − A_IK D⁻¹ A_KJ
// (D = A_KK, I, J ∉ K); sweeping every block column gives −A⁻¹. Because every
// iterate is symmetric, only the 64×64 tiles on or below the diagonal are kept
// (tile row ≥ tile column): `at(i, j)` reads the kept copy of either
// triangle, and the update does half of the Gauss–Jordan work. One step is
//     panel:  R = D⁻¹ Ã  [B, n], Ã = A_K* with A_KK replaced by I,
//             and C = A_*K  [n, B]   (both copied out of A first)
//     update: A_ij ← ∓R_(i−k0), j              for i in K (− for j in K)
//             A_ij ← Σ_l C_il R_lj              for i ∉ K, j in K
//             A_ij ← A_ij − Σ_l C_il R_lj       otherwise
// After the last block column `finish` writes −(kept lower entry) to both
// (i, j) and (j, i) — exactly symmetric — or NaN when a pivot failed.
//
// bindings: 0 p (uniform) {n, k0, kb}
//           1 a (rw) [n, n]           the matrix, overwritten by A⁻¹
//           2 r (rw) [B, n]           R, row l at l·n
//           3 c (rw) [n, B]           C, row i at i·B (columns ≥ kb are 0)
//           4 status (rw) [1] u32     0, or 1 once a pivot was ≤ 0, subnormal or not finite
// entries and dispatch geometry:
//   panel   ⌈n / 64⌉ workgroups of 32×8: workgroup w runs Gauss–Jordan on
//           [D | Ã(:, 64w‥64w+64)] in workgroup memory, writes R(:, 64w‥)
//           (every workgroup eliminates D again, the same way: same bits),
//           and copies rows 64w‥64w+64 of C.
//           Rows kb ≤ l < B are padded as identity rows of D with zero Ã,
//           so R's rows ≥ kb are 0 and a partial last block needs no branch.
//   update  (⌈n / 64⌉, ⌈n / 64⌉) workgroups of 16×16; those above the
//           diagonal (x > y) return at once. Each invocation owns a 4×4 block
//           of a 64×64 tile and sums l = 0‥B in order (matmul.wgsl's layout).
//           Every element of A is read and written by one invocation only, so
//           the update is safe in place. 16 KiB of workgroup memory.
//   finish  1-D over n² (flat_id): invocation (i, j) with i ≤ j writes
//           −a_ji to both, or NaN to both if status ≠ 0 or the value is not
//           finite (an overflow past a tiny pivot).
// Invariants: dispatches run in order (wgpu barriers storage between them);
// status is zeroed before the first panel; A starts symmetric (only the kept
// tiles are read); no float atomics (status is a u32 flag every failing
// workgroup sets to the same value).

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

// A_ij from the kept tile of the pair (i, j), (j, i).
fn at(i: u32, j: u32) -> f32 {
    if (i / TILE >= j / TILE) { return a[i * p.n + j]; }
    return a[j * p.n + i];
}

var<workgroup> m: array<f32, 3072>; // [B][PW]

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

@compute @workgroup_size(32, 8)
fn panel(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let n = p.n;
    let k0 = p.k0;
    let kb = p.kb;
    let j0 = wid.x * TILE;
    let t = lid.y * 32u + lid.x;
    for (var e = t; e < B * PW; e += 256u) {
        let l = e / PW;
        let q = e % PW;
        var v = 0.0;
        if (q < B) {
            if (l < kb && q < kb) { v = at(k0 + l, k0 + q); } else if (l == q) { v = 1.0; }
        } else {
            let j = j0 + q - B;
            if (l < kb && j < n) {
                if (j >= k0 && j < k0 + kb) {
                    v = select(0.0, 1.0, j - k0 == l);
                } else {
                    v = at(k0 + l, j);
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
            if (l < kb) { v = at(i, k0 + l); }
            c[i * B + l] = v;
        }
    }
    workgroupBarrier();

    // Elimination with the row scaling deferred: step q subtracts
    // m_lq / m_qq times row q from every other row l, on columns x > q only.
    // It reads row q and column q and writes neither, so one barrier per
    // step suffices, and m_ll keeps row l's pivot to the end. Invocation
    // (tx, ty) owns rows ty + 8r and columns tx + 32c.
    for (var q = 0u; q < B; q++) {
        var piv = m[q * PW + q];
        if (!good_pivot(piv)) {
            if (t == 0u) { atomicStore(&status[0], 1u); }
            piv = 1.0; // keep the rest finite; `finish` writes NaN
        }
        let inv = 1.0 / piv;
        for (var cc = 0u; cc < PW / 32u; cc++) {
            let x = lid.x + 32u * cc;
            if (x <= q) { continue; }
            let f = m[q * PW + x] * inv;
            for (var rr = 0u; rr < B / 8u; rr++) {
                let l = lid.y + 8u * rr;
                if (l != q) { m[l * PW + x] = m[l * PW + x] - m[l * PW + q] * f; }
            }
        }
        workgroupBarrier();
    }

    for (var e = t; e < B * TILE; e += 256u) {
        let l = e / TILE;
        let j = j0 + e % TILE;
        if (j < n) { r[l * n + j] = m[l * PW + B + e % TILE] / m[l * PW + l]; }
    }
}

var<workgroup> c_tile: array<f32, 2048>; // [B][TILE], c_tile[l][ii] = C[row0 + ii][l]
var<workgroup> r_tile: array<f32, 2048>; // [B][TILE], r_tile[l][jj] = R[l][col0 + jj]

@compute @workgroup_size(16, 16)
fn update(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    if (wid.x > wid.y) { return; }
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
            let j_in_k = j >= k0 && j < k1;
            var v: f32;
            if (i >= k0 && i < k1) {
                v = r_tile[(i - k0) * TILE + lid.x * 4u + y];
                if (j_in_k) { v = -v; }
            } else if (j_in_k) {
                v = acc[x * 4u + y];
            } else {
                v = a[i * n + j] - acc[x * 4u + y];
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
    var v = -a[j * n + i];
    if (atomicLoad(&status[0]) != 0u || exponent(v) == 0xffu) { v = bitcast<f32>(0x7fc00000u); }
    a[i * n + j] = v;
    a[j * n + i] = v;
}
