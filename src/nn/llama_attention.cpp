#include "attnn/nn/llama_attention.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "attnn/attnn.hpp"
#include "attnn/ops/experimental.hpp"
#include "ops/kv_cache/kv_layout.hpp"

namespace attnn::nn {

namespace {

void check_config(const LlamaAttentionConfig& c) {
    const char* op = "LlamaAttention";
    ATTNN_CHECK(c.dim > 0 && c.num_heads > 0 && c.num_kv_heads > 0 && c.head_dim > 0, op,
                "dim, num_heads, num_kv_heads and head_dim must be positive");
    ATTNN_CHECK(c.num_heads % c.num_kv_heads == 0, op, "num_heads=", c.num_heads,
                " must be a multiple of num_kv_heads=", c.num_kv_heads);
    ATTNN_CHECK(c.head_dim % 2 == 0, op, "head_dim=", c.head_dim, " must be even for RoPE");
    ATTNN_CHECK(c.max_batch > 0 && c.max_seq_len > 0, op, "max_batch and max_seq_len must be positive");
    for (auto [dtype, name] : {std::pair{c.weight_dtype, "weight_dtype"},
                               {c.activation_dtype, "activation_dtype"},
                               {c.cache_dtype, "cache_dtype"}})
        ATTNN_CHECK_TYPE(is_floating_point(dtype), op, name, " must be a floating-point type, given ",
                         to_string(dtype));
    // Checked here, not first by the decode op: decode writes this step's K and V into the cache
    // before the op runs, and a rejected step must leave the cache as it was.
    ATTNN_CHECK(is_valid(c.decode_math_fidelity), op,
                "decode_math_fidelity must be LoFi, HiFi2, HiFi3 or HiFi4, given ",
                int(c.decode_math_fidelity));
    if (c.paged)
        ATTNN_CHECK(c.block_size > 0 && c.max_seq_len % c.block_size == 0, op, "max_seq_len=", c.max_seq_len,
                    " must be a multiple of block_size=", c.block_size);
}

}  // namespace

LlamaAttentionWeights LlamaAttentionWeights::random(const LlamaAttentionConfig& c, uint64_t seed) {
    Generator gen(seed);
    const float in_scale = 1.0f / std::sqrt(float(c.dim)),
                out_scale = 1.0f / std::sqrt(float(c.num_heads * c.head_dim));
    LlamaAttentionWeights w;
    w.wq = gen.normal(std::size_t(c.num_heads) * c.head_dim * c.dim, 0.0f, in_scale);
    w.wk = gen.normal(std::size_t(c.num_kv_heads) * c.head_dim * c.dim, 0.0f, in_scale);
    w.wv = gen.normal(std::size_t(c.num_kv_heads) * c.head_dim * c.dim, 0.0f, in_scale);
    w.wo = gen.normal(std::size_t(c.dim) * c.num_heads * c.head_dim, 0.0f, out_scale);
    return w;
}

LlamaAttention::LlamaAttention(Device& device, const LlamaAttentionConfig& config,
                               const LlamaAttentionWeights& w)
    : device_(device), config_(config) {
    check_config(config);
    const auto& c = config_;
    const uint32_t q_rows = c.num_heads * c.head_dim, kv_rows = c.num_kv_heads * c.head_dim;
    const char* op = "LlamaAttention";
    ATTNN_CHECK(w.wq.size() == std::size_t(q_rows) * c.dim && w.wk.size() == std::size_t(kv_rows) * c.dim &&
                    w.wv.size() == std::size_t(kv_rows) * c.dim && w.wo.size() == std::size_t(c.dim) * q_rows,
                op, "weights must be wq [", q_rows, ", ", c.dim, "], wk and wv [", kv_rows, ", ", c.dim,
                "], wo [", c.dim, ", ", q_rows, "]");
    // The fused QKV weight: the Q rows, then K, then V, so each token's projection is
    // [q heads | k heads | v heads] as nlp_create_qkv_heads expects.
    // Hugging Face checkpoints (rotate_half) rotate the pairs (k, k + dh/2) of each head: their
    // q and k rows are moved to the interleaved order (2k, 2k + 1), as tt_transformers converts
    // them, so one RoPE serves both. q . k is unchanged, as both move alike.
    std::vector<float> fused;
    fused.reserve(w.wq.size() + w.wk.size() + w.wv.size());
    auto append = [&](const std::vector<float>& m, uint32_t heads, bool rotated) {
        if (!rotated || c.rope.pairing == RopePairing::interleaved) {
            fused.insert(fused.end(), m.begin(), m.end());
            return;
        }
        const std::size_t dh = c.head_dim, row = c.dim;
        for (std::size_t h = 0; h < heads; ++h)
            for (std::size_t r = 0; r < dh; ++r) {  // row r takes the head's row r / 2 (+ dh/2 if r is odd)
                auto from = m.begin() + std::ptrdiff_t((h * dh + (r % 2 ? dh / 2 : 0) + r / 2) * row);
                fused.insert(fused.end(), from, from + std::ptrdiff_t(row));
            }
    };
    append(w.wq, c.num_heads, true);
    append(w.wk, c.num_kv_heads, true);
    append(w.wv, c.num_kv_heads, false);
    // Stored [in, out], as TT-NN's preprocess_linear_weight lays a torch weight out: a decode
    // step's few rows then meet the weight band by band (the GEMV's accumulate form), and a
    // block-float weight shares its exponents along the output features, as on TT-NN.
    auto transposed = [](const std::vector<float>& m, std::size_t rows, std::size_t cols) {
        std::vector<float> t(m.size());
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t col = 0; col < cols; ++col) t[col * rows + r] = m[r * cols + col];
        return t;
    };
    const TensorOptions weights{.dtype = c.weight_dtype, .layout = Layout::TILE, .device = device};
    const uint32_t qkv_rows = q_rows + 2 * kv_rows;
    wqkv_ = from_host(std::span<const float>(transposed(fused, qkv_rows, c.dim)), Shape{c.dim, qkv_rows}, weights);
    wo_ = from_host(std::span<const float>(transposed(w.wo, c.dim, q_rows)), Shape{q_rows, c.dim}, weights);

    const TensorOptions cache{.dtype = c.cache_dtype, .layout = Layout::TILE, .device = device};
    if (c.paged) {
        const uint32_t per_user = c.max_seq_len / c.block_size, blocks = c.max_batch * per_user;
        k_cache_ = zeros(Shape{blocks, c.num_kv_heads, c.block_size, c.head_dim}, cache);
        v_cache_ = zeros(Shape{blocks, c.num_kv_heads, c.block_size, c.head_dim}, cache);
        // Blocks handed out in a scrambled order, as a block allocator would after some churn.
        std::vector<int32_t> table(blocks);
        std::iota(table.begin(), table.end(), 0);
        std::shuffle(table.begin(), table.end(), std::mt19937(1234));
        page_table_ =
            from_host(std::span<const int32_t>(table), Shape{c.max_batch, per_user}, {.device = device});
    } else {
        k_cache_ = zeros(Shape{c.max_batch, c.num_kv_heads, c.max_seq_len, c.head_dim}, cache);
        v_cache_ = zeros(Shape{c.max_batch, c.num_kv_heads, c.max_seq_len, c.head_dim}, cache);
    }
    trans_mat_ = experimental::get_rot_transformation_mat(device);
    RopeOptions rope = c.rope;
    rope.pairing = RopePairing::interleaved;
    rope_ = rope_tables(c.head_dim, c.max_seq_len, rope);
}

Tensor LlamaAttention::prefill(const Tensor& x, uint32_t user) {
    const auto& c = config_;
    const char* op = "LlamaAttention::prefill";
    ATTNN_CHECK(x.shape().rank() == 4 && x.shape()[0] == 1 && x.shape()[1] == 1 && x.shape()[3] == c.dim, op,
                "x must be [1, 1, s, ", c.dim, "], given x.shape=", x.shape());
    const uint32_t s = x.shape()[2];
    ATTNN_CHECK(s <= c.max_seq_len, op, "s=", s, " exceeds max_seq_len=", c.max_seq_len);
    ATTNN_CHECK(user < c.max_batch, op, "user=", user, " is out of range for max_batch=", c.max_batch);

    Tensor xqkv = linear(x, wqkv_, {.dtype = c.activation_dtype});
    auto [q, k, v] = experimental::nlp_create_qkv_heads(
        xqkv, c.num_heads, {.num_kv_heads = c.num_kv_heads, .transpose_k_heads = false});
    RopeTensors rot = rope_prefill_tensors(rope_, 0, s, device_);
    q = experimental::rotary_embedding_llama(q, rot.cos, rot.sin, trans_mat_);
    k = experimental::rotary_embedding_llama(k, rot.cos, rot.sin, trans_mat_);
    if (page_table_) {
        experimental::paged_fill_cache(k_cache_, k, *page_table_, user);
        experimental::paged_fill_cache(v_cache_, v, *page_table_, user);
    } else {
        fill_cache(k_cache_, k, user);
        fill_cache(v_cache_, v, user);
    }
    Tensor attn = transformer::scaled_dot_product_attention(
        q, k, v, {.is_causal = true, .sliding_window_size = c.sliding_window});
    return linear(experimental::nlp_concat_heads(attn), wo_, {.dtype = c.activation_dtype});
}

Tensor LlamaAttention::decode(const Tensor& x, const std::vector<int32_t>& positions) {
    const auto& c = config_;
    const char* op = "LlamaAttention::decode";
    ATTNN_CHECK(x.shape().rank() == 4 && x.shape()[0] == 1 && x.shape()[1] == 1 && x.shape()[3] == c.dim, op,
                "x must be [1, 1, b, ", c.dim, "], given x.shape=", x.shape());
    const uint32_t b = x.shape()[2];
    ATTNN_CHECK(b <= c.max_batch, op, "b=", b, " exceeds max_batch=", c.max_batch);
    ATTNN_CHECK(positions.size() == b, op, "positions has ", positions.size(), " entries for b=", b,
                " users");
    std::vector<uint32_t> rope_positions(b);
    for (uint32_t i = 0; i < b; ++i) {
        ATTNN_CHECK(positions[i] >= -1 && positions[i] < int32_t(c.max_seq_len), op, "positions[", i,
                    "]=", positions[i], " must be in [-1, ", c.max_seq_len, ")");
        rope_positions[i] = uint32_t(std::max(positions[i], 0));  // a skipped user's row is never read
    }

    Tensor xqkv = linear(x, wqkv_, {.dtype = c.activation_dtype});
    auto [q, k, v] =
        experimental::nlp_create_qkv_heads_decode(xqkv, c.num_heads, {.num_kv_heads = c.num_kv_heads});
    RopeTensors rot = rope_decode_tensors(rope_, rope_positions, device_);
    q = experimental::rotary_embedding_llama(q, rot.cos, rot.sin, trans_mat_, {.is_decode_mode = true});
    k = experimental::rotary_embedding_llama(k, rot.cos, rot.sin, trans_mat_, {.is_decode_mode = true});
    experimental::paged_update_cache(k_cache_, k, {.update_idxs = positions, .page_table = page_table_});
    experimental::paged_update_cache(v_cache_, v, {.update_idxs = positions, .page_table = page_table_});
    const transformer::SDPADecodeOptions options{
        .cur_pos = positions,
        .sliding_window_size = c.sliding_window,
        .compute_kernel_config = WormholeComputeKernelConfig{.math_fidelity = c.decode_math_fidelity}};
    Tensor attn = page_table_
                      ? transformer::paged_scaled_dot_product_attention_decode(q, k_cache_, v_cache_,
                                                                               *page_table_, options)
                      : transformer::scaled_dot_product_attention_decode(q, k_cache_, v_cache_, options);
    Tensor concat = experimental::nlp_concat_heads_decode(attn, c.num_heads);
    return linear(concat, wo_, {.dtype = c.activation_dtype});
}

Tensor LlamaAttention::decode(const Tensor& x, const Tensor& positions) {
    return decode(
        x, detail::read_index_vector(positions, "LlamaAttention::decode", "positions", device_.impl().get()));
}

}  // namespace attnn::nn
