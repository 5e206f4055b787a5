// Flash attention for prefill (scaled_dot_product_attention) with TT-NN's names and shapes.
#pragma once
#include <optional>

#include "attnn/tensor.hpp"

namespace attnn::transformer {

struct SDPAProgramConfig {
    std::optional<CoreGrid> compute_with_storage_grid_size;  // at most y*x workers
    uint32_t q_chunk_size = 0;  // query rows per chunk; 0: chosen from the shapes
    uint32_t k_chunk_size = 0;  // keys per chunk; 0: chosen from the shapes
    // A cheaper exp (degree-3 polynomial, relative error < 2e-4 per weight) in the softmax.
    bool exp_approx_mode = false;
    uint32_t max_cores_per_head_batch = 16;  // decode: workers that may split one user's KV sequence
};

struct SDPAOptions {
    std::optional<Tensor> attn_mask;  // [b | 1, nqh | 1, sq, sk], added to the scaled scores
    bool is_causal = true;       // excludes attn_mask; with sq < sk the queries are the last sq positions
    std::optional<float> scale;  // default 1/sqrt(dh)
    // Causal only: the query at position i sees keys i - w + 1 .. i (Mistral's and Gemma's local
    // layers); K chunks wholly outside every window of a Q chunk are skipped. None or 0: no window.
    std::optional<uint32_t> sliding_window_size;
    // [1, nqh, 1, 1] (or TT-NN decode's [nqh, 32], the sink in column 0): one logit per query
    // head that joins every row's softmax and carries no value (gpt-oss's sinks). As in TT-NN's
    // kernels it is in the units of the unscaled scores q . k and meets the same scale: with
    // scaled scores s_j, out = sum_j e^(s_j) v_j / (sum_j e^(s_j) + e^(scale * sink)).
    std::optional<Tensor> attention_sink;
    std::optional<SDPAProgramConfig> program_config;
    std::optional<MemoryConfig> memory_config;
};

// q [b, nqh, sq, dh], k/v [b, nkv, sk, dh] -> [b, nqh, sq, dh]; nqh a multiple of nkv (GQA/MQA).
// FlashAttention-2: Q chunks over the workers, an online softmax over K/V chunks, no sq x sk
// buffer. Any sequence length and head dim; FLOAT32, BFLOAT16, BFLOAT8_B or BFLOAT4_B inputs,
// decoded a chunk at a time; fp32 accumulation. A query row whose keys are all masked gives zeros.
// TT-NN's sliding_window_size and attention_sink are taken, as in SDPAOptions.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const SDPAOptions& options = {});

struct ChunkedSDPAOptions {
    std::optional<float> scale;
    std::optional<uint32_t> sliding_window_size;  // as in SDPAOptions, over absolute positions
    std::optional<Tensor> attention_sink;         // as in SDPAOptions
    std::optional<SDPAProgramConfig> program_config;
    std::optional<MemoryConfig> memory_config;
};

// Causal prefill of one chunk of each user's sequence against a paged cache that already holds
// the chunk's own keys: queries are positions chunk_start_idx .. chunk_start_idx + chunk - 1
// and see keys 0 .. their own position. q [b, nqh, chunk, dh], k/v [max_blocks, nkv,
// block_size, dh], page_table INT32 [b, blocks_per_user] -> [b, nqh, chunk, dh].
Tensor chunked_scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                            const Tensor& page_table, uint32_t chunk_start_idx,
                                            const ChunkedSDPAOptions& options = {});

}  // namespace attnn::transformer
