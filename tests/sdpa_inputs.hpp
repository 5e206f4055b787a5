// Attention test tensors on the test device, drawn from TT-NN's SDPA test distribution
// (reference::ttnn_sdpa_inputs: N(0, 1) plus rare N(0, 10) outliers).
#pragma once
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

}  // namespace attnn::testing
