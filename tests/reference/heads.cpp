#include "reference/heads.hpp"

namespace attnn::reference {

std::tuple<Array, Array, Array> nlp_create_qkv_heads(const Array& x, uint32_t num_heads,
                                                     uint32_t num_kv_heads, bool transpose_k_heads) {
    const uint32_t b = x.shape[0], s = x.shape[2], width = x.shape[3];
    const uint32_t dh = width / (num_heads + 2 * num_kv_heads);
    auto heads = [&](uint32_t count, uint32_t first_col, bool transposed) {
        Array out;
        out.shape =
            transposed ? std::vector<uint32_t>{b, count, dh, s} : std::vector<uint32_t>{b, count, s, dh};
        out.values.resize(out.volume());
        for (uint32_t bi = 0; bi < b; ++bi)
            for (uint32_t h = 0; h < count; ++h)
                for (uint32_t t = 0; t < s; ++t)
                    for (uint32_t d = 0; d < dh; ++d) {
                        const uint64_t dst = transposed ? ((uint64_t(bi) * count + h) * dh + d) * s + t
                                                        : ((uint64_t(bi) * count + h) * s + t) * dh + d;
                        out.values[dst] = x.values[(uint64_t(bi) * s + t) * width + first_col + h * dh + d];
                    }
        return out;
    };
    return {heads(num_heads, 0, false), heads(num_kv_heads, num_heads * dh, transpose_k_heads),
            heads(num_kv_heads, (num_heads + num_kv_heads) * dh, false)};
}

std::tuple<Array, Array, Array> nlp_create_qkv_heads_decode(const Array& x, uint32_t num_heads,
                                                            uint32_t num_kv_heads) {
    const uint32_t users = x.shape[2], width = x.shape[3];
    const uint32_t dh = width / (num_heads + 2 * num_kv_heads);
    auto heads = [&](uint32_t count, uint32_t first_col) {
        Array out{{1, users, count, dh}, {}};
        out.values.resize(out.volume());
        for (uint32_t u = 0; u < users; ++u)
            for (uint32_t h = 0; h < count; ++h)
                for (uint32_t d = 0; d < dh; ++d)
                    out.values[(uint64_t(u) * count + h) * dh + d] =
                        x.values[uint64_t(u) * width + first_col + h * dh + d];
        return out;
    };
    return {heads(num_heads, 0), heads(num_kv_heads, num_heads * dh),
            heads(num_kv_heads, (num_heads + num_kv_heads) * dh)};
}

Array nlp_concat_heads(const Array& x) {
    const uint32_t b = x.shape[0], nh = x.shape[1], s = x.shape[2], dh = x.shape[3];
    Array out{{b, 1, s, nh * dh}, {}};
    out.values.resize(out.volume());
    for (uint32_t bi = 0; bi < b; ++bi)
        for (uint32_t h = 0; h < nh; ++h)
            for (uint32_t t = 0; t < s; ++t)
                for (uint32_t d = 0; d < dh; ++d)
                    out.values[(uint64_t(bi) * s + t) * nh * dh + h * dh + d] =
                        x.values[((uint64_t(bi) * nh + h) * s + t) * dh + d];
    return out;
}

Array nlp_concat_heads_decode(const Array& x, uint32_t num_heads) {
    const uint32_t users = x.shape[1], padded = x.shape[2], dh = x.shape[3];
    Array out{{1, 1, users, num_heads * dh}, {}};
    out.values.resize(out.volume());
    for (uint32_t u = 0; u < users; ++u)
        for (uint32_t h = 0; h < num_heads; ++h)
            for (uint32_t d = 0; d < dh; ++d)
                out.values[uint64_t(u) * num_heads * dh + h * dh + d] =
                    x.values[(uint64_t(u) * padded + h) * dh + d];
    return out;
}

}  // namespace attnn::reference
