#include "reference/transformer.hpp"

#include <cmath>

#include "reference/eltwise.hpp"
#include "reference/softmax.hpp"

namespace attnn::reference {

std::tuple<Array, Array, Array> split_query_key_value_and_split_heads(const Array& x, uint32_t num_heads,
                                                                      uint32_t num_kv_heads, bool transpose_key) {
    const uint32_t b = x.shape[0], s = x.shape[1], width = x.shape[2];
    const uint32_t hd = width / (num_heads + 2 * num_kv_heads);
    auto heads = [&](uint32_t count, uint32_t first_col, bool transposed) {
        Array out;
        out.shape = transposed ? std::vector<uint32_t>{b, count, hd, s} : std::vector<uint32_t>{b, count, s, hd};
        out.values.resize(out.volume());
        for (uint32_t bi = 0; bi < b; ++bi)
            for (uint32_t h = 0; h < count; ++h)
                for (uint32_t t = 0; t < s; ++t)
                    for (uint32_t d = 0; d < hd; ++d) {
                        uint64_t dst = transposed ? ((uint64_t(bi) * count + h) * hd + d) * s + t
                                                  : ((uint64_t(bi) * count + h) * s + t) * hd + d;
                        out.values[dst] = x.values[(uint64_t(bi) * s + t) * width + first_col + h * hd + d];
                    }
        return out;
    };
    return {heads(num_heads, 0, false), heads(num_kv_heads, num_heads * hd, transpose_key),
            heads(num_kv_heads, (num_heads + num_kv_heads) * hd, false)};
}

Array attention_softmax(const Array& x, std::optional<uint32_t> head_size, const Array* mask) {
    Array scores = x;
    const double scale = head_size ? 1.0 / std::sqrt(double(*head_size)) : 1.0;
    for (uint64_t i = 0; i < scores.values.size(); ++i) {
        scores.values[i] *= scale;
        if (mask) scores.values[i] += broadcast_at(*mask, unravel(i, x.shape));
    }
    return softmax(scores, -1);
}

Array concatenate_heads(const Array& x) {
    const uint32_t b = x.shape[0], nh = x.shape[1], s = x.shape[2], hd = x.shape[3];
    Array out;
    out.shape = {b, s, nh * hd};
    out.values.resize(out.volume());
    for (uint32_t bi = 0; bi < b; ++bi)
        for (uint32_t h = 0; h < nh; ++h)
            for (uint32_t t = 0; t < s; ++t)
                for (uint32_t d = 0; d < hd; ++d)
                    out.values[(uint64_t(bi) * s + t) * nh * hd + h * hd + d] =
                        x.values[((uint64_t(bi) * nh + h) * s + t) * hd + d];
    return out;
}

}  // namespace attnn::reference
