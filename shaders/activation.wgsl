// activation.wgsl — activation functions and their gradients.
//
// entry forward:  out = act(x)
// entry backward: out = dy · act'(x), written with y = act(x)
// bindings: 0 p (uniform) {n, act code (see common.wgsl), alpha}
//           1 x or y (read) [n]
//           2 dy (read) [n]            — backward only
//           3 out (read_write) [n]
// dispatch: 1-D, ceil(n / WG) groups.

struct Params { n: u32, act: u32, alpha: f32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.n) { return; }
    out[i] = act_forward(x[i], p.act, p.alpha);
}

@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.n) { return; }
    out[i] = dy[i] * act_grad_from_output(x[i], p.act, p.alpha);
}
