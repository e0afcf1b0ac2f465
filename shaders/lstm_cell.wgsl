// lstm_cell.wgsl — one fused LSTM cell step and its backward
// (Backend::lstm_cell / lstm_cell_backward; CPU mirror: src/cpu/lstm.rs).
//
// Gates are in PyTorch order i, f, g, o: row r of a [n, 4h] gate tensor holds
// i at [r, j], f at [r, h + j], g at [r, 2h + j], o at [r, 3h + j].
//   i = σ(gi), f = σ(gf), g = tanh(gg), o = σ(go)
//   c = f·c_prev + i·g,  h = o·tanh(c)
// Rows with mask 0 keep h_prev and c_prev (their gates are still saved);
// in the backward they get zero dgates, dc_prev = dc and dh_skip = dh.
//
// Entry `forward`:
//   binding | name    | access     | shape
//   0       | p       | uniform    | Params
//   1       | gates   | read       | [n, 4h] pre-activations
//   2       | h_prev  | read       | [n, h]
//   3       | c_prev  | read       | [n, h]
//   4       | mask    | read       | [n] (0 or 1); any read-only buffer when p.has_mask = 0
//   5       | h_out   | read_write | [n, h]
//   6       | c_out   | read_write | [n, h]
//   7       | act     | read_write | [n, 4h] activated gates
//
// Entry `backward`:
//   binding | name    | access     | shape
//   0       | p       | uniform    | Params
//   1       | act     | read       | [n, 4h] activated gates saved by `forward`
//   2       | c_prev  | read       | [n, h]
//   3       | dh      | read       | [n, h] gradient of the step's h
//   4       | dc      | read       | [n, h] gradient of the step's c
//   5       | mask    | read       | [n]; any read-only buffer when p.has_mask = 0
//   6       | dgates  | read_write | [n, 4h] gradient of the pre-activations
//   7       | dc_prev | read_write | [n, h]
//   8       | dh_skip | read_write | [n, h] (zeros without a mask)
//
// Dispatch: 1-D, one invocation per (row, hidden unit), i = r·h + j, all four
// gates in that invocation; gpu.grid(n·h, WG) workgroups of WG = 256, spilling
// into y (flat_id). Invocations past n·h return.
//
// Invariants: each output element is written by exactly one invocation (no
// atomics, deterministic). The backward recomputes c = f·c_prev + i·g from the
// saved gates instead of reading it, so that each entry point uses at most 8
// storage buffers (the WebGPU default per-stage limit). Expressions keep the
// operand order of the CPU reference.

struct Params {
    n: u32,        // rows
    h: u32,        // hidden units
    has_mask: u32, // 1 when binding `mask` holds a real mask
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// ---- forward ----------------------------------------------------------------

@group(0) @binding(1) var<storage, read> f_gates: array<f32>;
@group(0) @binding(2) var<storage, read> f_h_prev: array<f32>;
@group(0) @binding(3) var<storage, read> f_c_prev: array<f32>;
@group(0) @binding(4) var<storage, read> f_mask: array<f32>;
@group(0) @binding(5) var<storage, read_write> f_h_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> f_c_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> f_act: array<f32>;

fn sigmoid(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
}

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    let h = p.h;
    if (i >= p.n * h) { return; }
    let r = i / h;
    let j = i - r * h;
    let base = r * 4u * h + j;

    let ig = sigmoid(f_gates[base]);
    let fg = sigmoid(f_gates[base + h]);
    let gg = tanh(f_gates[base + 2u * h]);
    let og = sigmoid(f_gates[base + 3u * h]);
    f_act[base] = ig;
    f_act[base + h] = fg;
    f_act[base + 2u * h] = gg;
    f_act[base + 3u * h] = og;

    var keep = false;
    if (p.has_mask != 0u) {
        keep = f_mask[r] == 0.0;
    }
    let cp = f_c_prev[i];
    if (keep) {
        f_h_out[i] = f_h_prev[i];
        f_c_out[i] = cp;
    } else {
        let c = fg * cp + ig * gg;
        f_c_out[i] = c;
        f_h_out[i] = og * tanh(c);
    }
}

// ---- backward ---------------------------------------------------------------

@group(0) @binding(1) var<storage, read> b_act: array<f32>;
@group(0) @binding(2) var<storage, read> b_c_prev: array<f32>;
@group(0) @binding(3) var<storage, read> b_dh: array<f32>;
@group(0) @binding(4) var<storage, read> b_dc: array<f32>;
@group(0) @binding(5) var<storage, read> b_mask: array<f32>;
@group(0) @binding(6) var<storage, read_write> b_dgates: array<f32>;
@group(0) @binding(7) var<storage, read_write> b_dc_prev: array<f32>;
@group(0) @binding(8) var<storage, read_write> b_dh_skip: array<f32>;

@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    let h = p.h;
    if (i >= p.n * h) { return; }
    let r = i / h;
    let j = i - r * h;
    let base = r * 4u * h + j;

    var keep = false;
    if (p.has_mask != 0u) {
        keep = b_mask[r] == 0.0;
    }
    let dh = b_dh[i];
    let dc = b_dc[i];
    if (keep) {
        b_dgates[base] = 0.0;
        b_dgates[base + h] = 0.0;
        b_dgates[base + 2u * h] = 0.0;
        b_dgates[base + 3u * h] = 0.0;
        b_dc_prev[i] = dc;
        b_dh_skip[i] = dh;
        return;
    }

    let ig = b_act[base];
    let fg = b_act[base + h];
    let gg = b_act[base + 2u * h];
    let og = b_act[base + 3u * h];
    let cp = b_c_prev[i];
    let c = fg * cp + ig * gg;
    let tc = tanh(c);
    let dct = dc + dh * og * (1.0 - tc * tc);
    let d_o = dh * tc;
    let d_i = dct * gg;
    let d_f = dct * cp;
    let d_g = dct * ig;
    b_dgates[base] = d_i * ig * (1.0 - ig);
    b_dgates[base + h] = d_f * fg * (1.0 - fg);
    b_dgates[base + 2u * h] = d_g * (1.0 - gg * gg);
    b_dgates[base + 3u * h] = d_o * og * (1.0 - og);
    b_dc_prev[i] = dct * fg;
    b_dh_skip[i] = 0.0;
}
