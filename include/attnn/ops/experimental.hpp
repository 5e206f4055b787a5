// TT-NN's experimental transformer ops that LLM layers run between the linears and attention:
// cutting the fused QKV projection into heads, joining heads again, and rotary position
// embeddings (RoPE). Names and argument names follow ttnn.experimental; the shapes are TT-NN's
// 4-D ones ([B, 1, S, ...] for prefill, [1, B, heads, dh] for decode, one token per user).
//
// Every op takes FLOAT32 or BFLOAT16 in either layout and BFLOAT8_B/BFLOAT4_B in TILE, computes
// in fp32 and returns tensors in x's dtype and layout. Unlike TT-NN, no dim has to be a multiple
// of 32 and no sharding is required.
#pragma once
#include <cstdint>
#include <optional>
#include <tuple>

#include "attnn/device.hpp"
#include "attnn/tensor.hpp"

namespace attnn::experimental {

struct NlpCreateQkvHeadsOptions {
    // K and V from a separate tensor [B, 1, S, 2*nkv * dh] (all K heads, then all V heads); x
    // then holds only the Q heads, [B, 1, S, nh * dh]. k and v then have input_kv's dtype and
    // layout (TT-NN refuses a dtype other than x's).
    std::optional<Tensor> input_kv;
    std::optional<uint32_t> num_kv_heads;       // default: num_heads
    bool transpose_k_heads = true;              // TT-NN's default: K comes out [B, nkv, dh, S]
    std::optional<MemoryConfig> memory_config;  // default: x's
};

// x [B, 1, S, (nh + 2*nkv) * dh] -> q [B, nh, S, dh], k [B, nkv, dh, S] (or [B, nkv, S, dh] with
// transpose_k_heads = false), v [B, nkv, S, dh]. Each token's fused row holds all Q heads, then
// all K heads, then all V heads. With input_kv: x [B, 1, S, nh * dh], input_kv [B, 1, S, 2*nkv * dh].
std::tuple<Tensor, Tensor, Tensor> nlp_create_qkv_heads(const Tensor& x, uint32_t num_heads,
                                                        const NlpCreateQkvHeadsOptions& options = {});

struct NlpCreateQkvHeadsDecodeOptions {
    std::optional<uint32_t> num_kv_heads;       // default: num_heads
    std::optional<MemoryConfig> memory_config;  // default: x's
};

// x [1, 1, B, (nh + 2*nkv) * dh] (one token per user) -> q [1, B, nh, dh], k [1, B, nkv, dh],
// v [1, B, nkv, dh]: the layout scaled_dot_product_attention_decode and update_cache take.
std::tuple<Tensor, Tensor, Tensor> nlp_create_qkv_heads_decode(
    const Tensor& x, uint32_t num_heads, const NlpCreateQkvHeadsDecodeOptions& options = {});

// x [B, nh, S, dh] -> [B, 1, S, nh * dh]
Tensor nlp_concat_heads(const Tensor& x, std::optional<MemoryConfig> memory_config = {});

// x [1, B, nh_padded, dh] -> [1, 1, B, num_heads * dh]: the first num_heads heads of each user
// (TT-NN pads decode heads to a tile height; the padding heads are dropped here).
Tensor nlp_concat_heads_decode(const Tensor& x, uint32_t num_heads,
                               std::optional<MemoryConfig> memory_config = {});

// The [1, 1, 32, 32] matrix that rotates interleaved pairs: trans[2k][2k+1] = 1 and
// trans[2k+1][2k] = -1, so (x @ trans)[2k] = -x[2k+1] and (x @ trans)[2k+1] = x[2k]
// (tt-metal models/tt_transformers/tt/common.py, get_rot_transformation_mat). BFLOAT16 TILE, as
// TT-NN's models build it; rotary_embedding_llama takes it in any format.
Tensor get_rot_transformation_mat(Device& device);

struct RotaryEmbeddingLlamaOptions {
    bool is_decode_mode = false;
    std::optional<MemoryConfig> memory_config;  // default: x's
};

// out = x * cos + (x @ trans_mat) * sin, trans_mat [1, 1, 32, 32] applied to each 32-wide block of
// the head dim; unlike TT-NN, dh need only be even (a narrower last block, dh = 80: 32, 32, 16,
// takes the matrix's top-left corner).
//   prefill:     x [b, nh, s, dh], cos/sin [1, 1 | nh, s, dh]
//   decode mode: x [1, b, nh, dh], cos/sin [1, b, 1 | nh, dh] (one position per user, the same
//                for every head unless given per head; TT-NN's models pass [1, b, 1, dh] padded
//                to a tile, tt-metal models/tt_transformers/tt/rope.py)
// Any trans_mat is honoured; get_rot_transformation_mat gives the interleaved-pair rotation.
Tensor rotary_embedding_llama(const Tensor& x, const Tensor& cos, const Tensor& sin, const Tensor& trans_mat,
                              const RotaryEmbeddingLlamaOptions& options = {});

struct RotaryEmbeddingOptions {
    std::optional<uint32_t> token_index;        // decode: every row of x takes this position
    std::optional<MemoryConfig> memory_config;  // default: x's
};

// TT-NN's older RoPE with the rotate-half pairing (k, k + dh/2) of Hugging Face Llama
// checkpoints: out = x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x[dh/2:], x[:dh/2]).
// x [..., s, dh] with cos_cache/sin_cache [1, 1, max_seq, dh]: row t of x takes position t
// (s <= max_seq), or position token_index for every row (decode, x [1, 1, B, dh] in TT-NN).
Tensor rotary_embedding(const Tensor& x, const Tensor& cos_cache, const Tensor& sin_cache,
                        const RotaryEmbeddingOptions& options = {});

}  // namespace attnn::experimental
