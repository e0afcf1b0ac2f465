// matmul.wgsl — C = act(op(A) · op(B) + bias), batched, with transposes
// expressed as strides.
//
// bindings: 0 p (uniform) {m, n, k, has_bias, a_rs, a_cs, a_bs, b_rs, b_cs, b_bs, act, alpha}
//           1 a (read)  element (z, i, kk) at z·a_bs + i·a_rs + kk·a_cs
//           2 b (read)  element (z, kk, j) at z·b_bs + kk·b_rs + j·b_cs (b_bs = 0: shared)
//           3 bias (read) [n]  (a dummy when has_bias = 0)
//           4 c (read_write) [batch, m, n]
// entries:  main_128: dispatch (ceil(n / 128), ceil(m / 128), batch) workgroups of 16×16,
//           an 8×8 block of outputs per invocation (outputs of at least 256 × 256);
//           main: dispatch (ceil(n / 64), ceil(m / 64), batch), 4×4 per invocation.
// Out-of-range tile entries load as 0. Summation order over k is fixed
// (tile by tile, in order): deterministic.
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

// Every accumulator is a named vec4 (no private array
// indexed in a loop, which a driver may keep in local memory instead of
// registers) and both operand tiles read from workgroup memory as vec4s.
// (On an H200 kernels that kept them in private arrays ran at 0.7 TFLOP/s
// at every size; these at 9–22.) main_128: each invocation's 8×8 block is
// rows 4·ty..4·ty+3 and 64+4·ty.., columns 4·tx.. and 64+4·tx..; main: rows
// 4·ty.., columns 4·tx...
// Tiles are BK_R = 16 deep; each k-row of a tile is padded by one vec4 so that
// the transposing stores from global memory spread over the banks. Global
// loads walk the operand's contiguous axis (a_cs = 1: k; else rows), so that
// neighbouring invocations read neighbouring addresses in every transpose
// case. Each output still sums k in ascending order: deterministic.

const BK_R: u32 = 16u;
const RS: u32 = 33u;   // vec4s per k-row of a 128-wide tile (32 + 1 pad)
const RS64: u32 = 17u; // vec4s per k-row of a 64-wide tile (16 + 1 pad)

var<workgroup> ra: array<vec4<f32>, 528>; // [BK_R][RS]
var<workgroup> rb: array<vec4<f32>, 528>;

// Stages the BK_R-deep tiles of A (rows row0.., `rows` of them) and B
// (columns col0.., `cols` of them) at k0, `per` elements per invocation, into
// ra/rb with `rs` vec4s per k-row.
fn stage_tiles(tid: u32, row0: u32, col0: u32, k0: u32, a_base: u32, b_base: u32, rows: u32, cols: u32, per: u32, rs: u32) {
    for (var l = 0u; l < per; l++) {
        let e = tid + l * 256u;
        var ai: u32; var ak: u32;
        if (p.a_cs == 1u) { ai = e / BK_R; ak = e % BK_R; } else { ai = e % rows; ak = e / rows; }
        let gi = row0 + ai;
        let gk = k0 + ak;
        var av = 0.0;
        if (gi < p.m && gk < p.k) { av = a[a_base + gi * p.a_rs + gk * p.a_cs]; }
        ra[ak * rs + ai / 4u][ai % 4u] = av;
        var bj: u32; var bk: u32;
        if (p.b_cs == 1u) { bj = e % cols; bk = e / cols; } else { bj = e / BK_R; bk = e % BK_R; }
        let gk2 = k0 + bk;
        let gj = col0 + bj;
        var bv = 0.0;
        if (gk2 < p.k && gj < p.n) { bv = b[b_base + gk2 * p.b_rs + gj * p.b_cs]; }
        rb[bk * rs + bj / 4u][bj % 4u] = bv;
    }
}

// Writes 4 outputs of row i from column j on, with the bias and activation.
fn store_row4(c_base: u32, i: u32, j: u32, v: vec4<f32>) {
    if (i >= p.m) { return; }
    for (var q = 0u; q < 4u; q++) {
        if (j + q < p.n) {
            var x = v[q];
            if (p.has_bias == 1u) { x = x + bias[j + q]; }
            c[c_base + i * p.n + j + q] = act_forward(x, p.act, p.alpha);
        }
    }
}

@compute @workgroup_size(16, 16)
fn main_128(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let tid = lid.y * 16u + lid.x;
    let row0 = wid.y * 128u;
    let col0 = wid.x * 128u;
    var c0_0 = vec4<f32>(0.0); var c0_1 = vec4<f32>(0.0);
    var c1_0 = vec4<f32>(0.0); var c1_1 = vec4<f32>(0.0);
    var c2_0 = vec4<f32>(0.0); var c2_1 = vec4<f32>(0.0);
    var c3_0 = vec4<f32>(0.0); var c3_1 = vec4<f32>(0.0);
    var c4_0 = vec4<f32>(0.0); var c4_1 = vec4<f32>(0.0);
    var c5_0 = vec4<f32>(0.0); var c5_1 = vec4<f32>(0.0);
    var c6_0 = vec4<f32>(0.0); var c6_1 = vec4<f32>(0.0);
    var c7_0 = vec4<f32>(0.0); var c7_1 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < p.k; k0 += BK_R) {
        stage_tiles(tid, row0, col0, k0, wid.z * p.a_bs, wid.z * p.b_bs, 128u, 128u, 8u, RS);
        workgroupBarrier();
        for (var kk = 0u; kk < BK_R; kk++) {
            let a0 = ra[kk * RS + lid.y];
            let a1 = ra[kk * RS + 16u + lid.y];
            let b0 = rb[kk * RS + lid.x];
            let b1 = rb[kk * RS + 16u + lid.x];
            c0_0 = c0_0 + a0.x * b0; c0_1 = c0_1 + a0.x * b1;
            c1_0 = c1_0 + a0.y * b0; c1_1 = c1_1 + a0.y * b1;
            c2_0 = c2_0 + a0.z * b0; c2_1 = c2_1 + a0.z * b1;
            c3_0 = c3_0 + a0.w * b0; c3_1 = c3_1 + a0.w * b1;
            c4_0 = c4_0 + a1.x * b0; c4_1 = c4_1 + a1.x * b1;
            c5_0 = c5_0 + a1.y * b0; c5_1 = c5_1 + a1.y * b1;
            c6_0 = c6_0 + a1.z * b0; c6_1 = c6_1 + a1.z * b1;
            c7_0 = c7_0 + a1.w * b0; c7_1 = c7_1 + a1.w * b1;
        }
        workgroupBarrier();
    }
    let c_base = wid.z * p.m * p.n;
    store_row4(c_base, row0 + lid.y * 4u + 0u, col0 + lid.x * 4u, c0_0);
    store_row4(c_base, row0 + lid.y * 4u + 0u, col0 + 64u + lid.x * 4u, c0_1);
    store_row4(c_base, row0 + lid.y * 4u + 1u, col0 + lid.x * 4u, c1_0);
    store_row4(c_base, row0 + lid.y * 4u + 1u, col0 + 64u + lid.x * 4u, c1_1);
    store_row4(c_base, row0 + lid.y * 4u + 2u, col0 + lid.x * 4u, c2_0);
    store_row4(c_base, row0 + lid.y * 4u + 2u, col0 + 64u + lid.x * 4u, c2_1);
    store_row4(c_base, row0 + lid.y * 4u + 3u, col0 + lid.x * 4u, c3_0);
    store_row4(c_base, row0 + lid.y * 4u + 3u, col0 + 64u + lid.x * 4u, c3_1);
    store_row4(c_base, row0 + 64u + lid.y * 4u + 0u, col0 + lid.x * 4u, c4_0);
    store_row4(c_base, row0 + 64u + lid.y * 4u + 0u, col0 + 64u + lid.x * 4u, c4_1);
    store_row4(c_base, row0 + 64u + lid.y * 4u + 1u, col0 + lid.x * 4u, c5_0);
    store_row4(c_base, row0 + 64u + lid.y * 4u + 1u, col0 + 64u + lid.x * 4u, c5_1);
    store_row4(c_base, row0 + 64u + lid.y * 4u + 2u, col0 + lid.x * 4u, c6_0);
    store_row4(c_base, row0 + 64u + lid.y * 4u + 2u, col0 + 64u + lid.x * 4u, c6_1);
    store_row4(c_base, row0 + 64u + lid.y * 4u + 3u, col0 + lid.x * 4u, c7_0);
    store_row4(c_base, row0 + 64u + lid.y * 4u + 3u, col0 + 64u + lid.x * 4u, c7_1);
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let tid = lid.y * 16u + lid.x;
    let row0 = wid.y * 64u;
    let col0 = wid.x * 64u;
    var c0 = vec4<f32>(0.0); var c1 = vec4<f32>(0.0); var c2 = vec4<f32>(0.0); var c3 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < p.k; k0 += BK_R) {
        stage_tiles(tid, row0, col0, k0, wid.z * p.a_bs, wid.z * p.b_bs, 64u, 64u, 4u, RS64);
        workgroupBarrier();
        for (var kk = 0u; kk < BK_R; kk++) {
            let a0 = ra[kk * RS64 + lid.y];
            let b0 = rb[kk * RS64 + lid.x];
            c0 = c0 + a0.x * b0;
            c1 = c1 + a0.y * b0;
            c2 = c2 + a0.z * b0;
            c3 = c3 + a0.w * b0;
        }
        workgroupBarrier();
    }
    let c_base = wid.z * p.m * p.n;
    store_row4(c_base, row0 + lid.y * 4u, col0 + lid.x * 4u, c0);
    store_row4(c_base, row0 + lid.y * 4u + 1u, col0 + lid.x * 4u, c1);
    store_row4(c_base, row0 + lid.y * 4u + 2u, col0 + lid.x * 4u, c2);
    store_row4(c_base, row0 + lid.y * 4u + 3u, col0 + lid.x * 4u, c3);
}
