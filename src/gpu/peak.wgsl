// The adapter's multiply-add rate: each invocation runs `p[0]` rounds of eight independent
// vec4 fused multiply-adds in registers (no memory traffic in the loop), then writes one sum
// so that the work cannot be dropped.
@group(0) @binding(0) var<storage, read_write> sums: array<f32>;
@group(0) @binding(1) var<storage, read> p: array<u32>;

@compute @workgroup_size(64)
fn fma_rate(@builtin(global_invocation_id) id: vec3<u32>) {
    let rounds = p[0];
    let seed = f32(id.x) * 1e-9;
    var a0 = vec4<f32>(seed, seed + 0.1, seed + 0.2, seed + 0.3);
    var a1 = a0 + vec4<f32>(0.01);
    var a2 = a0 + vec4<f32>(0.02);
    var a3 = a0 + vec4<f32>(0.03);
    var a4 = a0 + vec4<f32>(0.04);
    var a5 = a0 + vec4<f32>(0.05);
    var a6 = a0 + vec4<f32>(0.06);
    var a7 = a0 + vec4<f32>(0.07);
    let b = vec4<f32>(0.9999);
    let c = vec4<f32>(1e-4);
    for (var i = 0u; i < rounds; i = i + 1u) {
        a0 = fma(a0, b, c);
        a1 = fma(a1, b, c);
        a2 = fma(a2, b, c);
        a3 = fma(a3, b, c);
        a4 = fma(a4, b, c);
        a5 = fma(a5, b, c);
        a6 = fma(a6, b, c);
        a7 = fma(a7, b, c);
    }
    let total = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    sums[id.x] = total.x + total.y + total.z + total.w;
}
