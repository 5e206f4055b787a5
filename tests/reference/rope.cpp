#include "reference/rope.hpp"

#include <algorithm>

namespace attnn::reference {

Array rotary_embedding_llama(const Array& x, const Array& cos, const Array& sin, const Array& trans,
                             bool is_decode_mode) {
    const uint32_t d0 = x.shape[0], d1 = x.shape[1], d2 = x.shape[2], dh = x.shape[3];
    constexpr uint32_t block = 32;
    Array out{x.shape, std::vector<double>(x.values.size())};
    for (uint32_t i = 0; i < d0; ++i)
        for (uint32_t j = 0; j < d1; ++j)
            for (uint32_t k = 0; k < d2; ++k) {
                // prefill: (batch i, head j, token k); decode: (1, user j, head k)
                const uint64_t cos_row = is_decode_mode
                                             ? uint64_t(j) * cos.shape[2] + (cos.shape[2] == 1 ? 0 : k)
                                             : (cos.shape[1] == 1 ? 0 : uint64_t(j)) * cos.shape[2] + k;
                const double* xr = &x.values[((uint64_t(i) * d1 + j) * d2 + k) * dh];
                double* o = &out.values[((uint64_t(i) * d1 + j) * d2 + k) * dh];
                for (uint32_t b0 = 0; b0 < dh; b0 += block) {
                    const uint32_t width = std::min(block, dh - b0);
                    for (uint32_t c = 0; c < width; ++c) {
                        double rotated = 0;
                        for (uint32_t r = 0; r < width; ++r)
                            rotated += xr[b0 + r] * trans.values[r * block + c];
                        const uint32_t d = b0 + c;
                        o[d] = xr[d] * cos.values[cos_row * dh + d] + rotated * sin.values[cos_row * dh + d];
                    }
                }
            }
    return out;
}

Array rotary_embedding(const Array& x, const Array& cos, const Array& sin,
                       std::optional<uint32_t> token_index) {
    const uint32_t dh = x.shape.back(), s = x.shape[x.shape.size() - 2], half = dh / 2;
    Array out{x.shape, std::vector<double>(x.values.size())};
    for (uint64_t row = 0; row < x.values.size() / dh; ++row) {
        const uint64_t position = token_index ? *token_index : row % s;
        for (uint32_t d = 0; d < dh; ++d) {
            const double rotated = d < half ? -x.values[row * dh + d + half] : x.values[row * dh + d - half];
            out.values[row * dh + d] = x.values[row * dh + d] * cos.values[position * dh + d] +
                                       rotated * sin.values[position * dh + d];
        }
    }
    return out;
}

}  // namespace attnn::reference
