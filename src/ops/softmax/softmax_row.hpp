// The numerically stable softmax of one contiguous fp32 vector, shared by softmax and
// attention_softmax.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/kernels.hpp"

namespace attnn::detail {

// x[i] = exp(x[i] - max) / sum_j exp(x[j] - max). Subtracting the max keeps exp from
// overflowing. A vector of only -inf (a fully masked row) gives zeros, where the formula would
// give 0/0. NaN anywhere makes the whole vector NaN; row_max may skip a NaN, but then
// exp(NaN - max) poisons the sum, and the all -inf case checks for NaN itself.
inline void softmax_in_place(const kernels::KernelTable& k, float* x, int64_t n) {
    const float max = k.row_max(x, n);
    if (max == -std::numeric_limits<float>::infinity()) {
        const bool has_nan = std::any_of(x, x + n, [](float v) { return std::isnan(v); });
        std::fill(x, x + n, has_nan ? std::numeric_limits<float>::quiet_NaN() : 0.0f);
        return;
    }
    const float sum = k.exp_sub_sum(x, n, max);
    k.scale(x, n, 1.0f / sum);
}

}  // namespace attnn::detail
