// The transformer ops of TT-NN's multi-head attention tutorial.
#pragma once
#include <optional>
#include <tuple>

#include "attnn/tensor.hpp"

namespace attnn::transformer {

struct SplitHeadsOptions {
    std::optional<uint32_t> num_kv_heads;  // default: num_heads
    bool transpose_key = true;
    std::optional<MemoryConfig> memory_config;
    // Cross-attention: K and V come from this [b, s_kv, 2 * nkv * hd] tensor (its K heads, then
    // its V heads) and x holds only the Q heads, [b, s, nh * hd]. k and v then have s_kv tokens
    // and kv_input_tensor's dtype and layout.
    std::optional<Tensor> kv_input_tensor;
};

// x [b, s, (nh + 2*nkv) * hd] -> q [b, nh, s, hd], k [b, nkv, hd, s] (or [b, nkv, s, hd]
// with transpose_key=false), v [b, nkv, s, hd]. With kv_input_tensor, see above.
std::tuple<Tensor, Tensor, Tensor> split_query_key_value_and_split_heads(
    const Tensor& x, uint32_t num_heads, const SplitHeadsOptions& options = {});

struct AttentionSoftmaxOptions {
    std::optional<uint32_t> head_size;     // scale 1/sqrt(head_size); none: scale 1
    std::optional<Tensor> attention_mask;  // broadcastable to x, e.g. [b, 1, 1, s] or [b, 1, s, s]
    std::optional<MemoryConfig> memory_config;
};

// softmax(x * 1/sqrt(head_size) + attention_mask) over the last dim. x [b, h, sq, sk]. A row the
// mask hides entirely (every value -inf) gives zeros, as softmax does; a NaN gives a NaN row.
Tensor attention_softmax(const Tensor& x, const AttentionSoftmaxOptions& options = {});
// The same, written into x's storage; returns x.
Tensor attention_softmax_(Tensor& x, const AttentionSoftmaxOptions& options = {});

// x [b, nh, s, hd] -> [b, s, nh * hd]
Tensor concatenate_heads(const Tensor& x, std::optional<MemoryConfig> memory_config = {});

}  // namespace attnn::transformer
