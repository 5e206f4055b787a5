// What flash attention and flash decode share beyond plain softmax attention: TT-NN's causal
// sliding window (sliding_window_size) and per-head attention sinks (attention_sink), and the
// workers a program config allows.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "attnn/error.hpp"
#include "attnn/ops/sdpa.hpp"
#include "ops/common.hpp"

namespace attnn::detail {

// The device's workers, or fewer where compute_with_storage_grid_size asks (a grid of no cores
// is an error, as matmul's core_grid).
inline int attention_workers(std::string_view op, const transformer::SDPAProgramConfig& config, int workers) {
    if (!config.compute_with_storage_grid_size) return workers;
    const CoreGrid& grid = *config.compute_with_storage_grid_size;
    const uint64_t cores = uint64_t(grid.y) * grid.x;  // no uint32 wrap
    ATTNN_CHECK(cores >= 1, op, "program_config.compute_with_storage_grid_size must have at least one core, given y=",
                grid.y, " x=", grid.x);
    return int(std::min<uint64_t>(cores, uint64_t(workers)));
}

// The window in keys, 0 for none (TT-NN: None or 0). Only causal attention takes one: a mask
// would hold the window itself.
inline int64_t sliding_window(std::string_view op, std::optional<uint32_t> window, bool causal) {
    if (!window || *window == 0) return 0;
    ATTNN_CHECK(causal, op, "sliding_window_size=", *window,
                " needs is_causal=true (a non-causal call takes attn_mask, which can hold the window)");
    return int64_t(*window);
}

// The sink logit of each of the nqh query heads in the units of the scaled scores, or nothing.
// As in TT-NN's kernels, a sink is given in the units of the unscaled scores q . k and meets
// the same scale (gpt-oss's TT-NN model divides its sinks by the scale for that reason). The
// tensor, on q's device, is [1, nqh, 1, 1] (TT-NN's SDPA) or [nqh, w] with the sink in column 0
// (TT-NN's decode: [nqh, 32], a tile wide; nqh may be padded to a multiple of 32). -inf is no
// sink and +inf one that takes every row's whole weight (zeros out), whatever the scale (0
// included: inf x 0 would be NaN).
inline std::vector<float> attention_sinks(std::string_view op, const std::optional<Tensor>& sink, const Tensor& q,
                                          int64_t nqh, float scale) {
    if (!sink) return {};
    require_device(op, {{&q, "q"}, {&*sink, "attention_sink"}});
    const Shape& s = sink->shape();
    const bool sdpa_shape = s == Shape({1, uint32_t(nqh), 1, 1});
    const bool decode_shape = s.rank() == 2 && (s[0] == nqh || s[0] == (nqh + 31) / 32 * 32) && s[1] >= 1;
    ATTNN_CHECK(sdpa_shape || decode_shape, op, "attention_sink must be [1, ", nqh, ", 1, 1] or [", nqh,
                ", w] (one logit per query head, in column 0), given ", s);
    check_floating_point(op, "attention_sink", sink->dtype());
    const std::vector<float> all = to_host<float>(*sink);
    const int64_t stride = decode_shape ? s[1] : 1;
    std::vector<float> values(static_cast<std::size_t>(nqh));
    for (int64_t h = 0; h < nqh; ++h) {
        const float v = all[std::size_t(h * stride)];
        ATTNN_CHECK(!std::isnan(v), op, "attention_sink: the sink of head ", h, " is NaN");
        values[std::size_t(h)] = std::isinf(v) ? v : v * scale;
    }
    return values;
}

// What a finished row (O, over keys with running max m and sum l) is multiplied by: 1 / l, or
// with its head's sink 1 / (l + e^(sink - m)) (the sink joins the softmax, its value 0); 0
// where no key counted (every key masked, a skipped user), as the row's O is then 0 too.
inline float row_normaliser(float l, float m, const float* sink) {
    if (!sink) return l > 0 ? 1.0f / l : 0.0f;
    if (m == -INFINITY) return 0.0f;
    return float(1.0 / (double(l) + std::exp(double(*sink) - double(m))));
}

}  // namespace attnn::detail
