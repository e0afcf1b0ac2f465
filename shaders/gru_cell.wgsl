// gru_cell.wgsl — one fused GRU cell step and its backward
// (Backend::gru_cell / gru_cell_backward; CPU mirror: src/cpu/gru.rs).
//
// PyTorch's GRU, gates in order r, z, n: row q of a [n, 3h] gate tensor holds
// r at [q, j], z at [q, h + j], n at [q, 2h + j]. The caller passes the two
// projections separately, because b_hh's n part sits inside r ⊙ (·):
//   gx = x·W_ihᵀ + b_ih,  gh = h_prev·W_hhᵀ + b_hh   (both [n, 3h])
//   r = σ(gx_r + gh_r), z = σ(gx_z + gh_z), n = tanh(gx_n + r·gh_n)
//   h = (1 − z)·n + z·h_prev
// Rows with mask 0 keep h_prev (their gates are still saved); in the
// backward they get zero dgx and dgh and dh_prev = dh.
//
// Backward (dh the gradient of the step's h):
//   dn = dh·(1 − z), dz = dh·(h_prev − n)
//   dn_pre = dn·(1 − n²), dz_pre = dz·z·(1 − z), dr_pre = dn_pre·gh_n·r·(1 − r)
//   dgx = [dr_pre, dz_pre, dn_pre], dgh = [dr_pre, dz_pre, dn_pre·r]
//   dh_prev = dh·z (the direct part only; the caller adds dgh·W_hh)
//
// Entry `forward`:
//   binding | name    | access     | shape
//   0       | p       | uniform    | Params
//   1       | gx      | read       | [n, 3h] input projection
//   2       | gh      | read       | [n, 3h] recurrent projection
//   3       | h_prev  | read       | [n, h]
//   4       | mask    | read       | [n] (0 or 1); any read-only buffer when p.has_mask = 0
//   5       | h_out   | read_write | [n, h]
//   6       | act     | read_write | [n, 3h] activated gates
//
// Entry `backward`:
//   binding | name    | access     | shape
//   0       | p       | uniform    | Params
//   1       | act     | read       | [n, 3h] activated gates saved by `forward`
//   2       | gh      | read       | [n, 3h] the step's recurrent projection
//   3       | h_prev  | read       | [n, h]
//   4       | dh      | read       | [n, h] gradient of the step's h
//   5       | mask    | read       | [n]; any read-only buffer when p.has_mask = 0
//   6       | dgx     | read_write | [n, 3h]
//   7       | dgh     | read_write | [n, 3h]
//   8       | dh_prev | read_write | [n, h]
//
// Dispatch: 1-D, one invocation per (row, hidden unit), i = q·h + j, all three
// gates in that invocation; gpu.grid(n·h, WG) workgroups of WG = 256, spilling
// into y (flat_id). Invocations past n·h return.
//
// Invariants: each output element is written by exactly one invocation (no
// atomics, deterministic). Each entry point uses at most 8 storage buffers
// (the WebGPU default per-stage limit): the backward reads gh_n from the
// caller's gh rather than saving it in the forward. Expressions keep the
// operand order of the CPU reference.

struct Params {
    n: u32,        // rows
    h: u32,        // hidden units
    has_mask: u32, // 1 when binding `mask` holds a real mask
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// ---- forward ----------------------------------------------------------------

@group(0) @binding(1) var<storage, read> f_gx: array<f32>;
@group(0) @binding(2) var<storage, read> f_gh: array<f32>;
@group(0) @binding(3) var<storage, read> f_h_prev: array<f32>;
@group(0) @binding(4) var<storage, read> f_mask: array<f32>;
@group(0) @binding(5) var<storage, read_write> f_h_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> f_act: array<f32>;

fn sigmoid(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
}

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    let h = p.h;
    if (i >= p.n * h) { return; }
    let q = i / h;
    let j = i - q * h;
    let base = q * 3u * h + j;

    let rg = sigmoid(f_gx[base] + f_gh[base]);
    let zg = sigmoid(f_gx[base + h] + f_gh[base + h]);
    let ng = tanh(f_gx[base + 2u * h] + rg * f_gh[base + 2u * h]);
    f_act[base] = rg;
    f_act[base + h] = zg;
    f_act[base + 2u * h] = ng;

    var keep = false;
    if (p.has_mask != 0u) {
        keep = f_mask[q] == 0.0;
    }
    let hp = f_h_prev[i];
    if (keep) {
        f_h_out[i] = hp;
    } else {
        f_h_out[i] = (1.0 - zg) * ng + zg * hp;
    }
}

// ---- backward ---------------------------------------------------------------

@group(0) @binding(1) var<storage, read> b_act: array<f32>;
@group(0) @binding(2) var<storage, read> b_gh: array<f32>;
@group(0) @binding(3) var<storage, read> b_h_prev: array<f32>;
@group(0) @binding(4) var<storage, read> b_dh: array<f32>;
@group(0) @binding(5) var<storage, read> b_mask: array<f32>;
@group(0) @binding(6) var<storage, read_write> b_dgx: array<f32>;
@group(0) @binding(7) var<storage, read_write> b_dgh: array<f32>;
@group(0) @binding(8) var<storage, read_write> b_dh_prev: array<f32>;

@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    let h = p.h;
    if (i >= p.n * h) { return; }
    let q = i / h;
    let j = i - q * h;
    let base = q * 3u * h + j;

    var keep = false;
    if (p.has_mask != 0u) {
        keep = b_mask[q] == 0.0;
    }
    let dh = b_dh[i];
    if (keep) {
        b_dgx[base] = 0.0;
        b_dgx[base + h] = 0.0;
        b_dgx[base + 2u * h] = 0.0;
        b_dgh[base] = 0.0;
        b_dgh[base + h] = 0.0;
        b_dgh[base + 2u * h] = 0.0;
        b_dh_prev[i] = dh;
        return;
    }

    let rg = b_act[base];
    let zg = b_act[base + h];
    let ng = b_act[base + 2u * h];
    let hp = b_h_prev[i];
    let ghn = b_gh[base + 2u * h];
    let dn = dh * (1.0 - zg);
    let dz = dh * (hp - ng);
    let dn_pre = dn * (1.0 - ng * ng);
    let dz_pre = dz * zg * (1.0 - zg);
    let dr_pre = dn_pre * ghn * rg * (1.0 - rg);
    b_dgx[base] = dr_pre;
    b_dgx[base + h] = dz_pre;
    b_dgx[base + 2u * h] = dn_pre;
    b_dgh[base] = dr_pre;
    b_dgh[base + h] = dz_pre;
    b_dgh[base + 2u * h] = dn_pre * rg;
    b_dh_prev[i] = dh * zg;
}
