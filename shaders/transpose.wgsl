// transpose.wgsl — out = xᵀ for a 2-D x [n, m] (Backend::transpose; CPU
// mirror: src/cpu/dense.rs), through a 16 × 16 tile in workgroup memory so
// that both the reads of x and the writes of out are coalesced.
//
// Entry `main`:
//   binding | name | access     | shape
//   0       | p    | uniform    | Params {n, m, tiles_x = ⌈m/16⌉, tiles = tiles_x·⌈n/16⌉}
//   1       | x    | read       | [n, m] f32
//   2       | out  | read_write | [m, n] f32
//
// Dispatch: one 16 × 16 workgroup per tile, gpu.grid(tiles·256, 256)
// workgroups spilling into y (tile = wid.y · nwg.x + wid.x; spare groups
// return). Tile (tx, ty) covers x[16·ty .., 16·tx ..]: invocation (lx, ly)
// loads x[16·ty + ly, 16·tx + lx] into buf[ly][lx], and after the barrier
// stores buf[lx][ly] to out[16·tx + ly, 16·ty + lx]. The row stride 17
// keeps the column reads of buf off a single memory bank.
//
// Invariants: a pure copy (bits preserved); edge tiles mask both phases.

struct Params {
    n: u32,
    m: u32,
    tiles_x: u32,
    tiles: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const TILE: u32 = 16u;
var<workgroup> buf: array<f32, 272>; // 16 rows of 17

@compute @workgroup_size(16, 16)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let tile = wid.y * nwg.x + wid.x;
    if (tile >= p.tiles) { return; }
    let tx = tile % p.tiles_x;
    let ty = tile / p.tiles_x;
    let r = ty * TILE + lid.y;
    let c = tx * TILE + lid.x;
    if (r < p.n && c < p.m) { buf[lid.y * 17u + lid.x] = x[r * p.m + c]; }
    workgroupBarrier();
    let orow = tx * TILE + lid.y;
    let ocol = ty * TILE + lid.x;
    if (orow < p.m && ocol < p.n) { out[orow * p.n + ocol] = buf[lid.x * 17u + lid.y]; }
}
