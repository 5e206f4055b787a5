// Attention test tensors on the test device, drawn from TT-NN's SDPA test distribution
// (reference::ttnn_sdpa_inputs: N(0, 1) plus rare N(0, 10) outliers), and attention sinks.
#pragma once
#include <cmath>
#include <span>
#include <vector>

#include "reference/attention.hpp"
#include "test_util.hpp"

namespace attnn::testing {

inline Tensor sdpa_input(const std::vector<uint32_t>& dims, DataType dtype, uint32_t seed,
                         Layout layout = Layout::TILE) {
    Shape shape(dims);
    auto v = reference::ttnn_sdpa_inputs(shape.volume(), seed);
    return from_host(std::span<const float>(v), shape,
                     {.dtype = dtype, .layout = layout, .device = test_device()});
}

// Sink logits per head, as TT-NN takes them: in the units of the unscaled scores q . k, so the
// softmax sees them times the scale (1 / sqrt(dh) here). Their scaled values: none (-inf),
// small, comparable to the scores, and one (40) that takes nearly the whole weight, so the
// output shrinks towards zero.
inline std::vector<float> sink_values(uint32_t nqh, uint32_t dh) {
    const float cycle[] = {-INFINITY, -3.0f, 0.5f, 2.5f, 40.0f, -0.25f};
    std::vector<float> s(nqh);
    for (uint32_t h = 0; h < nqh; ++h) s[h] = cycle[h % 6] * std::sqrt(float(dh));
    return s;
}
inline Tensor sink_tensor(const std::vector<float>& s) {
    return from_host(std::span<const float>(s), Shape{1, uint32_t(s.size()), 1, 1},
                     {.dtype = DataType::FLOAT32, .device = test_device()});
}
// The logits the reference's softmax sees: the sinks times the scale.
inline std::vector<double> scaled(const std::vector<float>& s, uint32_t dh) {
    std::vector<double> out;
    for (float v : s) out.push_back(double(v) / std::sqrt(double(dh)));
    return out;
}

}  // namespace attnn::testing
