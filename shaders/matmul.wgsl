// matmul.wgsl — C = act(op(A) · op(B) + bias), batched, with transposes
// expressed as strides.
//
// bindings: 0 p (uniform) {m, n, k, has_bias, a_rs, a_cs, a_bs, b_rs, b_cs, b_bs, act, alpha}
//           1 a (read)  element (z, i, kk) at z·a_bs + i·a_rs + kk·a_cs
//           2 b (read)  element (z, kk, j) at z·b_bs + kk·b_rs + j·b_cs (b_bs = 0: shared)
//           3 bias (read) [n]  (a dummy when has_bias = 0)
//           4 c (read_write) [batch, m, n]
// dispatch: (ceil(n / 64), ceil(m / 64), batch) workgroups of 16×16; each
// invocation computes a 4×4 block of a 64×64 output tile, staging 64×16 tiles
// of A and B in workgroup memory. Out-of-range tile entries load as 0.
// Summation order over k is fixed (tile by tile, in order): deterministic.

struct Params {
    m: u32, n: u32, k: u32, has_bias: u32,
    a_rs: u32, a_cs: u32, a_bs: u32, act: u32,
    b_rs: u32, b_cs: u32, b_bs: u32, alpha: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

const TILE: u32 = 64u;
const BK: u32 = 16u;

var<workgroup> a_tile: array<f32, 1024>; // [BK][TILE]
var<workgroup> b_tile: array<f32, 1024>; // [BK][TILE]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let tid = lid.y * 16u + lid.x;
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;
    let a_base = wid.z * p.a_bs;
    let b_base = wid.z * p.b_bs;
    var acc: array<f32, 16>;
    for (var i = 0u; i < 16u; i++) { acc[i] = 0.0; }

    for (var k0 = 0u; k0 < p.k; k0 += BK) {
        for (var l = 0u; l < 4u; l++) {
            let e = tid + l * 256u;
            let ai = e / BK;
            let ak = e % BK;
            let gi = row0 + ai;
            let gk = k0 + ak;
            var av = 0.0;
            if (gi < p.m && gk < p.k) { av = a[a_base + gi * p.a_rs + gk * p.a_cs]; }
            a_tile[ak * TILE + ai] = av;
            let bk = e / TILE;
            let bj = e % TILE;
            let gk2 = k0 + bk;
            let gj = col0 + bj;
            var bv = 0.0;
            if (gk2 < p.k && gj < p.n) { bv = b[b_base + gk2 * p.b_rs + gj * p.b_cs]; }
            b_tile[bk * TILE + bj] = bv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            var ar: array<f32, 4>;
            var br: array<f32, 4>;
            for (var r = 0u; r < 4u; r++) { ar[r] = a_tile[kk * TILE + lid.y * 4u + r]; }
            for (var q = 0u; q < 4u; q++) { br[q] = b_tile[kk * TILE + lid.x * 4u + q]; }
            for (var r = 0u; r < 4u; r++) {
                for (var q = 0u; q < 4u; q++) {
                    acc[r * 4u + q] = acc[r * 4u + q] + ar[r] * br[q];
                }
            }
        }
        workgroupBarrier();
    }

    let c_base = wid.z * p.m * p.n;
    for (var r = 0u; r < 4u; r++) {
        let i = row0 + lid.y * 4u + r;
        if (i >= p.m) { continue; }
        for (var q = 0u; q < 4u; q++) {
            let j = col0 + lid.x * 4u + q;
            if (j >= p.n) { continue; }
            var v = acc[r * 4u + q];
            if (p.has_bias == 1u) { v = v + bias[j]; }
            c[c_base + i * p.n + j] = act_forward(v, p.act, p.alpha);
        }
    }
}

// ---- main_128: the same contract for large outputs ----------------------
// dispatch: (ceil(n / 128), ceil(m / 128), batch) workgroups of 16×16; each
// invocation accumulates an 8×8 block in registers, strided by 16 in both
// directions (thread (ty, tx) owns rows ty + 16r and columns tx + 16c) so
// that loads from the tiles and stores to C are contiguous across a row of
// threads. Tiles of A and B are 128×8 and 8×128 (8 KiB of workgroup memory).

const TILE_L: u32 = 128u;
const BK_L: u32 = 8u;

var<workgroup> a_tile_l: array<f32, 1024>; // [BK_L][TILE_L]
var<workgroup> b_tile_l: array<f32, 1024>; // [BK_L][TILE_L]

@compute @workgroup_size(16, 16)
fn main_128(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let tid = lid.y * 16u + lid.x;
    let row0 = wid.y * TILE_L;
    let col0 = wid.x * TILE_L;
    let a_base = wid.z * p.a_bs;
    let b_base = wid.z * p.b_bs;
    var acc: array<f32, 64>;
    for (var i = 0u; i < 64u; i++) { acc[i] = 0.0; }

    for (var k0 = 0u; k0 < p.k; k0 += BK_L) {
        for (var l = 0u; l < 4u; l++) {
            let e = tid + l * 256u;
            // A: element (ai, ak) of the 128×8 tile; consecutive threads walk k first.
            let ai = e / BK_L;
            let ak = e % BK_L;
            let gi = row0 + ai;
            let gk = k0 + ak;
            var av = 0.0;
            if (gi < p.m && gk < p.k) { av = a[a_base + gi * p.a_rs + gk * p.a_cs]; }
            a_tile_l[ak * TILE_L + ai] = av;
            // B: element (bk, bj) of the 8×128 tile; consecutive threads walk columns.
            let bk = e / TILE_L;
            let bj = e % TILE_L;
            let gk2 = k0 + bk;
            let gj = col0 + bj;
            var bv = 0.0;
            if (gk2 < p.k && gj < p.n) { bv = b[b_base + gk2 * p.b_rs + gj * p.b_cs]; }
            b_tile_l[bk * TILE_L + bj] = bv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK_L; kk++) {
            var ar: array<f32, 8>;
            var br: array<f32, 8>;
            for (var r = 0u; r < 8u; r++) { ar[r] = a_tile_l[kk * TILE_L + lid.y + 16u * r]; }
            for (var q = 0u; q < 8u; q++) { br[q] = b_tile_l[kk * TILE_L + lid.x + 16u * q]; }
            for (var r = 0u; r < 8u; r++) {
                for (var q = 0u; q < 8u; q++) {
                    acc[r * 8u + q] = acc[r * 8u + q] + ar[r] * br[q];
                }
            }
        }
        workgroupBarrier();
    }

    let c_base = wid.z * p.m * p.n;
    for (var r = 0u; r < 8u; r++) {
        let i = row0 + lid.y + 16u * r;
        if (i >= p.m) { continue; }
        for (var q = 0u; q < 8u; q++) {
            let j = col0 + lid.x + 16u * q;
            if (j >= p.n) { continue; }
            var v = acc[r * 8u + q];
            if (p.has_bias == 1u) { v = v + bias[j]; }
            c[c_base + i * p.n + j] = act_forward(v, p.act, p.alpha);
        }
    }
}
