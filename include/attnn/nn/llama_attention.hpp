// The attention layer of a Llama-family LLM, built from attnn's TT-NN ops as tt-metal's
// models/tt_transformers attention is (seed 004, "LLMs in TT-NN", section 2.4):
//   prefill: linear (fused QKV) -> nlp_create_qkv_heads -> rotary_embedding_llama ->
//            fill_cache / paged_fill_cache -> scaled_dot_product_attention (causal) ->
//            nlp_concat_heads -> linear (output)
//   decode:  linear -> nlp_create_qkv_heads_decode -> rotary_embedding_llama (decode mode) ->
//            paged_update_cache -> [paged_]scaled_dot_product_attention_decode ->
//            nlp_concat_heads_decode -> linear
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "attnn/rope.hpp"
#include "attnn/tensor.hpp"

namespace attnn::nn {

struct LlamaAttentionConfig {
    uint32_t dim = 4096;  // Llama-3-8B's attention geometry by default
    uint32_t num_heads = 32;
    uint32_t num_kv_heads = 8;
    uint32_t head_dim = 128;
    uint32_t max_batch = 1;                  // users the KV cache holds
    uint32_t max_seq_len = 2048;             // positions per user
    // rope.pairing says how the checkpoint's wq and wk rows pair for RoPE: interleaved (2k, 2k + 1),
    // Meta's layout, or rotate_half (k, k + dh/2), Hugging Face's, whose rows the layer moves to
    // the interleaved order when it is built (as tt_transformers converts them): its k_cache
    // then holds keys in that order. rope.scaling applies Llama 3's frequency scaling.
    RopeOptions rope = {.theta = 500000.0};
    DataType weight_dtype = DataType::BFLOAT16;
    DataType activation_dtype = DataType::BFLOAT16;
    // Any floating-point dtype (FLOAT32, BFLOAT16, BFLOAT8_B, BFLOAT4_B), checked when the layer is built.
    DataType cache_dtype = DataType::BFLOAT16;
    bool paged = false;  // a paged cache [blocks, nkv, block_size, dh] with a page table
    uint32_t block_size = 64;
    // Local attention as Mistral 7B's layers have it: each token sees its last sliding_window
    // positions (itself included); 0: every earlier position.
    uint32_t sliding_window = 0;
    // Decode over a BFLOAT8_B cache: the int8 scores' query precision (see MathFidelity): HiFi2,
    // flash decode's default, or HiFi4, as exact as fp32 products at 7-17% more attention time.
    MathFidelity decode_math_fidelity = MathFidelity::HiFi2;
};

// Projection weights as torch's nn.Linear holds them, [out_features, in_features], row-major.
struct LlamaAttentionWeights {
    std::vector<float> wq;  // [num_heads * head_dim, dim]
    std::vector<float> wk;  // [num_kv_heads * head_dim, dim]
    std::vector<float> wv;  // [num_kv_heads * head_dim, dim]
    std::vector<float> wo;  // [dim, num_heads * head_dim]
    // Random weights N(0, 1/dim) (wo: N(0, 1/(heads * head_dim))) from a fixed seed.
    static LlamaAttentionWeights random(const LlamaAttentionConfig& config, uint64_t seed);
};

class LlamaAttention {
  public:
    LlamaAttention(Device& device, const LlamaAttentionConfig& config, const LlamaAttentionWeights& weights);

    // x [1, 1, s, dim] -> [1, 1, s, dim]: user `user`'s prompt at positions 0..s-1; its keys and
    // values go into the cache.
    Tensor prefill(const Tensor& x, uint32_t user);
    // x [1, 1, b, dim] -> [1, 1, b, dim]: one new token per user i at positions[i] (-1 skips the
    // user, whose output row is zeros), attending to the cache up to that position.
    Tensor decode(const Tensor& x, const std::vector<int32_t>& positions);
    // The same with the positions as an INT32 / UINT32 tensor [b] (on the layer's device or the
    // host), as tt_transformers keeps current_pos.
    Tensor decode(const Tensor& x, const Tensor& positions);

    const LlamaAttentionConfig& config() const { return config_; }
    const Tensor& k_cache() const { return k_cache_; }
    const Tensor& v_cache() const { return v_cache_; }
    // INT32 [max_batch, max_seq_len / block_size]; empty for a contiguous cache.
    const std::optional<Tensor>& page_table() const { return page_table_; }

  private:
    Device device_;
    LlamaAttentionConfig config_;
    Tensor wqkv_, wo_;  // [dim, (nh + 2 nkv) dh] and [nh dh, dim]: [in, out], as TT-NN keeps them
    Tensor k_cache_, v_cache_;
    std::optional<Tensor> page_table_;
    Tensor trans_mat_;
    RopeTables rope_;
};

}  // namespace attnn::nn
