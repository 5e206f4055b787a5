#include <cmath>

#include "kernels/kernels.hpp"
#include "reference/llama.hpp"
#include "reference/reference.hpp"
#include "test_util.hpp"

namespace attnn {
namespace {

using nn::LlamaAttention;
using nn::LlamaAttentionConfig;
using nn::LlamaAttentionWeights;
using testing::test_device;

// Weights and inputs rounded to what the device stores, so the reference sees the same numbers.
std::vector<float> rounded(std::vector<float> v, DataType dtype) {
    if (dtype == DataType::BFLOAT16)
        for (float& x : v) x = bfloat16(x).to_float();
    return v;
}

Tensor input(const std::vector<float>& v, uint32_t rows, uint32_t dim, DataType dtype) {
    return from_host(std::span<const float>(v), Shape{1, 1, rows, dim},
                     {.dtype = dtype, .layout = Layout::TILE, .device = test_device()});
}

struct LayerCase {
    LlamaAttentionConfig config;
    double min_pcc;
    const char* name;
};

class LlamaAttentionLayer : public ::testing::TestWithParam<LayerCase> {};

// Two users' prompts, then decode steps, against the fp64 reference of the whole layer.
TEST_P(LlamaAttentionLayer, PrefillThenDecodeMatchesFp64) {
    const LayerCase& lc = GetParam();
    const LlamaAttentionConfig& c = lc.config;
    LlamaAttentionWeights w = LlamaAttentionWeights::random(c, 5);
    for (auto* part : {&w.wq, &w.wk, &w.wv, &w.wo}) *part = rounded(*part, c.weight_dtype);
    LlamaAttention layer(test_device(), c, w);
    reference::LlamaAttentionReference ref(c, w);
    Generator gen(9);
    const std::vector<uint32_t> prompt = {c.max_seq_len / 2 + 3, 31};
    std::vector<int32_t> positions;
    for (uint32_t user = 0; user < 2; ++user) {
        std::vector<float> x = rounded(gen.normal(std::size_t(prompt[user]) * c.dim), c.activation_dtype);
        auto got = to_host<double>(layer.prefill(input(x, prompt[user], c.dim, c.activation_dtype), user));
        auto want = ref.prefill(testing::to_double(x), user);
        EXPECT_GE(reference::pcc(want, got), lc.min_pcc) << "prefill of user " << user;
        positions.push_back(int32_t(prompt[user]));
    }
    for (int step = 0; step < 3; ++step) {
        std::vector<int32_t> pos = positions;
        if (step == 1) pos[1] = -1;  // user 1 sits this step out
        std::vector<float> x = rounded(gen.normal(std::size_t(2) * c.dim), c.activation_dtype);
        auto got = to_host<double>(layer.decode(input(x, 2, c.dim, c.activation_dtype), pos));
        auto want = ref.decode(testing::to_double(x), pos);
        EXPECT_GE(reference::pcc(want, got), lc.min_pcc) << "decode step " << step;
        if (step == 1) {
            for (uint32_t d = 0; d < c.dim; ++d) EXPECT_EQ(got[c.dim + d], 0.0) << "skipped user's row";
        }
        for (auto& p : positions) ++p;
        if (step == 1) --positions[1];
    }
}

LlamaAttentionConfig small(DataType weights, DataType activations, DataType cache, bool paged) {
    return {.dim = 256,
            .num_heads = 8,
            .num_kv_heads = 2,
            .head_dim = 32,
            .max_batch = 2,
            .max_seq_len = 128,
            .rope = {.theta = 10000.0},
            .weight_dtype = weights,
            .activation_dtype = activations,
            .cache_dtype = cache,
            .paged = paged,
            .block_size = 32};
}

INSTANTIATE_TEST_SUITE_P(
    CachesAndDtypes, LlamaAttentionLayer,
    ::testing::Values(LayerCase{small(DataType::FLOAT32, DataType::FLOAT32, DataType::FLOAT32, false),
                                0.99999, "fp32_contiguous"},
                      LayerCase{small(DataType::FLOAT32, DataType::FLOAT32, DataType::FLOAT32, true), 0.99999,
                                "fp32_paged"},
                      LayerCase{small(DataType::BFLOAT16, DataType::BFLOAT16, DataType::BFLOAT16, true),
                                0.999, "bf16_paged"},
                      LayerCase{small(DataType::BFLOAT16, DataType::BFLOAT16, DataType::BFLOAT8_B, false),
                                0.99, "bfp8_cache"},
                      LayerCase{[] {
                                    auto c = small(DataType::BFLOAT16, DataType::BFLOAT16,
                                                   DataType::BFLOAT8_B, true);
                                    c.decode_math_fidelity = MathFidelity::HiFi4;
                                    return c;
                                }(),
                                0.99, "bfp8_paged_hifi4"},
                      // Mistral-style local attention: prompts longer than the window, then decode
                      // steps whose windows start mid-band (contiguous) and mid-block (paged).
                      LayerCase{[] {
                                    auto c =
                                        small(DataType::FLOAT32, DataType::FLOAT32, DataType::FLOAT32, false);
                                    c.sliding_window = 20;
                                    return c;
                                }(),
                                0.99999, "fp32_window"},
                      LayerCase{[] {
                                    auto c = small(DataType::BFLOAT16, DataType::BFLOAT16,
                                                   DataType::BFLOAT8_B, true);
                                    c.sliding_window = 45;
                                    return c;
                                }(),
                                0.99, "bfp8_paged_window"},
                      // A Hugging Face checkpoint (rotate-half pairs) with Llama 3's frequency
                      // scaling, its original context short enough that the scaling moves
                      // these positions' angles.
                      LayerCase{[] {
                                    auto c =
                                        small(DataType::FLOAT32, DataType::FLOAT32, DataType::FLOAT32, true);
                                    c.rope = {.theta = 10000.0,
                                              .scaling = {.rope_type = RopeScalingType::llama3,
                                                          .factor = 4.0,
                                                          .original_max_position_embeddings = 64},
                                              .pairing = RopePairing::rotate_half};
                                    return c;
                                }(),
                                0.99999, "fp32_rotate_half_llama3_scaling"},
                      // Llama-3-8B's attention geometry: dim 4096, 32 query heads, 8 KV heads, head dim 128.
                      LayerCase{{.max_batch = 2, .max_seq_len = 64, .paged = true, .block_size = 32},
                                0.999,
                                "llama3_8b_paged"}),
    [](const auto& info) { return std::string(info.param.name); });

// A Hugging Face checkpoint is the Meta one with each head's q and k rows in the order
// (0, 2, 4, .., 1, 3, ..): the layer built from it with rotate_half gives the Meta layer's
// outputs bit for bit (it moves the rows back; nothing else differs).
TEST(LlamaAttentionLayer, RotateHalfCheckpointEqualsItsMetaLayout) {
    LlamaAttentionConfig meta = small(DataType::BFLOAT16, DataType::BFLOAT16, DataType::BFLOAT16, false);
    meta.head_dim = 48, meta.num_heads = 4, meta.num_kv_heads = 2;
    LlamaAttentionConfig hf = meta;
    hf.rope.pairing = RopePairing::rotate_half;
    const LlamaAttentionWeights w = LlamaAttentionWeights::random(meta, 3);
    LlamaAttentionWeights w_hf = w;
    const std::size_t dh = meta.head_dim, dim = meta.dim;
    for (auto [m, heads] : {std::pair{&w_hf.wq, meta.num_heads}, {&w_hf.wk, meta.num_kv_heads}}) {
        const std::vector<float> from = *m;
        for (std::size_t h = 0; h < heads; ++h)
            for (std::size_t r = 0; r < dh; ++r)  // Hugging Face row r holds Meta row 2r, or 2(r - dh/2) + 1
                std::copy_n(from.begin() +
                                std::ptrdiff_t((h * dh + (r < dh / 2 ? 2 * r : 2 * (r - dh / 2) + 1)) * dim),
                            dim, m->begin() + std::ptrdiff_t((h * dh + r) * dim));
    }
    ASSERT_NE(w_hf.wq, w.wq);
    LlamaAttention a(test_device(), meta, w), b(test_device(), hf, w_hf);
    Generator gen(4);
    std::vector<float> x = rounded(gen.normal(std::size_t(40) * meta.dim), DataType::BFLOAT16);
    Tensor tx = input(x, 40, meta.dim, DataType::BFLOAT16);
    EXPECT_EQ(to_host<float>(a.prefill(tx, 1)), to_host<float>(b.prefill(tx, 1)));
    std::vector<float> step = rounded(gen.normal(std::size_t(2) * meta.dim), DataType::BFLOAT16);
    Tensor ts = input(step, 2, meta.dim, DataType::BFLOAT16);
    EXPECT_EQ(to_host<float>(a.decode(ts, {-1, 40})), to_host<float>(b.decode(ts, {-1, 40})));
}

// decode_math_fidelity reaches the decode op: over a BFLOAT8_B cache, HiFi4 keeps every int8 q
// row's rounding residual, so the same layer on the same inputs lands closer to the fp64
// reference than at HiFi2. The cache's own rounding is common to both; the difference is q's.
TEST(LlamaAttentionLayer, HiFi4DecodeIsCloserThanHiFi2OverABlockFloatCache) {
    if (!kernels::has_int8_dot()) GTEST_SKIP() << "no int8 score path on this CPU: fidelity has no effect";
    LlamaAttentionConfig c = small(DataType::FLOAT32, DataType::FLOAT32, DataType::BFLOAT8_B, false);
    const LlamaAttentionWeights w = LlamaAttentionWeights::random(c, 5);
    reference::LlamaAttentionReference ref(c, w);
    LlamaAttentionConfig c4 = c;
    c4.decode_math_fidelity = MathFidelity::HiFi4;
    LlamaAttention hifi2(test_device(), c, w), hifi4(test_device(), c4, w);
    Generator gen(11);
    std::vector<int32_t> positions;
    for (uint32_t user = 0; user < 2; ++user) {
        const uint32_t s = 70 + 30 * user;
        std::vector<float> x = gen.normal(std::size_t(s) * c.dim);
        ref.prefill(testing::to_double(x), user);
        hifi2.prefill(input(x, s, c.dim, DataType::FLOAT32), user);
        hifi4.prefill(input(x, s, c.dim, DataType::FLOAT32), user);
        positions.push_back(int32_t(s));
    }
    double sq2 = 0, sq4 = 0, sq_diff = 0;
    for (int step = 0; step < 4; ++step) {
        std::vector<float> x = gen.normal(std::size_t(2) * c.dim);
        auto want = ref.decode(testing::to_double(x), positions);
        auto got2 = to_host<double>(hifi2.decode(input(x, 2, c.dim, DataType::FLOAT32), positions));
        auto got4 = to_host<double>(hifi4.decode(input(x, 2, c.dim, DataType::FLOAT32), positions));
        for (std::size_t i = 0; i < want.size(); ++i) {
            sq2 += (got2[i] - want[i]) * (got2[i] - want[i]);
            sq4 += (got4[i] - want[i]) * (got4[i] - want[i]);
            sq_diff += (got2[i] - got4[i]) * (got2[i] - got4[i]);
        }
        for (auto& p : positions) ++p;
    }
    EXPECT_GT(sq_diff, 0.0) << "HiFi2 and HiFi4 decoded the same: the fidelity never reached the op";
    EXPECT_LT(sq4, sq2) << "HiFi4's squared error " << sq4 << " against HiFi2's " << sq2;
}

TEST(LlamaAttentionLayer, BadInputsAreRejected) {
    LlamaAttentionConfig c = small(DataType::FLOAT32, DataType::FLOAT32, DataType::FLOAT32, false);
    LlamaAttention layer(test_device(), c, LlamaAttentionWeights::random(c, 1));
    std::vector<float> x(3 * 100, 0.1f);
    testing::expect_error([&] { layer.prefill(input(x, 3, 100, DataType::FLOAT32), 0); },
                          {"prefill", "x must be"});
    std::vector<float> ok(3 * 256, 0.1f);
    testing::expect_error([&] { layer.prefill(input(ok, 3, 256, DataType::FLOAT32), 2); },
                          {"user=2", "max_batch"});
    std::vector<float> two(2 * 256, 0.1f);
    testing::expect_error([&] { layer.decode(input(two, 2, 256, DataType::FLOAT32), {5}); },
                          {"positions has 1"});
    testing::expect_error(
        [&] {
            layer.decode(input(two, 2, 256, DataType::FLOAT32), {5, 128});
        },
        {"positions[1]=128"});
    // Positions as an INT32 tensor [b] (tt_transformers' current_pos) give the list's result.
    Tensor pos =
        from_host(std::span<const int32_t>(std::vector<int32_t>{5, -1}), Shape{2}, {.device = test_device()});
    EXPECT_EQ(to_host<float>(layer.decode(input(two, 2, 256, DataType::FLOAT32), pos)),
              to_host<float>(layer.decode(input(two, 2, 256, DataType::FLOAT32), {5, -1})));
    testing::expect_error(
        [&] {
            layer.decode(input(two, 2, 256, DataType::FLOAT32), reshape(pos, Shape{1, 2}));
        },
        {"LlamaAttention::decode", "positions must be 1-D"});
    for (auto [dtype, name] : {std::pair{&LlamaAttentionConfig::cache_dtype, "cache_dtype"},
                               {&LlamaAttentionConfig::weight_dtype, "weight_dtype"},
                               {&LlamaAttentionConfig::activation_dtype, "activation_dtype"}}) {
        LlamaAttentionConfig integer = c;
        integer.*dtype = DataType::INT32;
        testing::expect_error(
            [&] { LlamaAttention(test_device(), integer, LlamaAttentionWeights::random(integer, 1)); },
            {"LlamaAttention", name, "floating-point", "INT32"});
    }
    LlamaAttentionConfig bad = c;
    bad.num_kv_heads = 3;
    testing::expect_error([&] { LlamaAttention(test_device(), bad, LlamaAttentionWeights::random(bad, 1)); },
                          {"num_heads=8", "multiple"});
    LlamaAttentionConfig bad_fidelity = c;
    bad_fidelity.decode_math_fidelity = MathFidelity(1);
    testing::expect_error(
        [&] { LlamaAttention(test_device(), bad_fidelity, LlamaAttentionWeights::random(bad_fidelity, 1)); },
        {"LlamaAttention", "decode_math_fidelity", "given 1"});
}

}  // namespace
}  // namespace attnn
