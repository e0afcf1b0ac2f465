// keep_top_k.wgsl — per row of x [n, m], keep the k largest entries and zero
// the rest (Backend::keep_top_k; CPU mirror: src/cpu/topk.rs). Entries rank
// by order_key (below): value, NaN lowest, −0 = +0; ties go to the lower
// column. Any k (the host handles k = 0 and k ≥ m without this kernel).
//
// Entry `main`:
//   binding | name | access     | shape
//   0       | p    | uniform    | Params {n, m, k}, 0 < k < m
//   1       | x    | read       | [n, m] f32
//   2       | out  | read_write | [n, m] f32
//
// Dispatch: one workgroup of 256 invocations per row; gpu.grid(n·256, 256)
// workgroups, spilling into y (row = wid.y · nwg.x + wid.x; the spare groups
// of a spilled grid return). Per row, in five coalesced passes over it:
//   passes 0‥3 — radix select of T, the k-th largest key, 8 bits at a time
//     from the top: count the keys that match the digits chosen so far in a
//     256-bin workgroup histogram (integer atomics: the counts, hence the
//     result, do not depend on their order), then invocation 0 walks the bins
//     from the top to the bin where the running count reaches `need`, the
//     rank still wanted. After the four passes T is exact, `need` is how many
//     entries with key T to keep and `ties` how many the row has.
//   pass 4 — write: key > T is kept; key = T is kept while fewer than `need`
//     ties lie to its left (an exclusive scan over each 256-column tile plus
//     the count of earlier tiles; skipped when every tie is kept, the usual
//     case for float scores); everything else is 0.
// Cost per row: 5·m loads, m stores, 4·256 serial bin steps, plus
// 8 barriered scan steps per tile when ties must be split.
//
// Invariants: no float atomics, no float arithmetic on the values (kept
// entries are copied bit for bit), so the output is the CPU reference's.

struct Params {
    n: u32,
    m: u32,
    k: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> scan: array<u32, 256>;
var<workgroup> sel_prefix: u32;
var<workgroup> sel_need: u32;
var<workgroup> sel_ties: u32;
var<workgroup> tile_ties: u32;

// Larger float, larger key; ±0 share a key; NaN is 0, below −inf (0x007fffff).
fn order_key(v: f32) -> u32 {
    let b = bitcast<u32>(v);
    let mag = b & 0x7fffffffu;
    if (mag > 0x7f800000u) { return 0u; }
    if (mag == 0u) { return 0x80000000u; }
    if (b != mag) { return ~b; }
    return b | 0x80000000u;
}

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = lid.x;
    let row = wid.y * nwg.x + wid.x;
    if (row >= p.n) { return; }
    let base = row * p.m;

    var prefix = 0u;
    var need = p.k;
    var ties = 0u;
    for (var digit = 0u; digit < 4u; digit++) {
        let shift = 24u - 8u * digit;
        atomicStore(&hist[t], 0u);
        workgroupBarrier();
        for (var j = t; j < p.m; j += 256u) {
            let key = order_key(x[base + j]);
            if (digit == 0u || (key >> (shift + 8u)) == (prefix >> (shift + 8u))) {
                atomicAdd(&hist[(key >> shift) & 255u], 1u);
            }
        }
        workgroupBarrier();
        if (t == 0u) {
            // need ≤ the keys matching so far, so the walk stops at a bin.
            var cum = 0u;
            var b = 255u;
            var c = atomicLoad(&hist[b]);
            while (cum + c < need && b > 0u) {
                cum += c;
                b -= 1u;
                c = atomicLoad(&hist[b]);
            }
            sel_prefix = prefix | (b << shift);
            sel_need = need - cum;
            sel_ties = c;
        }
        prefix = workgroupUniformLoad(&sel_prefix);
        need = workgroupUniformLoad(&sel_need);
        ties = workgroupUniformLoad(&sel_ties);
    }
    let kth = prefix;

    if (need == ties) {
        for (var j = t; j < p.m; j += 256u) {
            let v = x[base + j];
            out[base + j] = select(0.0, v, order_key(v) >= kth);
        }
        return;
    }
    var running = 0u; // ties in earlier tiles
    for (var tile = 0u; tile < p.m; tile += 256u) {
        let j = tile + t;
        var v = 0.0;
        var key = 0u;
        var tie = 0u;
        if (j < p.m) {
            v = x[base + j];
            key = order_key(v);
            tie = select(0u, 1u, key == kth);
        }
        scan[t] = tie;
        workgroupBarrier();
        for (var s = 1u; s < 256u; s <<= 1u) {
            var add = 0u;
            if (t >= s) { add = scan[t - s]; }
            workgroupBarrier();
            scan[t] += add;
            workgroupBarrier();
        }
        let left = running + scan[t] - tie;
        if (j < p.m) {
            out[base + j] = select(0.0, v, key > kth || (tie == 1u && left < need));
        }
        if (t == 255u) { tile_ties = scan[255]; }
        running += workgroupUniformLoad(&tile_ties);
    }
}
