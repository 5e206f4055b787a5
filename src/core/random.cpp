// PyTorch's CPU random numbers, draw for draw. Sources (pytorch/pytorch):
//   aten/src/ATen/CPUGeneratorImpl.cpp        random() = one mt19937 draw; random64() = (draw1 << 32) | draw2
//   aten/src/ATen/core/TransformationHelper.h uniform_real: (bits & (2^digits - 1)) * 2^-digits * (to - from)
//   + from aten/src/ATen/core/DistributionsHelper.h  normal_distribution<double>: Box-Muller, one value
//   cached aten/src/ATen/native/cpu/DistributionTemplates.h normal_fill / normal_fill_16 (float, >= 16
//   values) torch/nn/init.py kaiming_uniform_, torch/nn/modules/linear.py reset_parameters
#include "attnn/random.hpp"

#include <cmath>
#include <numbers>

namespace attnn {

namespace {

// float has 24 significand bits, double 53: uniform_real keeps that many low bits of a draw.
constexpr uint32_t float_mask = (1u << 24) - 1;
constexpr float float_step = 1.0f / float(1u << 24);
constexpr uint64_t double_mask = (uint64_t(1) << 53) - 1;
constexpr double double_step = 1.0 / double(uint64_t(1) << 53);

// torch fills float tensors with Box-Muller 16 values at a time: pairs (j, j + 8).
constexpr std::size_t box_muller_block = 16;

// normal_fill_16 for float: u1 = 1 - u maps [0, 1) to (0, 1] so the log is finite. theta is
// computed in double (2.0f * pi<double> * u2) and rounded to float, as torch's expression does.
void normal_fill_16(float* data, float mean, float std) {
    for (std::size_t j = 0; j < box_muller_block / 2; ++j) {
        const float u1 = 1.0f - data[j];
        const float u2 = data[j + 8];
        const float radius = std::sqrt(-2.0f * std::log(u1));
        const float theta = float(2.0f * std::numbers::pi * double(u2));
        data[j] = radius * std::cos(theta) * std + mean;
        data[j + 8] = radius * std::sin(theta) * std + mean;
    }
}

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
    std::vector<float> out(n);
    const float range = to - from;
    for (auto& v : out) {
        // Two roundings, product then sum, as torch computes x * (to - from) + from in float
        // (core sources build without FMA, so the compiler cannot fuse them).
        const float x = float(random() & float_mask) * float_step;
        const float scaled = x * range;
        v = scaled + from;
    }
    return out;
}

std::vector<float> Generator::normal(std::size_t n, float mean, float std) {
    std::vector<float> out(n);
    if (n >= box_muller_block) {
        // normal_fill: all uniforms first, then Box-Muller in place over whole blocks. A ragged
        // tail redraws 16 fresh uniforms into the last 16 slots (overlapping the last block)
        // and transforms them again.
        for (auto& v : out) v = float(random() & float_mask) * float_step;
        for (std::size_t i = 0; i + box_muller_block <= n; i += box_muller_block)
            normal_fill_16(out.data() + i, mean, std);
        if (n % box_muller_block != 0) {
            float* tail = out.data() + n - box_muller_block;
            for (std::size_t i = 0; i < box_muller_block; ++i)
                tail[i] = float(random() & float_mask) * float_step;
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
        v = float(z * double(std) + double(mean));
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
    const double std = gain / std::sqrt(double(in_features));
    const double bound = std::sqrt(3.0) * std;
    return gen.uniform(std::size_t(in_features) * out_features, float(-bound), float(bound));
}

}  // namespace attnn
