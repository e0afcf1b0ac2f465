// loss.wgsl — per-example losses and their gradients; the mean is taken by
// reduce.wgsl afterwards (same order as the CPU reference).
//
// entry pointwise: for i < n, (loss[i], grad[i]) of kind
//     0 MSE      (x − y)²,                       grad 2(x − y)/n
//     1 BCE      max(x,0) − x·y + ln(1 + e^−|x|), grad (σ(x) − y)/n
//     2 BPR      −ln σ(x − y),                   grad −σ(−(x − y))/n  (for x; −grad for y)
//   bindings: 1 x (read) [n], 2 y (read) [n], 3 loss (rw) [n], 4 grad (rw) [n]
// entry softmax_ce: one workgroup per row r < n of logits [n, c]:
//     loss[r] = logsumexp(x_r) − x_r[t_r];  grad = (softmax(x_r) − onehot(t_r)) / n
//   bindings: 1 x (read) [n, c], 5 labels (read) [n] u32, 3 loss (rw) [n], 4 grad (rw) [n, c]
// bindings: 0 p (uniform) {n, c, kind, inv_n}

struct Params { n: u32, c: u32, kind: u32, inv_n: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;
@group(0) @binding(5) var<storage, read> labels: array<u32>;

fn softplus(z: f32) -> f32 {
    return max(z, 0.0) + log(1.0 + exp(-abs(z)));
}

@compute @workgroup_size(256)
fn pointwise(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg, WG);
    if (i >= p.n) { return; }
    let a = x[i];
    let b = y[i];
    var l: f32;
    var g: f32;
    switch p.kind {
        case 0u: { l = (a - b) * (a - b); g = 2.0 * (a - b); }
        case 1u: { l = max(a, 0.0) - a * b + log(1.0 + exp(-abs(a))); g = 1.0 / (1.0 + exp(-a)) - b; }
        default: { let d = a - b; l = softplus(-d); g = -1.0 / (1.0 + exp(d)); }
    }
    loss[i] = l;
    grad[i] = g * p.inv_n;
}


@compute @workgroup_size(256)
fn softmax_ce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) t: u32) {
    let r = wid.y * nwg.x + wid.x;
    let live = r < p.n;
    let base = r * p.c;
    var m = neg_inf();
    if (live) { for (var j = t; j < p.c; j += 256u) { m = max(m, x[base + j]); } }
    part[t] = m;
    let mx = tree(t, true);
    var s = 0.0;
    if (live) { for (var j = t; j < p.c; j += 256u) { s += exp(x[base + j] - mx); } }
    part[t] = s;
    let sum = tree(t, false);
    if (!live) { return; }
    let tg = labels[r];
    if (t == 0u) { loss[r] = mx + log(sum) - x[base + tg]; }
    for (var j = t; j < p.c; j += 256u) {
        let prob = exp(x[base + j] - mx) / sum;
        grad[base + j] = (prob - select(0.0, 1.0, j == tg)) * p.inv_n;
    }
}
