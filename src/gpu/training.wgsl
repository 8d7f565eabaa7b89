// mialab's training kernels: one mini-batch step (forward keeping each layer's input,
// softmax cross-entropy, backward, optimiser) with the network's state on the device; the
// dense layers, activations, dropout and optimiser here, the image layers in
// training_images.wgsl. The CPU twins are the training code in src/train (layers.rs, objective.rs,
// optimizer.rs), which the GPU trainer is tested against.
//
// Bindings: two read operands, one output and the kernel's parameters (u32; floats as
// their bits). Several models of one architecture train in the same dispatches, each on its
// own batch: every buffer holds them one after another (a product's grid z is the model).
// The state buffer holds every model's parameters, then their Adam first moments (SGD's
// velocity), then their second moments: [params | m | v]. A model that sits out a step has
// the label −1 on its records: no gradient, no loss, no update.

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> q: array<u32>;

const WORKGROUP: u32 = 64u;

fn flat(id: vec3<u32>, groups: vec3<u32>) -> u32 {
    return id.x + id.y * groups.x * WORKGROUP;
}

// The three products of a dense layer's step as one strided product, register-tiled: each
// invocation computes a 4 × 4 block of C = A·B in four vec4 registers, a workgroup of 16 × 16
// invocations a 64 × 64 tile (x along C's columns):
//   out[c + i·N + j] = start_j + Σ_k a[i·sai + k·sak] · b[bo + k·sbk + j·sbj],
// k ascending, start_j = b[bias + j] when q[9] is 1 (the forward pass's bias), else 0.
// q = [M, N, K, sai, sak, sbk, sbj, bo, c, with bias, bias, then the model strides of a, of
// b (and the bias), of out].
//   forward  C = X·W + b:  A = X [n, in], B = W [in, out]
//   weights  C = Xᵀ·dY:    A = X read transposed, B = dY
//   input    C = dY·Wᵀ:    A = dY, B = W read transposed
@compute @workgroup_size(16, 16)
fn product(@builtin(local_invocation_id) local: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>) {
    let model = group.z;
    let m = q[0];
    let n = q[1];
    let depth = q[2];
    let i0 = (group.y * 16u + local.y) * 4u;
    let j0 = (group.x * 16u + local.x) * 4u;
    if (i0 >= m || j0 >= n) { return; }
    let sai = q[3];
    let sak = q[4];
    let sbk = q[5];
    let sbj = q[6];
    let bo = q[7] + model * q[12];
    // Rows and columns past the edge read the last one (their results are not written).
    let rows = model * q[11] + vec4<u32>(i0, min(i0 + 1u, m - 1u), min(i0 + 2u, m - 1u), min(i0 + 3u, m - 1u)) * sai;
    let columns = bo + vec4<u32>(j0, min(j0 + 1u, n - 1u), min(j0 + 2u, n - 1u), min(j0 + 3u, n - 1u)) * sbj;
    var start = vec4<f32>(0.0);
    if (q[9] == 1u) {
        let bias = q[10] + model * q[12] + vec4<u32>(j0, min(j0 + 1u, n - 1u), min(j0 + 2u, n - 1u), min(j0 + 3u, n - 1u));
        start = vec4<f32>(b[bias.x], b[bias.y], b[bias.z], b[bias.w]);
    }
    var acc0 = start;
    var acc1 = start;
    var acc2 = start;
    var acc3 = start;
    for (var k = 0u; k < depth; k = k + 1u) {
        let ak = k * sak;
        let bk = columns + k * sbk;
        let bv = vec4<f32>(b[bk.x], b[bk.y], b[bk.z], b[bk.w]);
        acc0 = acc0 + a[rows.x + ak] * bv;
        acc1 = acc1 + a[rows.y + ak] * bv;
        acc2 = acc2 + a[rows.z + ak] * bv;
        acc3 = acc3 + a[rows.w + ak] * bv;
    }
    let c = q[8] + model * q[13];
    let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    for (var r = 0u; r < 4u; r = r + 1u) {
        let i = i0 + r;
        if (i >= m) { break; }
        let row = accs[r];
        for (var t = 0u; t < 4u; t = t + 1u) {
            if (j0 + t < n) { out[c + i * n + j0 + t] = row[t]; }
        }
    }
}

// The biases' gradient: out[g + o] = Σ_r a[r, o] (a: the output's gradient), for model z.
// q = [records, outputs, g, parameters per model].
@compute @workgroup_size(64)
fn bias_gradient(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let o = flat(id, groups);
    let model = id.z;
    let n = q[0];
    let outputs = q[1];
    if (o >= outputs) { return; }
    let base = model * n * outputs;
    var sum = 0.0;
    for (var r = 0u; r < n; r = r + 1u) {
        sum = sum + a[base + r * outputs + o];
    }
    out[model * q[3] + q[2] + o] = sum;
}

fn activate(v: f32, kind: u32, alpha: f32) -> f32 {
    switch kind {
        case 0u: { return max(v, 0.0); }
        case 1u: { return 1.0 / (1.0 + exp(-v)); }
        case 2u: { return tanh(v); }
        default: { return select(alpha * v, v, v >= 0.0); }
    }
}

fn slope(v: f32, kind: u32, alpha: f32) -> f32 {
    switch kind {
        case 0u: { return select(0.0, 1.0, v > 0.0); }
        case 1u: {
            let s = activate(v, 1u, 0.0);
            return s * (1.0 - s);
        }
        case 2u: {
            let t = tanh(v);
            return 1.0 - t * t;
        }
        default: { return select(alpha, 1.0, v >= 0.0); }
    }
}

// out = f(a). q = [values, kind, alpha bits].
@compute @workgroup_size(64)
fn activation_forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    out[i] = activate(a[i], q[1], bitcast<f32>(q[2]));
}

// out = b · f'(a), a being the activation's input and b its output's gradient.
// q = [values, kind, alpha bits].
@compute @workgroup_size(64)
fn activation_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    out[i] = b[i] * slope(a[i], q[1], bitcast<f32>(q[2]));
}

// out = a · b: dropout forward (b: the mask, 0 or 1 / (1 − ratio)) and backward alike.
// q = [values].
@compute @workgroup_size(64)
fn multiply(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    out[i] = a[i] * b[i];
}

// Softmax cross-entropy's gradient over every model's batch: out[r, c] = (p_c − [c = y_r]) /
// records per batch, a: the logits, b: the labels. One logit is read as class 1's against a 0
// for class 0. q = [records per batch, width, records over all models].
@compute @workgroup_size(64)
fn cross_entropy_gradient(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let r = flat(id, groups);
    let n = q[0];
    let width = q[1];
    if (r >= q[2]) { return; }
    if (b[r] < 0.0) {
        for (var c = 0u; c < width; c = c + 1u) { out[r * width + c] = 0.0; }
        return;
    }
    let label = u32(b[r]);
    let scale = 1.0 / f32(n);
    if (width == 1u) {
        let z = a[r];
        let p1 = 1.0 / (1.0 + exp(-z));
        out[r] = (p1 - select(0.0, 1.0, label == 1u)) * scale;
        return;
    }
    let base = r * width;
    var m = -3.40282346638528859812e38;
    for (var c = 0u; c < width; c = c + 1u) { m = max(m, a[base + c]); }
    var sum = 0.0;
    for (var c = 0u; c < width; c = c + 1u) { sum = sum + exp(a[base + c] - m); }
    let log_sum = m + log(sum);
    for (var c = 0u; c < width; c = c + 1u) {
        let p = exp(a[base + c] - log_sum);
        out[base + c] = (p - select(0.0, 1.0, c == label)) * scale;
    }
}

// Adds each model's batch mean cross-entropy to out[model] (its epoch's running sum), one
// invocation per model. a: the logits, b: the labels; q = [records per batch, width].
@compute @workgroup_size(1)
fn cross_entropy_sum(@builtin(workgroup_id) group: vec3<u32>) {
    let n = q[0];
    let width = q[1];
    let model = group.x;
    if (b[model * n] < 0.0) { return; }
    var total = 0.0;
    for (var r = model * n; r < (model + 1u) * n; r = r + 1u) {
        let label = u32(b[r]);
        if (width == 1u) {
            // ln(1 + e^z) − z·y, written to stay finite.
            let z = a[r];
            let soft_plus = max(z, 0.0) + log(1.0 + exp(-abs(z)));
            total = total + soft_plus - select(0.0, z, label == 1u);
            continue;
        }
        let base = r * width;
        var m = -3.40282346638528859812e38;
        for (var c = 0u; c < width; c = c + 1u) { m = max(m, a[base + c]); }
        var sum = 0.0;
        for (var c = 0u; c < width; c = c + 1u) { sum = sum + exp(a[base + c] - m); }
        total = total + m + log(sum) - a[base + label];
    }
    out[model] = out[model] + total / f32(n);
}

// One optimiser step over every parameter of every model, in place in the state
// [params | m | v]. a: the gradients, b: each parameter's weight decay (one model's).
// q = [parameters over all models, kind (0 SGD, 1 Adam, 2 AdamW), momentum, β1, β2, ε,
// parameters per model, then per model: [takes the step, learning rate, c1 = 1 − β1^t,
// √(1 − β2^t)]] (floats as bits).
@compute @workgroup_size(64)
fn optimizer_step(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    let n = q[0];
    if (i >= n) { return; }
    let per_model = q[6];
    let model = i / per_model;
    let settings = 7u + 4u * model;
    if (q[settings] == 0u) { return; }
    let kind = q[1];
    let lr = bitcast<f32>(q[settings + 1u]);
    let param = out[i];
    let decay = b[i % per_model];
    if (kind == 0u) {
        let g = a[i] + decay * param;
        let velocity = bitcast<f32>(q[2]) * out[n + i] + g;
        out[n + i] = velocity;
        out[i] = param - lr * velocity;
        return;
    }
    let b1 = bitcast<f32>(q[3]);
    let b2 = bitcast<f32>(q[4]);
    let eps = bitcast<f32>(q[5]);
    let c1 = bitcast<f32>(q[settings + 2u]);
    let root_c2 = bitcast<f32>(q[settings + 3u]);
    let decoupled = select(0.0, 1.0, kind == 2u);
    let g = a[i] + (1.0 - decoupled) * decay * param;
    let m = b1 * out[n + i] + (1.0 - b1) * g;
    let v = b2 * out[2u * n + i] + (1.0 - b2) * g * g;
    out[n + i] = m;
    out[2u * n + i] = v;
    let update = (m / c1) / (sqrt(v) / root_c2 + eps) + decoupled * decay * param;
    out[i] = param - lr * update;
}
