// PyTorch's CPU random numbers, draw for draw. Sources (pytorch/pytorch, checked against torch
// 2.15 on an AVX-512 CPU):
//   aten/src/ATen/CPUGeneratorImpl.cpp        random() = one mt19937 draw; random64() = (draw1 << 32) | draw2
//   aten/src/ATen/core/TransformationHelper.h uniform_real: (bits & (2^digits - 1)) * 2^-digits * (to - from)
//   + from aten/src/ATen/core/DistributionsHelper.h  normal_distribution<double>: Box-Muller, one value
//   cached aten/src/ATen/native/cpu/DistributionTemplates.h uniform_kernel, normal_fill, NormalFill16
//   aten/src/ATen/native/cpu/avx_mathfun.h    log256_ps, sincos256_ps (Cephes polynomials)
//   torch/nn/init.py kaiming_uniform_, torch/nn/modules/linear.py reset_parameters
//
// torch compiles these kernels once per CPU capability and runs the widest the CPU has. Its AVX2
// and AVX-512 builds (every x86 CPU since 2013) are compiled with FMA contraction and take the
// avx_mathfun Box-Muller; attnn reproduces those, operation for operation, with explicit
// std::fma where GCC fuses a multiply into the add that consumes it. torch's DEFAULT build
// (ATEN_CPU_CAPABILITY=default) rounds twice and uses libm, so it can differ in the last bit.
#include "attnn/random.hpp"

#include <cmath>
#include <cstring>
#include <numbers>

#include "attnn/error.hpp"

namespace attnn {

namespace {

// float has 24 significand bits, double 53: uniform_real keeps that many low bits of a draw.
constexpr uint32_t float_mask = (1u << 24) - 1;
constexpr float float_step = 1.0f / float(1u << 24);
constexpr uint64_t double_mask = (uint64_t(1) << 53) - 1;
constexpr double double_step = 1.0 / double(uint64_t(1) << 53);

// torch fills float tensors with Box-Muller 16 values at a time: pairs (j, j + 8).
constexpr std::size_t box_muller_block = 16;

float bits_to_float(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
uint32_t float_to_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

// log256_ps for one lane: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(x) = e ln2 + log(m)
// with log(1 + t) by Cephes' degree-9 polynomial and ln2 split in two (q2 + q1) for accuracy.
// x <= 0 gives NaN; denormals are flushed to the smallest normal first.
float cephes_log(float x) {
    const bool invalid = x <= 0.0f;
    const float min_normal = bits_to_float(0x00800000u);
    x = x > min_normal ? x : min_normal;
    const int32_t biased_exponent = int32_t(float_to_bits(x) >> 23);
    x = bits_to_float((float_to_bits(x) & ~0x7f800000u) | float_to_bits(0.5f));  // m / 2 in [0.5, 1)
    float e = float(biased_exponent - 0x7f) + 1.0f;
    const bool below_sqrt_half = x < 0.707106781186547524f;
    const float tmp = below_sqrt_half ? x : 0.0f;
    x = x - 1.0f;
    e = e - (below_sqrt_half ? 1.0f : 0.0f);
    x = x + tmp;
    const float z = x * x;
    float y = 7.0376836292E-2f;
    for (float coefficient : {-1.1514610310E-1f, 1.1676998740E-1f, -1.2420140846E-1f, 1.4249322787E-1f,
                              -1.6668057665E-1f, 2.0000714765E-1f, -2.4999993993E-1f, 3.3333331174E-1f})
        y = std::fma(y, x, coefficient);
    y = y * x;
    y = std::fma(y, z, e * -2.12194440e-4f);
    y = std::fma(-z, 0.5f, y);
    x = x + y;
    return invalid ? NAN : std::fma(e, 0.693359375f, x);
}

// sincos256_ps for one lane: reduce |x| by multiples of pi/4 (pi/4 split in three parts), then
// a Cephes polynomial for sin or cos on [-pi/4, pi/4], chosen and signed by the octant.
void cephes_sincos(float x, float& sin_out, float& cos_out) {
    uint32_t sign_sin = float_to_bits(x) & 0x80000000u;
    x = bits_to_float(float_to_bits(x) & 0x7fffffffu);
    int32_t octant = int32_t(x * 1.27323954473516f);  // 4 / pi, truncated
    octant = (octant + 1) & ~1;
    const float y = float(octant);
    const uint32_t swap_sign_sin = uint32_t(octant & 4) << 29;
    const bool sin_poly_for_sin = (octant & 2) == 0;
    x = std::fma(y, -0.78515625f, x);
    x = std::fma(y, -2.4187564849853515625e-4f, x);
    x = std::fma(y, -3.77489497744594108e-8f, x);
    const uint32_t sign_cos = uint32_t(~(octant - 2) & 4) << 29;
    sign_sin ^= swap_sign_sin;

    const float z = x * x;
    float cos_poly = std::fma(2.443315711809948E-005f, z, -1.388731625493765E-003f);
    cos_poly = std::fma(cos_poly, z, 4.166664568298827E-002f);
    cos_poly = cos_poly * z;
    cos_poly = std::fma(cos_poly, z, -(z * 0.5f));
    cos_poly = cos_poly + 1.0f;
    float sin_poly = std::fma(-1.9515295891E-4f, z, 8.3321608736E-3f);
    sin_poly = std::fma(sin_poly, z, -1.6666654611E-1f);
    sin_poly = sin_poly * z;
    sin_poly = std::fma(sin_poly, x, x);

    const float s = sin_poly_for_sin ? sin_poly : cos_poly;
    const float c = sin_poly_for_sin ? cos_poly : sin_poly;
    sin_out = bits_to_float(float_to_bits(s) ^ sign_sin);
    cos_out = bits_to_float(float_to_bits(c) ^ sign_cos);
}

// NormalFill16 (AVX2): u1 = 1 - u maps [0, 1) to (0, 1] so the log is finite.
void normal_fill_16(float* data, float mean, float std) {
    const float two_pi = float(2.0f * std::numbers::pi);
    for (std::size_t j = 0; j < box_muller_block / 2; ++j) {
        const float u1 = 1.0f - data[j];
        const float u2 = data[j + 8];
        const float radius = std::sqrt(-2.0f * cephes_log(u1));
        float sin_theta, cos_theta;
        cephes_sincos(two_pi * u2, sin_theta, cos_theta);
        data[j] = std::fma(radius * cos_theta, std, mean);
        data[j + 8] = std::fma(radius * sin_theta, std, mean);
    }
}

float uniform_01(Generator& gen) { return float(gen.random() & float_mask) * float_step; }

}  // namespace

void Generator::manual_seed(uint64_t seed) {
    // at::mt19937 keeps the low 32 bits of the seed and initialises like std::mt19937.
    engine_.seed(uint32_t(seed & 0xffffffffu));
    has_next_normal_ = false;
    next_normal_ = 0.0;
}

uint32_t Generator::random() { return uint32_t(engine_()); }

uint64_t Generator::random64() {
    const uint64_t hi = random();
    const uint64_t lo = random();
    return (hi << 32) | lo;
}

std::vector<float> Generator::uniform(std::size_t n, float from, float to) {
    // As torch's uniform_: a half-open [from, to) whose width is a finite float.
    ATTNN_CHECK(from <= to && std::isfinite(to - from), "Generator::uniform",
                "expects a range [from, to) with from <= to and a finite width, given from=", from,
                ", to=", to);
    std::vector<float> out(n);
    const float range = to - from;
    for (auto& v : out) {
        // x * (to - from) + from, fused as torch's AVX2/AVX-512 builds compile it. A result that
        // rounds up to `to` becomes `from`, as torch's uniform_kernel keeps [from, to) half-open.
        const float value = std::fma(uniform_01(*this), range, from);
        v = value == to ? from : value;
    }
    return out;
}

std::vector<float> Generator::normal(std::size_t n, float mean, float std) {
    ATTNN_CHECK(std >= 0.0f && std::isfinite(std) && std::isfinite(mean), "Generator::normal",
                "expects a finite mean and std >= 0, given mean=", mean, ", std=", std);
    std::vector<float> out(n);
    if (n >= box_muller_block) {
        // normal_fill: all uniforms first, then Box-Muller in place over whole blocks. A ragged
        // tail redraws 16 fresh uniforms into the last 16 slots (overlapping the last block)
        // and transforms them again.
        for (auto& v : out) v = uniform_01(*this);
        for (std::size_t i = 0; i + box_muller_block <= n; i += box_muller_block)
            normal_fill_16(out.data() + i, mean, std);
        if (n % box_muller_block != 0) {
            float* tail = out.data() + n - box_muller_block;
            for (std::size_t i = 0; i < box_muller_block; ++i) tail[i] = uniform_01(*this);
            normal_fill_16(tail, mean, std);
        }
        return out;
    }
    // Fewer than 16 values: one at a time through normal_distribution<double>, which makes two
    // values per pair of draws and keeps the second for the next call.
    for (auto& v : out) {
        double z;
        if (has_next_normal_) {
            z = next_normal_;
            has_next_normal_ = false;
        } else {
            const double u1 = double(random64() & double_mask) * double_step;
            const double u2 = double(random64() & double_mask) * double_step;
            const double r = std::sqrt(-2.0 * std::log1p(-u2));
            const double theta = 2.0 * std::numbers::pi * u1;
            next_normal_ = r * std::sin(theta);
            has_next_normal_ = true;
            z = r * std::cos(theta);
        }
        // transformation::normal in double; torch rounds the product and the sum separately here.
        // torch passes mean and std as doubles, this API as floats: they agree when both are
        // floats (0 and 1 for randn).
        const double scaled = z * double(std);
        v = float(scaled + double(mean));
    }
    return out;
}

Generator& default_generator() {
    static Generator generator;
    return generator;
}

std::vector<float> linear_weight_init(Generator& gen, uint32_t in_features, uint32_t out_features) {
    // kaiming_uniform_(w, a=sqrt(5)): gain = sqrt(2 / (1 + a^2)), std = gain / sqrt(fan_in),
    // bound = sqrt(3) * std, all in double (Python floats); uniform_ casts the bounds to float.
    // The result is about 1/sqrt(in_features).
    const double a = std::sqrt(5.0);
    const double gain = std::sqrt(2.0 / (1.0 + a * a));
    const double stddev = gain / std::sqrt(double(in_features));
    const double bound = std::sqrt(3.0) * stddev;
    return gen.uniform(std::size_t(in_features) * out_features, float(-bound), float(bound));
}

}  // namespace attnn
