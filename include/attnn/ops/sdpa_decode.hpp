// Flash decode: attention of one new query per user over a KV cache, contiguous or paged.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "attnn/ops/sdpa.hpp"

namespace attnn::transformer {

struct SDPADecodeOptions {
    bool is_causal = true;                 // keys 0..cur_pos[i] of user i; no mask
    std::optional<Tensor> attn_mask;       // non-causal: [1, b, nqh, s] added to the scaled scores
    std::vector<int32_t> cur_pos;          // causal: last valid position per user; -1 skips the user
                                           // (non-causal: none, neither this nor cur_pos_tensor)
    std::optional<Tensor> cur_pos_tensor;  // the same as an INT32 tensor [b] (values that change under trace)
    std::optional<float> scale;            // default 1/sqrt(dh)
    // Causal only: user i sees keys cur_pos[i] - w + 1 .. cur_pos[i], and only those are read.
    std::optional<uint32_t> sliding_window_size;
    std::optional<Tensor> attention_sink;  // [nqh, 32] or [1, nqh, 1, 1]: a value-less logit per head, as in SDPAOptions
    std::optional<SDPAProgramConfig> program_config;  // k_chunk_size, max_cores_per_head_batch
    // math_fidelity: the precision of q on int8 scores over a BFLOAT8_B K cache (see
    // WormholeComputeKernelConfig); none takes TT-NN's default for this op, HiFi2.
    std::optional<WormholeComputeKernelConfig> compute_kernel_config;
    std::optional<MemoryConfig> memory_config;
};

// q [1, b, nqh, dh], k/v [b, nkv, s, dh] -> [1, b, nqh, dh]. The query heads sharing a KV head
// are scored together so each K/V byte is read once; when users x KV heads leave workers idle,
// each user's sequence is split over up to max_cores_per_head_batch workers and the partial
// (max, sum, output) triples are merged exactly. A skipped user (cur_pos -1) gets zeros.
Tensor scaled_dot_product_attention_decode(const Tensor& q, const Tensor& k, const Tensor& v,
                                           const SDPADecodeOptions& options = {});

// The same over a paged cache: k/v [max_blocks, nkv, block_size, dh], page_table INT32
// [b, blocks_per_user] mapping user i's block j to a cache block.
Tensor paged_scaled_dot_product_attention_decode(const Tensor& q, const Tensor& k, const Tensor& v,
                                                 const Tensor& page_table,
                                                 const SDPADecodeOptions& options = {});

}  // namespace attnn::transformer
