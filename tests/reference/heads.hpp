// fp64 references for TT-NN's experimental head ops (nlp_create_qkv_heads and friends).
#pragma once
#include <tuple>

#include "reference/reference.hpp"

namespace attnn::reference {

// x [B, 1, S, (nh + 2*nkv) * dh] -> q [B, nh, S, dh], k [B, nkv, S, dh] (or [B, nkv, dh, S]), v [B, nkv, S,
// dh]
std::tuple<Array, Array, Array> nlp_create_qkv_heads(const Array& x, uint32_t num_heads,
                                                     uint32_t num_kv_heads, bool transpose_k_heads);
// x [1, 1, B, (nh + 2*nkv) * dh] -> q [1, B, nh, dh], k [1, B, nkv, dh], v [1, B, nkv, dh]
std::tuple<Array, Array, Array> nlp_create_qkv_heads_decode(const Array& x, uint32_t num_heads,
                                                            uint32_t num_kv_heads);
// x [B, nh, S, dh] -> [B, 1, S, nh * dh]
Array nlp_concat_heads(const Array& x);
// x [1, B, nh_padded, dh] -> [1, 1, B, num_heads * dh]
Array nlp_concat_heads_decode(const Array& x, uint32_t num_heads);

}  // namespace attnn::reference
