// mialab's training kernels for the image layers: convolution, pooling and batch
// normalisation, forward and backward. Appended to training.wgsl (its bindings a, b, out, q
// and `flat`); the same layout: every buffer holds every model's batch, one model after
// another, records NCHW. Their CPU twins are in src/train/layers.rs.
//
// A convolution's or pooling's shape in q, from q[1]: [channels in, in_h, in_w, kh, kw,
// stride y, stride x, pad y, pad x, out_h, out_w].
//
// Sums over a whole batch are taken in two dispatches: each record's share by one
// invocation, then the records' shares in record order by another. Besides giving a GPU
// more invocations, this keeps every invocation under 65,535 loop iterations: llvmpipe
// (lavapipe, the Vulkan adapter CI has) stops any invocation's loops after that many, with
// no error, and a batch of 100 Fashion-MNIST records has 78,400 values per channel.

struct Shape {
    channels: u32,
    in_h: u32,
    in_w: u32,
    kh: u32,
    kw: u32,
    sy: u32,
    sx: u32,
    py: u32,
    px: u32,
    out_h: u32,
    out_w: u32,
}

fn shape() -> Shape {
    return Shape(q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], q[10], q[11]);
}

// The input row a window position reads, or none (padding): o · stride + k − pad.
fn source(o: u32, k: u32, stride: u32, pad: u32, size: u32) -> i32 {
    let at = i32(o * stride + k) - i32(pad);
    return select(-1, at, at >= 0 && at < i32(size));
}

// Convolution forward: out[r, co, p] = Σ_{ci, ky, kx} W[co, ci, ky, kx] · a[r, ci, …] + bias[co],
// W and the bias from the state b. q = [outputs over every record, shape…, channels out,
// records per model, parameter offset, parameters per model].
@compute @workgroup_size(64)
fn conv_forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    let s = shape();
    let channels_out = q[12];
    let pixels = s.out_h * s.out_w;
    let r = i / (channels_out * pixels);
    let co = (i / pixels) % channels_out;
    let p = i % pixels;
    let oy = p / s.out_w;
    let ox = p % s.out_w;
    let model = r / q[13];
    let patch_len = s.channels * s.kh * s.kw;
    let weights = model * q[15] + q[14] + co * patch_len;
    let record = r * s.channels * s.in_h * s.in_w;
    var sum = 0.0;
    for (var ci = 0u; ci < s.channels; ci = ci + 1u) {
        let plane = record + ci * s.in_h * s.in_w;
        for (var ky = 0u; ky < s.kh; ky = ky + 1u) {
            let iy = source(oy, ky, s.sy, s.py, s.in_h);
            if (iy < 0) { continue; }
            for (var kx = 0u; kx < s.kw; kx = kx + 1u) {
                let ix = source(ox, kx, s.sx, s.px, s.in_w);
                if (ix < 0) { continue; }
                sum = sum + b[weights + (ci * s.kh + ky) * s.kw + kx] * a[plane + u32(iy) * s.in_w + u32(ix)];
            }
        }
    }
    out[i] = sum + b[model * q[15] + q[14] + channels_out * patch_len + co];
}

// One record's share of the convolution's parameter gradients, into `out` (one row of the
// layer's parameters per record): per weight, Σ over output positions of dy · the input it
// met; per bias, Σ dy over the record's plane. a: the layer's input, b: its output's
// gradient. q = [records · parameters of the layer, shape…, channels out].
@compute @workgroup_size(64)
fn conv_parameter_partials(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    let s = shape();
    let channels_out = q[12];
    let patch_len = s.channels * s.kh * s.kw;
    let per_record = channels_out * patch_len + channels_out;
    let r = i / per_record;
    let j = i % per_record;
    let pixels = s.out_h * s.out_w;
    if (j >= channels_out * patch_len) {
        let plane = r * channels_out * pixels + (j - channels_out * patch_len) * pixels;
        var sum = 0.0;
        for (var p = 0u; p < pixels; p = p + 1u) { sum = sum + b[plane + p]; }
        out[i] = sum;
        return;
    }
    let co = j / patch_len;
    let t = j % patch_len;
    let ci = t / (s.kh * s.kw);
    let ky = (t / s.kw) % s.kh;
    let kx = t % s.kw;
    let plane = r * s.channels * s.in_h * s.in_w + ci * s.in_h * s.in_w;
    let gradient = r * channels_out * pixels + co * pixels;
    var sum = 0.0;
    for (var oy = 0u; oy < s.out_h; oy = oy + 1u) {
        let iy = source(oy, ky, s.sy, s.py, s.in_h);
        if (iy < 0) { continue; }
        for (var ox = 0u; ox < s.out_w; ox = ox + 1u) {
            let ix = source(ox, kx, s.sx, s.px, s.in_w);
            if (ix < 0) { continue; }
            sum = sum + b[gradient + oy * s.out_w + ox] * a[plane + u32(iy) * s.in_w + u32(ix)];
        }
    }
    out[i] = sum;
}

// The records' shares a (one row of `per record` values each) summed per model in record
// order into the gradients `out` from the layer's offset. q = [models · per record, per
// record, records per model, parameter offset, parameters per model].
@compute @workgroup_size(64)
fn sum_partials(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    let per_record = q[1];
    let batch = q[2];
    let model = i / per_record;
    let j = i % per_record;
    var sum = 0.0;
    for (var r = model * batch; r < (model + 1u) * batch; r = r + 1u) {
        sum = sum + a[r * per_record + j];
    }
    out[model * q[4] + q[3] + j] = sum;
}

// Convolution's input gradient: out[r, ci, iy, ix] = Σ_{ky, kx} (Σ_co W[co, ci, ky, kx] ·
// a[r, co, oy, ox]) over the output positions whose window read that cell, a: the output's
// gradient, b: the state. q as conv_forward's, q[0] counting input values.
@compute @workgroup_size(64)
fn conv_input_gradient(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    let s = shape();
    let channels_out = q[12];
    let in_plane = s.in_h * s.in_w;
    let r = i / (s.channels * in_plane);
    let ci = (i / in_plane) % s.channels;
    let iy = (i % in_plane) / s.in_w;
    let ix = i % s.in_w;
    let model = r / q[13];
    let patch_len = s.channels * s.kh * s.kw;
    let weights = model * q[15] + q[14] + ci * s.kh * s.kw;
    let pixels = s.out_h * s.out_w;
    let gradient = r * channels_out * pixels;
    var sum = 0.0;
    for (var ky = 0u; ky < s.kh; ky = ky + 1u) {
        let row = i32(iy + s.py) - i32(ky);
        if (row < 0 || u32(row) % s.sy != 0u || u32(row) / s.sy >= s.out_h) { continue; }
        let oy = u32(row) / s.sy;
        for (var kx = 0u; kx < s.kw; kx = kx + 1u) {
            let column = i32(ix + s.px) - i32(kx);
            if (column < 0 || u32(column) % s.sx != 0u || u32(column) / s.sx >= s.out_w) { continue; }
            let ox = u32(column) / s.sx;
            var cell = 0.0;
            for (var co = 0u; co < channels_out; co = co + 1u) {
                cell = cell + b[weights + co * patch_len + ky * s.kw + kx] * a[gradient + co * pixels + oy * s.out_w + ox];
            }
            sum = sum + cell;
        }
    }
    out[i] = sum;
}

// The input rows (or columns) a pooling window covers: [start, end).
fn covered(o: u32, stride: u32, pad: u32, kernel: u32, size: u32) -> vec2<u32> {
    let start = u32(max(i32(o * stride) - i32(pad), 0));
    let end = u32(clamp(i32(o * stride + kernel) - i32(pad), 0, i32(size)));
    return vec2<u32>(start, max(end, start));
}

struct Pooled {
    value: f32,
    // Max: the cell the value came from, within its plane.
    at: u32,
    // Average: what the sum was divided by.
    divisor: f32,
}

// A pooling window's value (q[12]: 0 max, 1 average over the cells it covers, 2 average
// over the whole window), within `plane`.
fn pooled(plane: u32, oy: u32, ox: u32, s: Shape) -> Pooled {
    let rows = covered(oy, s.sy, s.py, s.kh, s.in_h);
    let columns = covered(ox, s.sx, s.px, s.kw, s.in_w);
    var best = -3.40282346638528859812e38;
    var at = 0u;
    var sum = 0.0;
    for (var iy = rows.x; iy < rows.y; iy = iy + 1u) {
        for (var ix = columns.x; ix < columns.y; ix = ix + 1u) {
            let v = a[plane + iy * s.in_w + ix];
            if (v > best) {
                best = v;
                at = iy * s.in_w + ix;
            }
            sum = sum + v;
        }
    }
    if (q[12] == 0u) { return Pooled(best, at, 1.0); }
    var divisor = f32(max((rows.y - rows.x) * (columns.y - columns.x), 1u));
    if (q[12] == 2u) { divisor = f32(s.kh * s.kw); }
    return Pooled(sum / divisor, at, divisor);
}

// Pooling forward over every plane of every record: a: the input. q = [outputs, shape…,
// kind].
@compute @workgroup_size(64)
fn pool_forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    let s = shape();
    let out_plane = s.out_h * s.out_w;
    let plane = (i / out_plane) * s.in_h * s.in_w;
    let o = i % out_plane;
    out[i] = pooled(plane, o / s.out_w, o % s.out_w, s).value;
}

// Pooling's input gradient, one invocation per input cell: the output gradients b of the
// windows that took their maximum from it (found again from the input a), or of every
// window covering it divided by its divisor, in output order. q = [input values, shape…,
// kind].
@compute @workgroup_size(64)
fn pool_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    let s = shape();
    let in_plane = s.in_h * s.in_w;
    let plane_index = i / in_plane;
    let plane = plane_index * in_plane;
    let cell = i % in_plane;
    let iy = cell / s.in_w;
    let ix = cell % s.in_w;
    let gradient = plane_index * s.out_h * s.out_w;
    // Windows o with o·stride − pad ≤ i < o·stride − pad + kernel.
    let first_y = u32(max(i32(iy + s.py) - i32(s.kh) + i32(s.sy), 0)) / s.sy;
    let last_y = min((iy + s.py) / s.sy + 1u, s.out_h);
    let first_x = u32(max(i32(ix + s.px) - i32(s.kw) + i32(s.sx), 0)) / s.sx;
    let last_x = min((ix + s.px) / s.sx + 1u, s.out_w);
    var sum = 0.0;
    for (var oy = first_y; oy < last_y; oy = oy + 1u) {
        for (var ox = first_x; ox < last_x; ox = ox + 1u) {
            let g = b[gradient + oy * s.out_w + ox];
            let w = pooled(plane, oy, ox, s);
            if (q[12] == 0u) {
                if (w.at == cell) { sum = sum + g; }
            } else {
                sum = sum + g / w.divisor;
            }
        }
    }
    out[i] = sum;
}

// Batch normalisation's statistics layout: 8 values per (model, channel):
// [mean, biased variance, 1/√(variance + ε), γ, β, Σ dy, Σ dy·z, unused]. Sums are float32
// (the CPU twin's are float64), taken record by record.
const STATS: u32 = 8u;

// One record's share of a channel's statistics: the sum of its values in a (q[3] = 0), or of
// their squared distances from the batch mean in the statistics b (q[3] = 1), into
// out[record · channels + channel]. q = [records · channels, channels, inner, squares,
// records per model].
@compute @workgroup_size(64)
fn channel_partials(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    let channels = q[1];
    let inner = q[2];
    let r = i / channels;
    let c = i % channels;
    let base = r * channels * inner + c * inner;
    var sum = 0.0;
    if (q[3] == 0u) {
        for (var t = 0u; t < inner; t = t + 1u) { sum = sum + a[base + t]; }
    } else {
        let mean = b[((r / q[4]) * channels + c) * STATS];
        for (var t = 0u; t < inner; t = t + 1u) {
            let d = a[base + t] - mean;
            sum = sum + d * d;
        }
    }
    out[i] = sum;
}

// A channel's batch statistics from its records' shares a, into the statistics `out`: the
// mean with the channel's γ and β from the state b (q[3] = 0), or the biased variance and
// 1/√(variance + ε) (q[3] = 1). q = [models · channels, channels, inner, stage, records per
// model, parameter offset, parameters per model, ε bits].
@compute @workgroup_size(64)
fn channel_statistics(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    let channels = q[1];
    let batch = q[4];
    let model = i / channels;
    let c = i % channels;
    var sum = 0.0;
    for (var r = model * batch; r < (model + 1u) * batch; r = r + 1u) {
        sum = sum + a[r * channels + c];
    }
    let value = sum / f32(batch * q[2]);
    let at = i * STATS;
    if (q[3] == 0u) {
        let parameters = model * q[6] + q[5];
        out[at] = value;
        out[at + 3u] = b[parameters + c];
        out[at + 4u] = b[parameters + channels + c];
    } else {
        out[at + 1u] = value;
        out[at + 2u] = 1.0 / sqrt(value + bitcast<f32>(q[7]));
    }
}

// z = (a − mean) / √(var + ε), b: the statistics. q = [values, channels, inner, records per
// model].
@compute @workgroup_size(64)
fn batch_norm_normalise(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    let at = statistics_of(i) * STATS;
    out[i] = (a[i] - b[at]) * b[at + 2u];
}

// out = z · γ + β, a: z, b: the statistics. q as batch_norm_normalise's.
@compute @workgroup_size(64)
fn batch_norm_scale(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    let at = statistics_of(i) * STATS;
    out[i] = a[i] * b[at + 3u] + b[at + 4u];
}

// The (model, channel) statistics index of value i of the batch. q[1..4] = channels, inner,
// records per model.
fn statistics_of(i: u32) -> u32 {
    let channels = q[1];
    let inner = q[2];
    let r = i / (channels * inner);
    let c = (i / inner) % channels;
    return (r / q[3]) * channels + c;
}

// One record's Σ dy and Σ dy·z over a channel's values, a: z, b: dy, into
// out[2 (record · channels + channel) + {0, 1}]. q = [records · channels, channels, inner].
@compute @workgroup_size(64)
fn batch_norm_partials(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    let channels = q[1];
    let inner = q[2];
    let base = (i / channels) * channels * inner + (i % channels) * inner;
    var sum = 0.0;
    var weighted = 0.0;
    for (var t = 0u; t < inner; t = t + 1u) {
        let d = b[base + t];
        sum = sum + d;
        weighted = weighted + d * a[base + t];
    }
    out[2u * i] = sum;
    out[2u * i + 1u] = weighted;
}

// Σ dy and Σ dy·z per (model, channel) from the records' shares a, into the statistics
// `out`. q = [models · channels, channels, records per model].
@compute @workgroup_size(64)
fn batch_norm_sums(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    let channels = q[1];
    let batch = q[2];
    let model = i / channels;
    let c = i % channels;
    var sum = 0.0;
    var weighted = 0.0;
    for (var r = model * batch; r < (model + 1u) * batch; r = r + 1u) {
        let at = 2u * (r * channels + c);
        sum = sum + a[at];
        weighted = weighted + a[at + 1u];
    }
    out[i * STATS + 5u] = sum;
    out[i * STATS + 6u] = weighted;
}

// γ's and β's gradients (Σ dy·z, Σ dy) from the statistics a into the gradients `out`.
// q = [models · channels, channels, parameter offset, parameters per model].
@compute @workgroup_size(64)
fn batch_norm_parameter_gradient(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    let channels = q[1];
    let model = i / channels;
    let c = i % channels;
    let parameters = model * q[3] + q[2];
    out[parameters + c] = a[i * STATS + 6u];
    out[parameters + channels + c] = a[i * STATS + 5u];
}

// The input gradient, in place over the output gradient `out`: dx = γ/√(var + ε)/N ·
// (N·dy − Σ dy − z·Σ dy·z), a: z, b: the statistics. q as batch_norm_normalise's.
@compute @workgroup_size(64)
fn batch_norm_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    let at = statistics_of(i) * STATS;
    let count = f32(q[2] * q[3]);
    let scale = b[at + 3u] * b[at + 2u] / count;
    out[i] = scale * (count * out[i] - b[at + 5u] - a[i] * b[at + 6u]);
}

// Folds each stepping model's batch statistics a into its running ones `out` ([mean; C] then
// [variance; C] from `offset` of each model's `per model`): running = m·running + (1 − m)·batch.
// b: the labels (−1: the model sits the step out). q = [models · channels, channels, records
// per model, offset, per model, m bits, (1 − m) bits].
@compute @workgroup_size(64)
fn running_statistics(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= q[0]) { return; }
    let channels = q[1];
    let model = i / channels;
    let c = i % channels;
    if (b[model * q[2]] < 0.0) { return; }
    let m = bitcast<f32>(q[5]);
    let rest = bitcast<f32>(q[6]);
    let mean = model * q[4] + q[3] + c;
    let variance = mean + channels;
    out[mean] = m * out[mean] + rest * a[i * STATS];
    out[variance] = m * out[variance] + rest * a[i * STATS + 1u];
}
