#include <cmath>
#include <limits>

#include "attnn/ops/transformer.hpp"
#include "core/buffer.hpp"
#include "ops/op_test_util.hpp"
#include "reference/transformer.hpp"

namespace attnn {
namespace {

using testing::all_formats;
using testing::device_tensor;
using testing::expect_error;
using testing::expect_exact;
using testing::expect_matches;
using testing::Format;
using testing::random_tensor;
using testing::random_values;
using testing::test_device;

constexpr float inf = std::numeric_limits<float>::infinity();
constexpr double softmax_rel = 2e-5, softmax_abs = 1e-9;

struct SplitCase {
    uint32_t batch, tokens, num_heads, num_kv_heads, head_size;
    bool transpose_key;
};

// Single values, GQA, head sizes below, at and above a face row, token counts off the tile grid.
const std::vector<SplitCase> split_cases = {
    {1, 1, 1, 1, 1, true},   {2, 33, 4, 2, 24, true},   {1, 31, 2, 2, 32, false},
    {2, 64, 3, 1, 64, true}, {1, 2011, 1, 1, 16, true}, {2, 40, 6, 3, 8, false},
};

using SplitParam = std::tuple<kernels::Isa, Format, SplitCase>;
class SplitHeadsMatchesReference : public ::testing::TestWithParam<SplitParam> {};

TEST_P(SplitHeadsMatchesReference, CutsFusedQkvIntoHeads) {
    auto [isa, format, c] = GetParam();
    testing::ScopedIsa scoped(isa);
    const uint32_t width = (c.num_heads + 2 * c.num_kv_heads) * c.head_size;
    Tensor x = random_tensor({c.batch, c.tokens, width}, format, 51);
    auto [q, k, v] = transformer::split_query_key_value_and_split_heads(
        x, c.num_heads, {.num_kv_heads = c.num_kv_heads, .transpose_key = c.transpose_key});
    auto [rq, rk, rv] = reference::split_query_key_value_and_split_heads(
        reference::from_tensor(x), c.num_heads, c.num_kv_heads, c.transpose_key);
    for (const Tensor* t : {&q, &k, &v}) {
        EXPECT_EQ(t->dtype(), x.dtype());
        EXPECT_EQ(t->layout(), x.layout());
    }
    expect_exact(q, rq);
    expect_exact(k, rk);
    expect_exact(v, rv);
}

INSTANTIATE_TEST_SUITE_P(AllIsasFormats, SplitHeadsMatchesReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::ValuesIn(all_formats()),
                                            ::testing::ValuesIn(split_cases)),
                         testing::IsaFormatName());

// Large enough that every worker runs several tasks with its own scratch.
TEST(SplitHeads, LargeTensorsSplitAcrossWorkers) {
    Tensor x = random_tensor({2, 130, 8 * 40}, {DataType::BFLOAT8_B, Layout::TILE}, 75);
    auto [q, k, v] = transformer::split_query_key_value_and_split_heads(x, 4, {.num_kv_heads = 2});
    auto [rq, rk, rv] =
        reference::split_query_key_value_and_split_heads(reference::from_tensor(x), 4, 2, true);
    expect_exact(q, rq);
    expect_exact(k, rk);
    expect_exact(v, rv);
    expect_exact(transformer::concatenate_heads(q), reference::concatenate_heads(reference::from_tensor(q)));
}

// [b, s, w1] and [b, s, w2] -> [b, s, w1 + w2].
reference::Array concat_last(const reference::Array& a, const reference::Array& b) {
    reference::Array out{{a.shape[0], a.shape[1], a.shape[2] + b.shape[2]}, {}};
    for (uint32_t r = 0; r < a.shape[0] * a.shape[1]; ++r) {
        out.values.insert(out.values.end(), a.values.begin() + r * a.shape[2], a.values.begin() + (r + 1) * a.shape[2]);
        out.values.insert(out.values.end(), b.values.begin() + r * b.shape[2], b.values.begin() + (r + 1) * b.shape[2]);
    }
    return out;
}

TEST(SplitHeads, CrossAttentionTakesKAndVFromKvInput) {
    // x holds the Q heads of 5 tokens, kv_input_tensor the K and V heads of 33 others.
    const uint32_t b = 2, s = 5, s_kv = 33, nh = 4, nkv = 2, hd = 8;
    for (Format f : {Format{DataType::FLOAT32, Layout::ROW_MAJOR}, Format{DataType::BFLOAT16, Layout::TILE},
                     Format{DataType::BFLOAT8_B, Layout::TILE}})
        for (bool transpose_key : {true, false}) {
            Tensor x = random_tensor({b, s, nh * hd}, f, 61), kv = random_tensor({b, s_kv, 2 * nkv * hd}, f, 62);
            auto [q, k, v] = transformer::split_query_key_value_and_split_heads(
                x, nh, {.num_kv_heads = nkv, .transpose_key = transpose_key, .kv_input_tensor = kv});
            // The reference cuts fused rows: x beside zeros for Q, zeros beside kv for K and V.
            const auto rx = reference::from_tensor(x), rkv = reference::from_tensor(kv);
            const reference::Array no_kv{{b, s, 2 * nkv * hd}, std::vector<double>(b * s * 2 * nkv * hd, 0.0)};
            const reference::Array no_q{{b, s_kv, nh * hd}, std::vector<double>(b * s_kv * nh * hd, 0.0)};
            auto rq = std::get<0>(reference::split_query_key_value_and_split_heads(concat_last(rx, no_kv), nh, nkv,
                                                                                   transpose_key));
            auto [unused, rk, rv] = reference::split_query_key_value_and_split_heads(concat_last(no_q, rkv), nh, nkv,
                                                                                     transpose_key);
            expect_exact(q, rq);
            expect_exact(k, rk);
            expect_exact(v, rv);
            EXPECT_EQ(k.shape(), transpose_key ? (Shape{b, nkv, hd, s_kv}) : (Shape{b, nkv, s_kv, hd}));
        }
    Tensor x = random_tensor({1, 5, 32}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 63);
    Tensor kv = random_tensor({1, 7, 30}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 64);
    expect_error(
        [&] { transformer::split_query_key_value_and_split_heads(x, 4, {.num_kv_heads = 2, .kv_input_tensor = kv}); },
        {"split_query_key_value_and_split_heads", "kv_input_tensor.shape=Shape([1, 7, 30])", "[1, s_kv, 32]"});
}

TEST(SplitHeads, DefaultsToAsManyKvHeadsAndTransposedKey) {
    Tensor x = random_tensor({1, 5, 3 * 2 * 8}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 52);
    auto [q, k, v] = transformer::split_query_key_value_and_split_heads(x, 2);
    EXPECT_EQ(q.shape(), (Shape{1, 2, 5, 8}));
    EXPECT_EQ(k.shape(), (Shape{1, 2, 8, 5}));
    EXPECT_EQ(v.shape(), (Shape{1, 2, 5, 8}));
}

TEST(SplitHeads, InvalidArgumentsAreRejected) {
    const char* op = "split_query_key_value_and_split_heads";
    Tensor x = random_tensor({1, 4, 100}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 53);
    expect_error([&] { transformer::split_query_key_value_and_split_heads(x, 2, {.num_kv_heads = 2}); },
                 {op, "x.shape[-1]=100", "num_heads + 2 * num_kv_heads = 2 + 2 * 2 = 6"});
    expect_error([&] { transformer::split_query_key_value_and_split_heads(x, 0); }, {op, "num_heads=0"});
    expect_error([&] { transformer::split_query_key_value_and_split_heads(x, 1, {.num_kv_heads = 0}); },
                 {op, "num_kv_heads=0"});
    Tensor x8 = random_tensor({1, 1, 8}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 55);  // 2 + 2 * 2^31 heads
    expect_error(
        [&] { transformer::split_query_key_value_and_split_heads(x8, 2, {.num_kv_heads = 0x80000000u}); },
        {op, "x.shape[-1]=8", "2 + 2 * 2147483648 = 4294967298"});
    Tensor x4 = random_tensor({1, 1, 4, 96}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 54);
    expect_error([&] { transformer::split_query_key_value_and_split_heads(x4, 1); }, {op, "rank 3"});
    expect_error([&] { transformer::split_query_key_value_and_split_heads(from_device(x), 1); },
                 {op, "host tensor"});
}

Tensor integer_tensor(const Shape& shape) {
    std::vector<int32_t> values(shape.volume(), 1);
    return from_host(std::span<const int32_t>(values), shape, {.device = test_device()});
}

TEST(TransformerOps, IntegerTensorsAreRejected) {
    expect_error(
        [&] {
            transformer::split_query_key_value_and_split_heads(integer_tensor(Shape{1, 2, 6}), 1);
        },
        {"split_query_key_value_and_split_heads", "x.dtype=DataType::INT32", "floating-point"});
    expect_error(
        [&] {
            transformer::concatenate_heads(integer_tensor(Shape{1, 2, 3, 4}));
        },
        {"concatenate_heads", "x.dtype=DataType::INT32"});
    expect_error(
        [&] {
            transformer::attention_softmax(integer_tensor(Shape{1, 1, 2, 4}));
        },
        {"attention_softmax", "x.dtype=DataType::INT32"});
    Tensor x = random_tensor({1, 1, 2, 4}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 68);
    expect_error(
        [&] {
            transformer::attention_softmax(x, {.attention_mask = integer_tensor(Shape{1, 1, 1, 4})});
        },
        {"attention_softmax", "attention_mask.dtype=DataType::INT32"});
}

TEST(SplitHeads, SecondIdenticalCallHitsProgramCache) {
    Tensor x = random_tensor({1, 7, 5 * 12}, {DataType::BFLOAT16, Layout::TILE}, 55);
    testing::expect_second_call_hits_cache(
        [&] { transformer::split_query_key_value_and_split_heads(x, 3, {.num_kv_heads = 1}); });
}

class ConcatenateHeadsMatchesReference
    : public ::testing::TestWithParam<std::tuple<kernels::Isa, Format, std::vector<uint32_t>>> {};

TEST_P(ConcatenateHeadsMatchesReference, JoinsHeadsPerToken) {
    auto [isa, format, shape] = GetParam();
    testing::ScopedIsa scoped(isa);
    Tensor x = random_tensor(shape, format, 56);
    Tensor y = transformer::concatenate_heads(x);
    EXPECT_EQ(y.dtype(), x.dtype());
    EXPECT_EQ(y.layout(), x.layout());
    expect_exact(y, reference::concatenate_heads(reference::from_tensor(x)));
}

INSTANTIATE_TEST_SUITE_P(AllIsasFormats, ConcatenateHeadsMatchesReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::ValuesIn(all_formats()),
                                            ::testing::Values(std::vector<uint32_t>{1, 1, 1, 1},
                                                              std::vector<uint32_t>{2, 4, 33, 24},
                                                              std::vector<uint32_t>{1, 3, 2011, 8},
                                                              std::vector<uint32_t>{2, 2, 64, 64})),
                         testing::IsaFormatName());

TEST(ConcatenateHeads, UndoesSplitHeads) {
    Tensor x = random_tensor({2, 9, 3 * 4 * 16}, {DataType::BFLOAT16, Layout::TILE}, 57);
    auto [q, k, v] = transformer::split_query_key_value_and_split_heads(x, 4, {.transpose_key = false});
    const std::vector<float> fused = to_host<float>(x),
                             joined = to_host<float>(transformer::concatenate_heads(k));
    for (uint32_t row = 0; row < 2 * 9; ++row)
        for (uint32_t c = 0; c < 64; ++c) ASSERT_EQ(joined[row * 64 + c], fused[row * 192 + 64 + c]);
}

TEST(ConcatenateHeads, InvalidArgumentsAreRejected) {
    Tensor x = random_tensor({2, 3, 4}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 58);
    expect_error(
        [&] {
            transformer::concatenate_heads(
                from_device(random_tensor({1, 2, 3, 4}, {DataType::FLOAT32, Layout::TILE}, 69)));
        },
        {"concatenate_heads", "x is a host tensor"});
    expect_error([&] { transformer::concatenate_heads(x); },
                 {"concatenate_heads", "x.shape=Shape([2, 3, 4])", "rank 4"});
}

struct AttentionSoftmaxCase {
    std::vector<uint32_t> x;
    std::vector<uint32_t> mask;  // empty: no mask
    std::optional<uint32_t> head_size;
};

// Padding masks [b, 1, 1, s], causal masks [b, 1, s, s] and [1, 1, s, s], a per-row mask, no mask.
const std::vector<AttentionSoftmaxCase> attention_softmax_cases = {
    {{2, 3, 33, 31}, {2, 1, 1, 31}, 64},
    {{1, 2, 32, 64}, {1, 1, 32, 64}, 32},
    {{2, 2, 5, 2011}, {2, 1, 1, 2011}, std::nullopt},
    {{1, 1, 31, 33}, {}, 16},
    {{2, 1, 4, 40}, {1, 1, 4, 1}, 8},
    {{2, 4, 31, 31}, {1, 1, 31, 31}, 128},
};

// A mask of random values with -inf above the diagonal (in every row when the mask has one column).
Tensor causal_mask(const std::vector<uint32_t>& shape, uint32_t seed) {
    auto values = random_values(testing::volume(shape), seed, -1.0f, 1.0f);
    const uint32_t rows = shape[2], cols = shape[3];
    for (std::size_t i = 0; i < values.size(); ++i)
        if (rows > 1 && cols > 1 && (i % cols) > (i / cols % rows)) values[i] = -inf;
    return device_tensor(values, shape, {DataType::BFLOAT16, Layout::TILE}, -inf);
}

using AttentionSoftmaxParam = std::tuple<kernels::Isa, Format, AttentionSoftmaxCase>;
class AttentionSoftmaxMatchesReference : public ::testing::TestWithParam<AttentionSoftmaxParam> {};

TEST_P(AttentionSoftmaxMatchesReference, ScalesMasksAndNormalisesRows) {
    auto [isa, format, c] = GetParam();
    testing::ScopedIsa scoped(isa);
    Tensor x = random_tensor(c.x, format, 59, -6.0f, 6.0f);
    std::optional<Tensor> mask;
    if (!c.mask.empty()) mask = causal_mask(c.mask, 60);
    const reference::Array rx = reference::from_tensor(x);
    std::optional<reference::Array> rmask;
    if (mask) rmask = reference::from_tensor(*mask);
    const reference::Array expected =
        reference::attention_softmax(rx, c.head_size, rmask ? &*rmask : nullptr);

    Tensor y = transformer::attention_softmax(x, {.head_size = c.head_size, .attention_mask = mask});
    EXPECT_EQ(y.dtype(), x.dtype());
    EXPECT_EQ(y.layout(), x.layout());
    expect_matches(y, expected, softmax_rel, softmax_abs);
    expect_exact(x, rx);  // the out-of-place op leaves x alone

    Tensor returned = transformer::attention_softmax_(x, {.head_size = c.head_size, .attention_mask = mask});
    EXPECT_EQ(returned.buffer(), x.buffer());
    expect_matches(x, expected, softmax_rel, softmax_abs);
}

INSTANTIATE_TEST_SUITE_P(AllIsasFormats, AttentionSoftmaxMatchesReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::ValuesIn(all_formats()),
                                            ::testing::ValuesIn(attention_softmax_cases)),
                         testing::IsaFormatName());

// Large enough that every worker runs several tasks with its own scratch.
TEST(AttentionSoftmax, LargeTensorsSplitAcrossWorkers) {
    Tensor x = random_tensor({2, 4, 64, 200}, {DataType::BFLOAT8_B, Layout::TILE}, 76, -6.0f, 6.0f);
    Tensor mask = causal_mask({2, 1, 64, 200}, 77);
    auto rmask = reference::from_tensor(mask);
    const auto expected = reference::attention_softmax(reference::from_tensor(x), 64u, &rmask);
    expect_matches(transformer::attention_softmax(x, {.head_size = 64u, .attention_mask = mask}), expected,
                   softmax_rel, softmax_abs);
    transformer::attention_softmax_(x, {.head_size = 64u, .attention_mask = mask});
    expect_matches(x, expected, softmax_rel, softmax_abs);
}

TEST(AttentionSoftmax, FullyMaskedRowGivesZeros) {
    std::vector<float> mask_values(2 * 8, 0.0f);
    for (int c = 0; c < 8; ++c) mask_values[8 + c] = -inf;  // query row 1 may attend nowhere
    Tensor mask = device_tensor(mask_values, {1, 1, 2, 8}, {DataType::FLOAT32, Layout::ROW_MAJOR});
    Tensor x = random_tensor({1, 2, 2, 8}, {DataType::BFLOAT16, Layout::TILE}, 61);
    const std::vector<float> y = to_host<float>(transformer::attention_softmax(x, {.attention_mask = mask}));
    for (int h = 0; h < 2; ++h) {
        double row0 = 0;
        for (int c = 0; c < 8; ++c) {
            row0 += y[(h * 2) * 8 + c];
            EXPECT_EQ(y[(h * 2 + 1) * 8 + c], 0.0f);
        }
        EXPECT_NEAR(row0, 1.0, 1e-2);
    }
}

TEST(AttentionSoftmax, InvalidArgumentsAreRejected) {
    const Format f32{DataType::FLOAT32, Layout::ROW_MAJOR};
    Tensor x = random_tensor({2, 3, 4, 30}, f32, 62);
    Tensor wrong = random_tensor({2, 1, 1, 31}, f32, 63);
    expect_error([&] { transformer::attention_softmax(x, {.attention_mask = wrong}); },
                 {"attention_softmax", "attention_mask.shape=Shape([2, 1, 1, 31])", "does not broadcast to",
                  "x.shape=Shape([2, 3, 4, 30])"});
    Tensor expanding = random_tensor({2, 3, 5, 4, 30}, f32, 64);
    expect_error([&] { transformer::attention_softmax(x, {.attention_mask = expanding}); },
                 {"attention_softmax", "does not broadcast to"});
    expect_error([&] { transformer::attention_softmax(x, {.head_size = 0u}); },
                 {"attention_softmax", "head_size=0"});
    Tensor host_mask = from_device(random_tensor({2, 1, 1, 30}, f32, 65));
    expect_error([&] { transformer::attention_softmax(x, {.attention_mask = host_mask}); },
                 {"attention_softmax", "attention_mask is a host tensor"});
    expect_error([&] { transformer::attention_softmax_(x, {.memory_config = L1_MEMORY_CONFIG}); },
                 {"attention_softmax_", "memory_config=L1_MEMORY_CONFIG", "in-place"});
}

TEST(AttentionSoftmax, SecondIdenticalCallHitsProgramCacheWhateverTheHeadSize) {
    Tensor x = random_tensor({1, 2, 9, 23}, {DataType::BFLOAT16, Layout::TILE}, 66);
    Tensor mask = random_tensor({1, 1, 1, 23}, {DataType::BFLOAT16, Layout::TILE}, 67);
    testing::ScopedProgramCache cache;
    transformer::attention_softmax(x, {.head_size = 64u, .attention_mask = mask});
    const std::size_t entries = test_device().num_program_cache_entries(),
                      hits = test_device().program_cache_hits();
    // The scale is a runtime argument: a new head size reuses the program.
    transformer::attention_softmax(x, {.head_size = 128u, .attention_mask = mask});
    EXPECT_EQ(test_device().program_cache_hits(), hits + 1);
    EXPECT_EQ(test_device().num_program_cache_entries(), entries);
}

}  // namespace
}  // namespace attnn
