// mialab's GPU kernels over a batch of records stored one after another: the direct ones,
// one invocation per output value (per row for softmax and signals), and the tiled products
// at the end, several outputs per invocation. Every kernel has a CPU twin in twin.rs
// that does the same float32 operations in the same order.
//
// Bindings: the layer's input, its output, its constants (weights then bias; scale then
// shift; labels) and its parameters (u32). Several models of one architecture run in one
// dispatch: p[0] is the number of invocations, p[1] the records per model, p[2] is 1 when
// every model reads the same input records (the first layer), p[3] the length of one
// model's constants; kernel parameters follow from p[4]. Outputs are model after model.

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> consts: array<f32>;
@group(0) @binding(3) var<storage, read> p: array<u32>;

const WORKGROUP: u32 = 64u;

// Flat invocation index over a 2-D grid of workgroups (a dispatch may exceed 65,535 groups).
fn flat(id: vec3<u32>, groups: vec3<u32>) -> u32 {
    return id.x + id.y * groups.x * WORKGROUP;
}

// The input row that output row `row` (over all models) reads.
fn input_row(row: u32) -> u32 {
    return select(row, row % p[1], p[2] == 1u);
}

// Where the constants of output row `row`'s model start.
fn consts_base(row: u32) -> u32 {
    return (row / p[1]) * p[3];
}

// out[r, o] = bias[o] + sum_k in[r, k] * w[k, o]; p[4..] = [inputs, outputs].
@compute @workgroup_size(64)
fn dense(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= p[0]) { return; }
    let inputs = p[4];
    let outputs = p[5];
    let r = i / outputs;
    let o = i % outputs;
    let src_base = input_row(r) * inputs;
    let c = consts_base(r);
    var acc = consts[c + inputs * outputs + o];
    for (var k = 0u; k < inputs; k = k + 1u) {
        acc = acc + src[src_base + k] * consts[c + k * outputs + o];
    }
    dst[i] = acc;
}

// Input index of window (oy, ox) at kernel offset (ky, kx) in channel c of input row
// `record`, or -1 on padding. p[4..] = [c_in, in_h, in_w, kh, kw, sh, sw, pt, pl, out_h,
// out_w, ...].
fn window_source(record: u32, c: u32, oy: u32, ox: u32, ky: u32, kx: u32) -> i32 {
    let iy = i32(oy * p[9] + ky) - i32(p[11]);
    let ix = i32(ox * p[10] + kx) - i32(p[12]);
    if (iy < 0 || ix < 0 || iy >= i32(p[5]) || ix >= i32(p[6])) { return -1; }
    return i32(((record * p[4] + c) * p[5] + u32(iy)) * p[6] + u32(ix));
}

// p[4..] = [c_in, in_h, in_w, kh, kw, sh, sw, pt, pl, out_h, out_w, c_out];
// consts = weight [c_out, c_in, kh, kw] then bias [c_out].
@compute @workgroup_size(64)
fn conv2d(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= p[0]) { return; }
    let c_in = p[4];
    let kh = p[7];
    let kw = p[8];
    let out_h = p[13];
    let out_w = p[14];
    let c_out = p[15];
    let per_record = c_out * out_h * out_w;
    let row = i / per_record;
    let record = input_row(row);
    let cb = consts_base(row);
    let o = i % per_record;
    let co = o / (out_h * out_w);
    let oy = (o / out_w) % out_h;
    let ox = o % out_w;
    var acc = consts[cb + c_out * c_in * kh * kw + co];
    for (var c = 0u; c < c_in; c = c + 1u) {
        for (var ky = 0u; ky < kh; ky = ky + 1u) {
            for (var kx = 0u; kx < kw; kx = kx + 1u) {
                let s = window_source(record, c, oy, ox, ky, kx);
                if (s >= 0) {
                    acc = acc + src[s] * consts[cb + ((co * c_in + c) * kh + ky) * kw + kx];
                }
            }
        }
    }
    dst[i] = acc;
}

// p[4..] = [c, in_h, in_w, kh, kw, sh, sw, pt, pl, out_h, out_w, kind]
// kind 0: max; 1: average over the window's inputs; 2: average over the whole window.
@compute @workgroup_size(64)
fn pool2d(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= p[0]) { return; }
    let kh = p[7];
    let kw = p[8];
    let out_h = p[13];
    let out_w = p[14];
    let per_record = p[4] * out_h * out_w;
    let record = input_row(i / per_record);
    let o = i % per_record;
    let c = o / (out_h * out_w);
    let oy = (o / out_w) % out_h;
    let ox = o % out_w;
    var best = -3.40282346638528859812e38;
    var sum = 0.0;
    var count = 0u;
    for (var ky = 0u; ky < kh; ky = ky + 1u) {
        for (var kx = 0u; kx < kw; kx = kx + 1u) {
            let s = window_source(record, c, oy, ox, ky, kx);
            if (s >= 0) {
                best = max(best, src[s]);
                sum = sum + src[s];
                count = count + 1u;
            }
        }
    }
    if (p[15] == 0u) {
        dst[i] = best;
    } else if (p[15] == 2u) {
        dst[i] = sum / f32(kh * kw);
    } else {
        dst[i] = sum / f32(max(count, 1u));
    }
}

// p[4..] = [channels, inner]; consts = scale [channels] then shift [channels].
@compute @workgroup_size(64)
fn channel_affine(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= p[0]) { return; }
    let channels = p[4];
    let per_record = channels * p[5];
    let row = i / per_record;
    let o = i % per_record;
    let c = o / p[5];
    let cb = consts_base(row);
    dst[i] = src[input_row(row) * per_record + o] * consts[cb + c] + consts[cb + channels + c];
}

// p[4..] = [kind, alpha bits, values per record]; kind 0 relu, 1 sigmoid, 2 tanh, 3 leaky relu.
@compute @workgroup_size(64)
fn activation(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(id, groups);
    if (i >= p[0]) { return; }
    let len = p[6];
    let v = src[input_row(i / len) * len + i % len];
    switch p[4] {
        case 0u: { dst[i] = max(v, 0.0); }
        case 1u: { dst[i] = 1.0 / (1.0 + exp(-v)); }
        case 2u: { dst[i] = tanh(v); }
        default: { dst[i] = select(bitcast<f32>(p[5]) * v, v, v >= 0.0); }
    }
}

// One invocation per row; p[0] = rows, p[4..] = [classes, log].
@compute @workgroup_size(64)
fn softmax(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let r = flat(id, groups);
    if (r >= p[0]) { return; }
    let classes = p[4];
    let base = input_row(r) * classes;
    let out = r * classes;
    var m = -3.40282346638528859812e38;
    for (var j = 0u; j < classes; j = j + 1u) { m = max(m, src[base + j]); }
    var sum = 0.0;
    for (var j = 0u; j < classes; j = j + 1u) { sum = sum + exp(src[base + j] - m); }
    for (var j = 0u; j < classes; j = j + 1u) {
        if (p[5] == 1u) {
            dst[out + j] = src[base + j] - m - log(sum);
        } else {
            dst[out + j] = exp(src[base + j] - m) / sum;
        }
    }
}

// Signal reduction, one invocation per row of logits: dst = [p_y, logit_scaled] per row;
// p[0] = rows (records × models), p[1] = records per model, p[4] = classes; consts = each
// record's label.
@compute @workgroup_size(64)
fn signals(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let r = flat(id, groups);
    if (r >= p[0]) { return; }
    let classes = p[4];
    let base = r * classes;
    let y = u32(consts[r % p[1]]);
    var m = -3.40282346638528859812e38;
    var m_other = -3.40282346638528859812e38;
    for (var j = 0u; j < classes; j = j + 1u) {
        m = max(m, src[base + j]);
        if (j != y) { m_other = max(m_other, src[base + j]); }
    }
    var sum = 0.0;
    var sum_other = 0.0;
    for (var j = 0u; j < classes; j = j + 1u) {
        sum = sum + exp(src[base + j] - m);
        if (j != y) { sum_other = sum_other + exp(src[base + j] - m_other); }
    }
    dst[2u * r] = exp(src[base + y] - m) / sum;
    dst[2u * r + 1u] = src[base + y] - (m_other + log(sum_other));
}

// ---- Tiled kernels: each invocation computes a 4 × 4 block of a product's outputs in four
// vec4 registers, so that every value it reads serves four products; the grid's z is the
// model. Each output starts from its bias and adds its products in k order, as the twins
// do. Operands are read from the storage buffers directly: the staged kernels below, which
// copy them through workgroup memory, ran 0.81× as fast on lavapipe (the Fashion-MNIST set),
// and this is the set software adapters run. After the kernel parameters come an activation
// applied to every output as it is written (kind as for `activation`, 4 for none) and its
// alpha bits.

// Accumulator `i` of an invocation's four.
fn pick(i: u32, a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>) -> vec4<f32> {
    switch i {
        case 0u: { return a0; }
        case 1u: { return a1; }
        case 2u: { return a2; }
        default: { return a3; }
    }
}

fn activate(v: f32, kind: u32, alpha_bits: u32) -> f32 {
    switch kind {
        case 0u: { return max(v, 0.0); }
        case 1u: { return 1.0 / (1.0 + exp(-v)); }
        case 2u: { return tanh(v); }
        case 3u: { return select(bitcast<f32>(alpha_bits) * v, v, v >= 0.0); }
        default: { return v; }
    }
}

// out[r, o] over a 64 × 64 tile of (records, outputs); workgroup 16 × 16, x along outputs.
// p[4..] = [inputs, outputs, activation kind, alpha bits].
@compute @workgroup_size(16, 16)
fn dense_tiled(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let inputs = p[4];
    let outputs = p[5];
    let n = p[1];
    let model = group.z;
    let cb = model * p[3];
    let my_row = group.y * 64u + local.y * 4u;
    let my_col = group.x * 64u + local.x * 4u;
    if (my_row >= n || my_col >= outputs) { return; }
    var bias = vec4<f32>(0.0);
    var cols = 0u;
    for (var j = 0u; j < 4u; j = j + 1u) {
        if (my_col + j < outputs) { bias[j] = consts[cb + inputs * outputs + my_col + j]; cols = j + 1u; }
    }
    var acc0 = bias;
    var acc1 = bias;
    var acc2 = bias;
    var acc3 = bias;
    let last = min(n - 1u, my_row + 3u);
    let r0 = input_row(model * n + my_row) * inputs;
    let r1 = input_row(model * n + min(my_row + 1u, last)) * inputs;
    let r2 = input_row(model * n + min(my_row + 2u, last)) * inputs;
    let r3 = input_row(model * n + min(my_row + 3u, last)) * inputs;
    let c1 = min(1u, cols - 1u);
    let c2 = min(2u, cols - 1u);
    let c3 = min(3u, cols - 1u);
    for (var k = 0u; k < inputs; k = k + 1u) {
        let w = cb + k * outputs + my_col;
        let b = vec4<f32>(consts[w], consts[w + c1], consts[w + c2], consts[w + c3]);
        acc0 = acc0 + src[r0 + k] * b;
        acc1 = acc1 + src[r1 + k] * b;
        acc2 = acc2 + src[r2 + k] * b;
        acc3 = acc3 + src[r3 + k] * b;
    }
    let kind = p[6];
    let alpha = p[7];
    for (var i = 0u; i < 4u; i = i + 1u) {
        let r = my_row + i;
        if (r >= n) { break; }
        let acc = pick(i, acc0, acc1, acc2, acc3);
        for (var j = 0u; j < cols; j = j + 1u) {
            dst[(model * n + r) * outputs + my_col + j] = activate(acc[j], kind, alpha);
        }
    }
}

// A convolution, 4 output channels × 4 output positions of one record per invocation: 4
// consecutive positions, or with a fused 2×2 max-pool (p[18] = 1) the 2×2 block one pooled
// value covers. The window offsets of the 4 positions are worked out once, then the loops run
// over (input channel, ky, kx) without a division. x: records × groups of positions
// (workgroups of 64), y: groups of 4 output channels, z: the model. p[4..] as for `conv2d`,
// then the activation kind, its alpha bits and the pooling flag.
@compute @workgroup_size(64)
fn conv2d_tiled(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let c_in = p[4];
    let in_h = i32(p[5]);
    let in_w = i32(p[6]);
    let kh = p[7];
    let kw = p[8];
    let out_w = p[14];
    let c_out = p[15];
    let n = p[1];
    let positions = p[13] * out_w;
    let pooled = p[18] == 1u;
    let blocks_w = out_w / 2u;
    var quads = (positions + 3u) / 4u;
    if (pooled) { quads = (p[13] / 2u) * blocks_w; }
    if (id.x >= n * quads) { return; }
    let model = group.z;
    let cb = model * p[3];
    let record = input_row(model * n + id.x / quads);
    let group_index = id.x % quads;
    let first = group_index * 4u;
    let co0 = group.y * 4u;
    let plane = in_h * in_w;
    let kernel_len = kh * kw;
    let patch_len = c_in * kernel_len;
    // Each position's top-left input row and column (padding makes them negative).
    var top = vec4<i32>(0);
    var left = vec4<i32>(0);
    for (var j = 0u; j < 4u; j = j + 1u) {
        var position = min(first + j, positions - 1u);
        if (pooled) {
            position = (2u * (group_index / blocks_w) + j / 2u) * out_w
                + 2u * (group_index % blocks_w) + j % 2u;
        }
        top[j] = i32((position / out_w) * p[9]) - i32(p[11]);
        left[j] = i32((position % out_w) * p[10]) - i32(p[12]);
    }
    var bias = vec4<f32>(0.0);
    var w0 = cb;
    var w1 = cb;
    var w2 = cb;
    var w3 = cb;
    for (var i = 0u; i < 4u; i = i + 1u) {
        let co = min(co0 + i, c_out - 1u);
        bias[i] = consts[cb + c_out * patch_len + co];
        if (i == 0u) { w0 = cb + co * patch_len; }
        if (i == 1u) { w1 = cb + co * patch_len; }
        if (i == 2u) { w2 = cb + co * patch_len; }
        if (i == 3u) { w3 = cb + co * patch_len; }
    }
    // acc_j holds position j's 4 channels.
    var acc0 = bias;
    var acc1 = bias;
    var acc2 = bias;
    var acc3 = bias;
    let base = i32(record * c_in) * plane;
    var k = 0u;
    for (var c = 0u; c < c_in; c = c + 1u) {
        let channel = base + i32(c) * plane;
        for (var ky = 0u; ky < kh; ky = ky + 1u) {
            let iy = top + vec4<i32>(i32(ky));
            let row_ok = (iy >= vec4<i32>(0)) & (iy < vec4<i32>(in_h));
            let row = vec4<i32>(channel) + iy * in_w;
            for (var kx = 0u; kx < kw; kx = kx + 1u) {
                let ix = left + vec4<i32>(i32(kx));
                let ok = row_ok & (ix >= vec4<i32>(0)) & (ix < vec4<i32>(in_w));
                let at = row + ix;
                var x = vec4<f32>(0.0);
                if (ok.x) { x.x = src[at.x]; }
                if (ok.y) { x.y = src[at.y]; }
                if (ok.z) { x.z = src[at.z]; }
                if (ok.w) { x.w = src[at.w]; }
                let w = vec4<f32>(consts[w0 + k], consts[w1 + k], consts[w2 + k], consts[w3 + k]);
                acc0 = acc0 + x.x * w;
                acc1 = acc1 + x.y * w;
                acc2 = acc2 + x.z * w;
                acc3 = acc3 + x.w * w;
                k = k + 1u;
            }
        }
    }
    let kind = p[16];
    let alpha = p[17];
    let out_base = (model * n + id.x / quads) * c_out;
    if (pooled) {
        for (var i = 0u; i < 4u; i = i + 1u) {
            let co = co0 + i;
            if (co < c_out) {
                let upper = max(activate(acc0[i], kind, alpha), activate(acc1[i], kind, alpha));
                let lower = max(activate(acc2[i], kind, alpha), activate(acc3[i], kind, alpha));
                dst[(out_base + co) * quads + group_index] = max(upper, lower);
            }
        }
        return;
    }
    for (var j = 0u; j < 4u; j = j + 1u) {
        let position = first + j;
        if (position >= positions) { break; }
        let acc = pick(j, acc0, acc1, acc2, acc3);
        for (var i = 0u; i < 4u; i = i + 1u) {
            let co = co0 + i;
            if (co < c_out) {
                dst[(out_base + co) * positions + position] = activate(acc[i], kind, alpha);
            }
        }
    }
}

// ---- Staged kernels: a workgroup of 64 invocations computes 64 rows × 32 columns of a
// product, taking k in slices of 16: the invocations copy the slice's operands into workgroup
// memory together (each value read from the storage buffers once per workgroup), wait, and
// each multiplies its 4 rows × 8 columns from there (4 × 8 accumulators in eight named vec4
// registers, one vec4 row read and two vec4 column reads per k). Rows are records for a dense
// layer and (record, 2×2 block or 4 consecutive positions) for a convolution, as in the tiled
// kernels; every output starts from its bias and adds its products in k order. Operands past
// the edges are staged as zeros. p[..] as for the tiled kernels.

const STAGE_K: u32 = 16u;
// [k][row group]: the slice's rows, 4 to a vec4 (one row group per invocation).
var<workgroup> staged_rows: array<vec4<f32>, 256>;
// [k][column group]: the slice's columns, 4 to a vec4.
var<workgroup> staged_columns: array<vec4<f32>, 128>;

struct Block {
    c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32>,
    c4: vec4<f32>, c5: vec4<f32>, c6: vec4<f32>, c7: vec4<f32>,
}

// Column j of a block (its 4 rows).
fn block_column(b: Block, j: u32) -> vec4<f32> {
    switch j {
        case 0u: { return b.c0; }
        case 1u: { return b.c1; }
        case 2u: { return b.c2; }
        case 3u: { return b.c3; }
        case 4u: { return b.c4; }
        case 5u: { return b.c5; }
        case 6u: { return b.c6; }
        default: { return b.c7; }
    }
}

// Adds the staged slice's products to the block of row group `rg`, column group `cg`.
fn multiply_staged(b: Block, rg: u32, cg: u32) -> Block {
    var o = b;
    for (var k = 0u; k < STAGE_K; k = k + 1u) {
        let a = staged_rows[k * 16u + rg];
        let lo = staged_columns[k * 8u + cg * 2u];
        let hi = staged_columns[k * 8u + cg * 2u + 1u];
        o.c0 = o.c0 + a * lo.x;
        o.c1 = o.c1 + a * lo.y;
        o.c2 = o.c2 + a * lo.z;
        o.c3 = o.c3 + a * lo.w;
        o.c4 = o.c4 + a * hi.x;
        o.c5 = o.c5 + a * hi.y;
        o.c6 = o.c6 + a * hi.z;
        o.c7 = o.c7 + a * hi.w;
    }
    return o;
}

// A block whose column j starts at bias[first + j] (0 past `count` columns).
fn block_from_bias(at: u32, first: u32, count: u32) -> Block {
    var v: array<f32, 8>;
    for (var j = 0u; j < 8u; j = j + 1u) {
        v[j] = select(0.0, consts[at + min(first + j, count - 1u)], first + j < count);
    }
    return Block(vec4<f32>(v[0]), vec4<f32>(v[1]), vec4<f32>(v[2]), vec4<f32>(v[3]),
        vec4<f32>(v[4]), vec4<f32>(v[5]), vec4<f32>(v[6]), vec4<f32>(v[7]));
}

// Stages columns [col0, col0 + 32) of the k slice [k0, k0 + 16) of a weight operand of
// `columns` columns and `depth` values of k, whose value (k, column) is at
// consts[at + column * column_stride + k * k_stride]; consecutive invocations read
// consecutive columns of one k. Past the edges it stages zeros.
fn stage_columns(
    l: u32, k0: u32, col0: u32, columns: u32, depth: u32,
    at: u32, column_stride: u32, k_stride: u32,
) {
    for (var t = 0u; t < 8u; t = t + 1u) {
        let e = l + 64u * t;
        let column = col0 + e % 32u;
        let k = k0 + e / 32u;
        var v = 0.0;
        if (column < columns && k < depth) { v = consts[at + column * column_stride + k * k_stride]; }
        staged_columns[(e / 32u) * 8u + (e % 32u) / 4u][e % 4u] = v;
    }
}

// x: groups of 64 records, y: groups of 32 outputs, z: the model.
@compute @workgroup_size(64)
fn dense_staged(
    @builtin(local_invocation_index) l: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let inputs = p[4];
    let outputs = p[5];
    let n = p[1];
    let model = group.z;
    let cb = model * p[3];
    let row0 = group.x * 64u;
    let col0 = group.y * 32u;
    let rg = l % 16u;
    let cg = l / 16u;
    var block = block_from_bias(cb + inputs * outputs, col0 + cg * 8u, outputs);
    for (var k0 = 0u; k0 < inputs; k0 = k0 + STAGE_K) {
        workgroupBarrier();
        // Rows: consecutive invocations read consecutive k of one record.
        for (var t = 0u; t < 16u; t = t + 1u) {
            let e = l + 64u * t;
            let r = row0 + e / 16u;
            let k = k0 + e % 16u;
            var v = 0.0;
            if (r < n && k < inputs) { v = src[input_row(model * n + r) * inputs + k]; }
            staged_rows[(e % 16u) * 16u + (e / 16u) / 4u][(e / 16u) % 4u] = v;
        }
        stage_columns(l, k0, col0, outputs, inputs, cb, 1u, outputs);
        workgroupBarrier();
        block = multiply_staged(block, rg, cg);
    }
    let kind = p[6];
    let alpha = p[7];
    for (var j = 0u; j < 8u; j = j + 1u) {
        let o = col0 + cg * 8u + j;
        if (o >= outputs) { break; }
        let column = block_column(block, j);
        for (var i = 0u; i < 4u; i = i + 1u) {
            let r = row0 + rg * 4u + i;
            if (r < n) { dst[(model * n + r) * outputs + o] = activate(column[i], kind, alpha); }
        }
    }
}

// x: groups of 16 blocks of 4 positions (over records × blocks), y: groups of 32 output
// channels, z: the model. With p[18] = 1 a block is the 2×2 window of a fused max-pool.
@compute @workgroup_size(64)
fn conv2d_staged(
    @builtin(local_invocation_index) l: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let c_in = p[4];
    let in_h = p[5];
    let in_w = p[6];
    let kh = p[7];
    let kw = p[8];
    let out_w = p[14];
    let c_out = p[15];
    let n = p[1];
    let positions = p[13] * out_w;
    let pooled = p[18] == 1u;
    let blocks_w = out_w / 2u;
    var quads = (positions + 3u) / 4u;
    if (pooled) { quads = (p[13] / 2u) * blocks_w; }
    let model = group.z;
    let cb = model * p[3];
    let kernel_len = kh * kw;
    let patch_len = c_in * kernel_len;
    let col0 = group.y * 32u;
    let rg = l % 16u;
    let cg = l / 16u;
    // The row this invocation stages: block `l / 4` of the workgroup's 16, position `l % 4`.
    let my_quad = group.x * 16u + l / 4u;
    let my_record = my_quad / quads;
    let quad = my_quad % quads;
    var position = quad * 4u + l % 4u;
    if (pooled) {
        position = (2u * (quad / blocks_w) + (l % 4u) / 2u) * out_w
            + 2u * (quad % blocks_w) + l % 2u;
    }
    let row_ok = my_record < n && position < positions;
    let top = i32((position / out_w) * p[9]) - i32(p[11]);
    let left = i32((position % out_w) * p[10]) - i32(p[12]);
    let base = input_row(model * n + min(my_record, n - 1u)) * c_in;
    var block = block_from_bias(cb + c_out * patch_len, col0 + cg * 8u, c_out);
    // k = (c, ky, kx) walked in order by counters: no division per staged value.
    var c = 0u;
    var ky = 0u;
    var kx = 0u;
    for (var k0 = 0u; k0 < patch_len; k0 = k0 + STAGE_K) {
        workgroupBarrier();
        for (var t = 0u; t < 16u; t = t + 1u) {
            let iy = top + i32(ky);
            let ix = left + i32(kx);
            var v = 0.0;
            if (row_ok && c < c_in && iy >= 0 && ix >= 0 && iy < i32(in_h) && ix < i32(in_w)) {
                v = src[((base + c) * in_h + u32(iy)) * in_w + u32(ix)];
            }
            staged_rows[t * 16u + l / 4u][l % 4u] = v;
            kx = kx + 1u;
            if (kx == kw) {
                kx = 0u;
                ky = ky + 1u;
                if (ky == kh) {
                    ky = 0u;
                    c = c + 1u;
                }
            }
        }
        stage_columns(l, k0, col0, c_out, patch_len, cb, patch_len, 1u);
        workgroupBarrier();
        block = multiply_staged(block, rg, cg);
    }
    let kind = p[16];
    let alpha = p[17];
    let out_quad = group.x * 16u + rg;
    let record = out_quad / quads;
    if (record >= n) { return; }
    let q = out_quad % quads;
    let out_base = (model * n + record) * c_out;
    for (var j = 0u; j < 8u; j = j + 1u) {
        let co = col0 + cg * 8u + j;
        if (co >= c_out) { break; }
        let column = block_column(block, j);
        if (pooled) {
            let upper = max(activate(column.x, kind, alpha), activate(column.y, kind, alpha));
            let lower = max(activate(column.z, kind, alpha), activate(column.w, kind, alpha));
            dst[(out_base + co) * quads + q] = max(upper, lower);
        } else {
            for (var i = 0u; i < 4u; i = i + 1u) {
                let position = q * 4u + i;
                if (position < positions) {
                    dst[(out_base + co) * positions + position] = activate(column[i], kind, alpha);
                }
            }
        }
    }
}
