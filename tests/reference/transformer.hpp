// fp64 references for the transformer ops of TT-NN's multi-head attention tutorial.
#pragma once
#include <optional>
#include <tuple>

#include "reference/reference.hpp"

namespace attnn::reference {

// x [b, s, (nh + 2 * nkv) * hd] -> q [b, nh, s, hd], k [b, nkv, hd, s] (or [b, nkv, s, hd]), v [b, nkv, s, hd]
std::tuple<Array, Array, Array> split_query_key_value_and_split_heads(const Array& x, uint32_t num_heads,
                                                                      uint32_t num_kv_heads, bool transpose_key);
// softmax over the last dim of x * 1/sqrt(head_size) + mask (mask broadcast to x)
Array attention_softmax(const Array& x, std::optional<uint32_t> head_size, const Array* mask);
// x [b, nh, s, hd] -> [b, s, nh * hd]
Array concatenate_heads(const Array& x);

}  // namespace attnn::reference
