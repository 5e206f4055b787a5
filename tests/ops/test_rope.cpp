#include <cmath>
#include <numbers>
#include <string>

#include "attnn/ops/experimental.hpp"
#include "attnn/rope.hpp"
#include "ops/op_test_util.hpp"
#include "reference/rope.hpp"

namespace attnn {
namespace {

using testing::all_formats;
using testing::device_tensor;
using testing::expect_error;
using testing::expect_matches;
using testing::Format;
using testing::random_tensor;
using testing::test_device;

// x * cos + rotated * sin in fp32: a few ulps of |x| (values in [-2, 2]).
constexpr double rope_rel = 1e-6, rope_abs = 2e-6;
constexpr Format f32_rm{DataType::FLOAT32, Layout::ROW_MAJOR};

std::string isa_format_name(kernels::Isa isa, const Format& format, std::size_t index) {
    return std::string(kernels::isa_name(isa)) + "_" + format_name(format) + "_" + std::to_string(index);
}

// cos/sin rows of positions [start, start + rows) repeated over `matrices`, shape [1, matrices, rows, dh].
RopeTensors table_tensors(const RopeTables& t, uint32_t dim1, uint32_t dim2, uint32_t start, Format f,
                          bool per_matrix_positions) {
    std::vector<float> cos, sin;
    for (uint32_t m = 0; m < dim1; ++m)
        for (uint32_t r = 0; r < dim2; ++r) {
            const uint32_t p = start + (per_matrix_positions ? m * 7 + r : r);
            cos.insert(cos.end(), t.cos.begin() + p * t.head_dim, t.cos.begin() + (p + 1) * t.head_dim);
            sin.insert(sin.end(), t.sin.begin() + p * t.head_dim, t.sin.begin() + (p + 1) * t.head_dim);
        }
    return {device_tensor(cos, {1, dim1, dim2, t.head_dim}, f),
            device_tensor(sin, {1, dim1, dim2, t.head_dim}, f)};
}

struct PrefillCase {
    uint32_t batch, heads, tokens, head_dim, cos_heads;
};

// One token; tokens around a tile; a long odd sequence; cos per head; dh 64, 80 (a half block),
// 96, 128.
const std::vector<PrefillCase> prefill_cases = {
    {1, 1, 1, 64, 1}, {2, 3, 31, 128, 1}, {1, 2, 33, 96, 2}, {1, 1, 2011, 64, 1}, {1, 2, 5, 80, 1},
};

class RotaryEmbeddingLlamaPrefillMatchesReference
    : public ::testing::TestWithParam<std::tuple<kernels::Isa, Format, PrefillCase>> {};

TEST_P(RotaryEmbeddingLlamaPrefillMatchesReference, RotatesInterleavedPairs) {
    auto [isa, format, c] = GetParam();
    testing::ScopedIsa scoped(isa);
    const RopeTables tables = rope_tables(c.head_dim, 3000, {.theta = 10000});
    Tensor x = random_tensor({c.batch, c.heads, c.tokens, c.head_dim}, format, 81);
    auto [cos, sin] = table_tensors(tables, c.cos_heads, c.tokens, 100, format, false);
    Tensor trans = experimental::get_rot_transformation_mat(test_device());
    Tensor y = experimental::rotary_embedding_llama(x, cos, sin, trans);
    EXPECT_EQ(y.dtype(), x.dtype());
    EXPECT_EQ(y.layout(), x.layout());
    using reference::from_tensor;
    expect_matches(y,
                   reference::rotary_embedding_llama(from_tensor(x), from_tensor(cos), from_tensor(sin),
                                                     from_tensor(trans), false),
                   rope_rel, rope_abs);
}

INSTANTIATE_TEST_SUITE_P(AllIsasFormats, RotaryEmbeddingLlamaPrefillMatchesReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::ValuesIn(all_formats()),
                                            ::testing::ValuesIn(prefill_cases)),
                         [](const auto& info) {
                             return isa_format_name(std::get<0>(info.param), std::get<1>(info.param),
                                                    info.index);
                         });

struct DecodeCase {
    uint32_t users, heads, head_dim, cos_heads;
};

const std::vector<DecodeCase> decode_cases = {{1, 8, 64, 1}, {5, 4, 128, 1}, {3, 2, 96, 2}, {33, 1, 80, 1}};

class RotaryEmbeddingLlamaDecodeMatchesReference
    : public ::testing::TestWithParam<std::tuple<kernels::Isa, Format, DecodeCase>> {};

TEST_P(RotaryEmbeddingLlamaDecodeMatchesReference, RotatesEachUserAtItsPosition) {
    auto [isa, format, c] = GetParam();
    testing::ScopedIsa scoped(isa);
    const RopeTables tables = rope_tables(c.head_dim, 1000, {.theta = 500000});
    Tensor x = random_tensor({1, c.users, c.heads, c.head_dim}, format, 82);
    // user u's rows are at positions 3 + 7u + h: distinct per user (and per head when given per head)
    auto [cos, sin] = table_tensors(tables, c.users, c.cos_heads, 3, format, true);
    Tensor trans = experimental::get_rot_transformation_mat(test_device());
    Tensor y = experimental::rotary_embedding_llama(x, cos, sin, trans, {.is_decode_mode = true});
    using reference::from_tensor;
    expect_matches(y,
                   reference::rotary_embedding_llama(from_tensor(x), from_tensor(cos), from_tensor(sin),
                                                     from_tensor(trans), true),
                   rope_rel, rope_abs);
}

INSTANTIATE_TEST_SUITE_P(AllIsasFormats, RotaryEmbeddingLlamaDecodeMatchesReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::ValuesIn(all_formats()),
                                            ::testing::ValuesIn(decode_cases)),
                         [](const auto& info) {
                             return isa_format_name(std::get<0>(info.param), std::get<1>(info.param),
                                                    info.index);
                         });

TEST(RotaryEmbeddingLlama, DecodeTensorsFromTablesGiveEachUserItsPosition) {
    const RopeTables tables = rope_tables(64, 100);
    const std::vector<uint32_t> positions = {0, 17, 99};
    auto [cos, sin] = rope_decode_tensors(tables, positions, test_device());
    ASSERT_EQ(cos.shape(), (Shape{1, 3, 1, 64}));
    Tensor x = random_tensor({1, 3, 4, 64}, f32_rm, 83);
    Tensor trans = experimental::get_rot_transformation_mat(test_device());
    Tensor y = experimental::rotary_embedding_llama(x, cos, sin, trans, {.is_decode_mode = true});
    using reference::from_tensor;
    expect_matches(y,
                   reference::rotary_embedding_llama(from_tensor(x), from_tensor(cos), from_tensor(sin),
                                                     from_tensor(trans), true),
                   rope_rel, rope_abs);
    // user 0 is at position 0: unchanged
    const std::vector<float> xs = to_host<float>(x), ys = to_host<float>(y);
    for (int i = 0; i < 4 * 64; ++i) EXPECT_EQ(ys[i], xs[i]);
}

// TT-NN's models give decode one copy of the matrix per user ([1, 1, 32 b, 32], one tile per
// user's shard): the same rotation as the single matrix; copies that differ, or a repeated matrix
// in prefill mode, are refused.
TEST(RotaryEmbeddingLlama, DecodeTakesTheMatrixRepeatedPerUser) {
    const RopeTables tables = rope_tables(64, 100);
    const std::vector<uint32_t> positions = {5, 40, 99};
    auto [cos, sin] = rope_decode_tensors(tables, positions, test_device());
    Tensor x = random_tensor({1, 3, 4, 64}, f32_rm, 86);
    Tensor trans = experimental::get_rot_transformation_mat(test_device());
    std::vector<float> one = to_host<float>(trans), three;
    for (int u = 0; u < 3; ++u) three.insert(three.end(), one.begin(), one.end());
    Tensor repeated =
        from_host(std::span<const float>(three), Shape{1, 1, 96, 32},
                  {.dtype = DataType::BFLOAT16, .layout = Layout::TILE, .device = test_device()});
    EXPECT_EQ(
        to_host<float>(experimental::rotary_embedding_llama(x, cos, sin, repeated, {.is_decode_mode = true})),
        to_host<float>(experimental::rotary_embedding_llama(x, cos, sin, trans, {.is_decode_mode = true})));
    three[2 * 1024 + 5 * 32 + 6] = 1.0f;  // block 2, row 5
    Tensor differing =
        from_host(std::span<const float>(three), Shape{1, 1, 96, 32},
                  {.dtype = DataType::BFLOAT16, .layout = Layout::TILE, .device = test_device()});
    const char* op = "rotary_embedding_llama";
    expect_error(
        [&] { experimental::rotary_embedding_llama(x, cos, sin, differing, {.is_decode_mode = true}); },
        {op, "same matrix", "block 2 differs from block 0 in row 5"});
    Tensor prefill_x = random_tensor({1, 2, 8, 64}, f32_rm, 87);
    auto [pcos, psin] = rope_prefill_tensors(tables, 0, 8, test_device());
    expect_error([&] { experimental::rotary_embedding_llama(prefill_x, pcos, psin, repeated); },
                 {op, "trans_mat.shape=Shape([1, 1, 96, 32])", "must be [1, 1, 32, 32]"});
}

// Prefill with a table longer than the sequence (a whole rope_cache_tensors table): x's row t
// takes the table's row t, as the table cut to s rows gives.
TEST(RotaryEmbeddingLlama, PrefillTakesALongerTable) {
    const RopeTables tables = rope_tables(64, 40);
    auto [cos, sin] = rope_prefill_tensors(tables, 0, 40, test_device());
    auto [cos8, sin8] = rope_prefill_tensors(tables, 0, 8, test_device());
    Tensor x = random_tensor({1, 2, 8, 64}, f32_rm, 88);
    Tensor trans = experimental::get_rot_transformation_mat(test_device());
    EXPECT_EQ(to_host<float>(experimental::rotary_embedding_llama(x, cos, sin, trans)),
              to_host<float>(experimental::rotary_embedding_llama(x, cos8, sin8, trans)));
}

TEST(RotaryEmbeddingLlama, HonoursAnyTransformationMatrix) {
    Tensor x = random_tensor({1, 2, 9, 80}, f32_rm, 84);
    Tensor cos = random_tensor({1, 1, 9, 80}, f32_rm, 85), sin = random_tensor({1, 1, 9, 80}, f32_rm, 86);
    Tensor trans = random_tensor({1, 1, 32, 32}, {DataType::FLOAT32, Layout::TILE}, 87);
    Tensor y = experimental::rotary_embedding_llama(x, cos, sin, trans);
    using reference::from_tensor;
    expect_matches(y,
                   reference::rotary_embedding_llama(from_tensor(x), from_tensor(cos), from_tensor(sin),
                                                     from_tensor(trans), false),
                   1e-5, 1e-5);
}

TEST(RotaryEmbeddingLlama, TransformationMatrixRotatesInterleavedPairs) {
    const std::vector<float> t = to_host<float>(experimental::get_rot_transformation_mat(test_device()));
    for (int i = 0; i < 32; ++i)
        for (int j = 0; j < 32; ++j) {
            const float want = (i % 2 == 0 && j == i + 1) ? 1.0f : (i % 2 == 1 && j == i - 1) ? -1.0f : 0.0f;
            ASSERT_EQ(t[i * 32 + j], want) << i << ", " << j;
        }
}

TEST(RotaryEmbeddingLlama, PositionZeroIsTheIdentity) {
    const RopeTables tables = rope_tables(96, 4);
    auto [cos, sin] = rope_prefill_tensors(tables, 0, 1, test_device());
    Tensor x = random_tensor({2, 3, 1, 96}, f32_rm, 88);
    Tensor y = experimental::rotary_embedding_llama(x, cos, sin,
                                                    experimental::get_rot_transformation_mat(test_device()));
    EXPECT_EQ(to_host<float>(y), to_host<float>(x));
}

TEST(RotaryEmbeddingLlama, RotatingByPThenByMinusPRestoresX) {
    const RopeTables tables = rope_tables(128, 2048, {.theta = 500000});
    auto [cos, sin] = rope_prefill_tensors(tables, 1000, 40, test_device());
    std::vector<float> minus_sin = to_host<float>(sin);
    for (float& v : minus_sin) v = -v;  // sin(-a) = -sin(a), cos(-a) = cos(a)
    Tensor back_sin = device_tensor(minus_sin, {1, 1, 40, 128}, {DataType::FLOAT32, Layout::TILE});
    Tensor trans = experimental::get_rot_transformation_mat(test_device());
    Tensor x = random_tensor({1, 4, 40, 128}, {DataType::FLOAT32, Layout::TILE}, 89);
    Tensor y = experimental::rotary_embedding_llama(x, cos, sin, trans);
    Tensor back = experimental::rotary_embedding_llama(y, cos, back_sin, trans);
    const std::vector<float> xs = to_host<float>(x), bs = to_host<float>(back), ys = to_host<float>(y);
    for (std::size_t i = 0; i < xs.size(); ++i) ASSERT_NEAR(bs[i], xs[i], 1e-5) << i;
    // and the rotation moved values
    double moved = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) moved = std::max(moved, double(std::abs(ys[i] - xs[i])));
    EXPECT_GT(moved, 0.1);
}

TEST(RotaryEmbeddingLlama, InvalidArgumentsAreRejected) {
    const char* op = "rotary_embedding_llama";
    Tensor x = random_tensor({1, 2, 8, 64}, f32_rm, 90);
    Tensor cos = random_tensor({1, 1, 8, 64}, f32_rm, 91), sin = random_tensor({1, 1, 8, 64}, f32_rm, 92);
    Tensor trans = experimental::get_rot_transformation_mat(test_device());
    Tensor wrong_trans = random_tensor({1, 1, 16, 16}, f32_rm, 93);
    expect_error([&] { experimental::rotary_embedding_llama(x, cos, sin, wrong_trans); },
                 {op, "trans_mat.shape=Shape([1, 1, 16, 16])", "[1, 1, 32, 32]"});
    Tensor short_cos = random_tensor({1, 1, 7, 64}, f32_rm, 94);
    expect_error([&] { experimental::rotary_embedding_llama(x, short_cos, sin, trans); },
                 {op, "cos.shape=Shape([1, 1, 7, 64])", "sin.shape=Shape([1, 1, 8, 64])"});
    Tensor short_sin = random_tensor({1, 1, 7, 64}, f32_rm, 95);
    expect_error([&] { experimental::rotary_embedding_llama(x, short_cos, short_sin, trans); },
                 {op, "cos.shape=Shape([1, 1, 7, 64])", "s=8"});
    Tensor three_heads = random_tensor({1, 3, 8, 64}, f32_rm, 96);
    expect_error([&] { experimental::rotary_embedding_llama(x, three_heads, three_heads, trans); },
                 {op, "cos.shape=Shape([1, 3, 8, 64])", "num_heads=2"});
    Tensor odd = random_tensor({1, 2, 8, 63}, f32_rm, 97);
    Tensor odd_cos = random_tensor({1, 1, 8, 63}, f32_rm, 98);
    expect_error([&] { experimental::rotary_embedding_llama(odd, odd_cos, odd_cos, trans); },
                 {op, "x.shape[-1]=63", "even"});
    Tensor narrow_cos = random_tensor({1, 1, 8, 32}, f32_rm, 99);
    expect_error([&] { experimental::rotary_embedding_llama(x, narrow_cos, narrow_cos, trans); },
                 {op, "cos.shape=Shape([1, 1, 8, 32])", "head_dim=64"});
    // decode mode: x [1, b, nh, dh] and cos [1, b, 1, dh]
    expect_error([&] { experimental::rotary_embedding_llama(x, cos, sin, trans, {.is_decode_mode = true}); },
                 {op, "cos.shape=Shape([1, 1, 8, 64])", "b=2", "decode mode"});
    Tensor batched = random_tensor({2, 2, 8, 64}, f32_rm, 100);
    expect_error(
        [&] { experimental::rotary_embedding_llama(batched, cos, sin, trans, {.is_decode_mode = true}); },
        {op, "x.shape=Shape([2, 2, 8, 64])", "decode mode"});
    expect_error([&] { experimental::rotary_embedding_llama(from_device(x), cos, sin, trans); },
                 {op, "host tensor"});
    expect_error([&] { experimental::rotary_embedding_llama(x, cos, from_device(sin), trans); },
                 {op, "host tensor"});
    Tensor ints = from_host(std::span<const int32_t>(std::vector<int32_t>(8 * 64).data(), 8 * 64),
                            Shape{1, 1, 8, 64}, {.device = test_device()});
    expect_error([&] { experimental::rotary_embedding_llama(x, ints, ints, trans); }, {op, "cos.dtype"});
}

TEST(RotaryEmbeddingLlama, SecondIdenticalCallHitsProgramCache) {
    Tensor x = random_tensor({1, 3, 5, 96}, {DataType::BFLOAT16, Layout::TILE}, 101);
    auto [cos, sin] = rope_prefill_tensors(rope_tables(96, 5), 0, 5, test_device());
    Tensor trans = experimental::get_rot_transformation_mat(test_device());
    testing::expect_second_call_hits_cache([&] { experimental::rotary_embedding_llama(x, cos, sin, trans); });
}

struct RotateHalfCase {
    std::vector<uint32_t> shape;
    std::optional<uint32_t> token_index;
};

// Prefill over batches and heads, one token, a half-block head dim, and decode at a token index.
const std::vector<RotateHalfCase> rotate_half_cases = {
    {{2, 3, 33, 64}, {}}, {{1, 1, 1, 128}, {}}, {{1, 2, 31, 80}, {}}, {{1, 1, 5, 96}, 17}};

class RotaryEmbeddingMatchesReference
    : public ::testing::TestWithParam<std::tuple<kernels::Isa, Format, RotateHalfCase>> {};

TEST_P(RotaryEmbeddingMatchesReference, RotatesHalves) {
    auto [isa, format, c] = GetParam();
    testing::ScopedIsa scoped(isa);
    const uint32_t dh = c.shape.back();
    const RopeTables tables = rope_tables(dh, 40, {.pairing = RopePairing::rotate_half});
    auto [cos, sin] =
        rope_cache_tensors(tables, test_device(), {.dtype = format.dtype, .layout = format.layout});
    Tensor x = random_tensor(c.shape, format, 102);
    Tensor y = experimental::rotary_embedding(x, cos, sin, {.token_index = c.token_index});
    EXPECT_EQ(y.dtype(), x.dtype());
    EXPECT_EQ(y.layout(), x.layout());
    using reference::from_tensor;
    expect_matches(
        y, reference::rotary_embedding(from_tensor(x), from_tensor(cos), from_tensor(sin), c.token_index),
        rope_rel, rope_abs);
}

INSTANTIATE_TEST_SUITE_P(AllIsasFormats, RotaryEmbeddingMatchesReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::ValuesIn(all_formats()),
                                            ::testing::ValuesIn(rotate_half_cases)),
                         [](const auto& info) {
                             return isa_format_name(std::get<0>(info.param), std::get<1>(info.param),
                                                    info.index);
                         });

// Moving element 2k to k and 2k+1 to k + dh/2 turns interleaved pairs into halves, so the two
// ops agree once x and the result are permuted so.
TEST(RotaryEmbedding, AgreesWithInterleavedRopeAfterPermutingTheHeadDim) {
    const uint32_t dh = 96, s = 21;
    const RopeTables interleaved = rope_tables(dh, 64, {.pairing = RopePairing::interleaved});
    const RopeTables halves = rope_tables(dh, 64, {.pairing = RopePairing::rotate_half});
    auto permute = [&](const std::vector<float>& v) {
        std::vector<float> out(v.size());
        for (std::size_t row = 0; row < v.size() / dh; ++row)
            for (uint32_t k = 0; k < dh / 2; ++k) {
                out[row * dh + k] = v[row * dh + 2 * k];
                out[row * dh + k + dh / 2] = v[row * dh + 2 * k + 1];
            }
        return out;
    };
    const std::vector<float> x = testing::random_values(2 * s * dh, 103);
    auto [cos_i, sin_i] =
        rope_prefill_tensors(interleaved, 0, s, test_device(), {.layout = Layout::ROW_MAJOR});
    auto [cos_h, sin_h] = rope_cache_tensors(halves, test_device(), {.layout = Layout::ROW_MAJOR});
    Tensor y_interleaved =
        experimental::rotary_embedding_llama(device_tensor(x, {1, 2, s, dh}, f32_rm), cos_i, sin_i,
                                             experimental::get_rot_transformation_mat(test_device()));
    Tensor y_halves =
        experimental::rotary_embedding(device_tensor(permute(x), {1, 2, s, dh}, f32_rm), cos_h, sin_h);
    const std::vector<float> want = permute(to_host<float>(y_interleaved)), got = to_host<float>(y_halves);
    for (std::size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-6) << i;
}

TEST(RotaryEmbedding, InvalidArgumentsAreRejected) {
    const char* op = "rotary_embedding";
    auto [cos, sin] =
        rope_cache_tensors(rope_tables(64, 16, {.pairing = RopePairing::rotate_half}), test_device());
    Tensor x = random_tensor({1, 2, 17, 64}, f32_rm, 104);
    expect_error([&] { experimental::rotary_embedding(x, cos, sin); },
                 {op, "x.shape[-2]=17", "cos_cache.shape[2]=16"});
    Tensor x1 = random_tensor({1, 1, 4, 64}, f32_rm, 105);
    expect_error([&] { experimental::rotary_embedding(x1, cos, sin, {.token_index = 16}); },
                 {op, "token_index=16", "cos_cache.shape[2]=16"});
    Tensor odd = random_tensor({1, 1, 2, 7}, f32_rm, 106);
    Tensor odd_cos = random_tensor({1, 1, 4, 7}, f32_rm, 107);
    expect_error([&] { experimental::rotary_embedding(odd, odd_cos, odd_cos); },
                 {op, "x.shape[-1]=7", "even"});
    Tensor batched_cos = random_tensor({2, 1, 16, 64}, f32_rm, 108);
    expect_error([&] { experimental::rotary_embedding(x1, batched_cos, batched_cos); },
                 {op, "cos_cache.shape=Shape([2, 1, 16, 64])"});
    Tensor other_sin = random_tensor({1, 1, 8, 64}, f32_rm, 109);
    expect_error([&] { experimental::rotary_embedding(x1, cos, other_sin); },
                 {op, "cos_cache.shape=Shape([1, 1, 16, 64])", "sin_cache.shape=Shape([1, 1, 8, 64])"});
    expect_error([&] { experimental::rotary_embedding(from_device(x1), cos, sin); }, {op, "host tensor"});
}

TEST(RopeTables, MatchHandComputedAngles) {
    // head_dim 4, theta 10000: f = {1, 10000^(-1/2) = 0.01}
    const RopeTables i = rope_tables(4, 3, {.theta = 10000, .pairing = RopePairing::interleaved});
    const RopeTables h = rope_tables(4, 3, {.theta = 10000, .pairing = RopePairing::rotate_half});
    const std::vector<double> c = {std::cos(2.0), std::cos(0.02)}, s = {std::sin(2.0), std::sin(0.02)};
    const std::vector<std::size_t> interleaved_k = {0, 0, 1, 1}, halves_k = {0, 1, 0, 1};
    for (std::size_t d = 0; d < 4; ++d) {
        EXPECT_FLOAT_EQ(i.cos[2 * 4 + d], float(c[interleaved_k[d]]));
        EXPECT_FLOAT_EQ(i.sin[2 * 4 + d], float(s[interleaved_k[d]]));
        EXPECT_FLOAT_EQ(h.cos[2 * 4 + d], float(c[halves_k[d]]));
        EXPECT_FLOAT_EQ(h.sin[2 * 4 + d], float(s[halves_k[d]]));
        EXPECT_EQ(i.cos[d], 1.0f);  // position 0
        EXPECT_EQ(i.sin[d], 0.0f);
    }
}

// Llama 3.1's scaling (theta 500000, factor 8, low 1, high 4, original 8192, dh 128), against
// values from the formula of transformers' _compute_llama3_parameters evaluated in fp64.
TEST(RopeTables, Llama3ScalingMatchesKnownFrequencies) {
    const std::vector<double> f =
        rope_frequencies(128, {.theta = 500000,
                               .scaling = {.rope_type = RopeScalingType::llama3,
                                           .factor = 8,
                                           .low_freq_factor = 1,
                                           .high_freq_factor = 4,
                                           .original_max_position_embeddings = 8192}});
    ASSERT_EQ(f.size(), 64u);
    EXPECT_DOUBLE_EQ(f[0], 1.0);                       // kept: wavelength 2 pi
    EXPECT_NEAR(f[28], 0.003211445994752591, 1e-15);   // kept: wavelength 1956 < 2048
    EXPECT_NEAR(f[29], 0.002166570763503359, 1e-15);   // blended
    EXPECT_NEAR(f[32], 0.0005248461609929547, 1e-15);  // blended
    EXPECT_NEAR(f[35], 9.556212353964683e-05, 1e-17);  // divided: wavelength 8219 > 8192
    EXPECT_NEAR(f[63], 3.068925988914511e-07, 1e-19);  // divided
    const std::vector<double> plain = rope_frequencies(128, {.theta = 500000});
    EXPECT_NEAR(plain[63], 2.455140791131609e-06, 1e-18);
}

TEST(RopeTables, PrefillAndDecodeTensorsHoldTheRequestedPositions) {
    const RopeTables t = rope_tables(8, 20);
    auto [cos, sin] = rope_prefill_tensors(t, 5, 3, test_device(), {.dtype = DataType::FLOAT32});
    ASSERT_EQ(cos.shape(), (Shape{1, 1, 3, 8}));
    const std::vector<float> c = to_host<float>(cos), s = to_host<float>(sin);
    for (std::size_t i = 0; i < c.size(); ++i) {
        EXPECT_EQ(c[i], t.cos[5 * 8 + i]);
        EXPECT_EQ(s[i], t.sin[5 * 8 + i]);
    }
    const std::vector<uint32_t> positions = {19, 0, 7};
    auto [dc, ds] = rope_decode_tensors(t, positions, test_device());
    ASSERT_EQ(dc.shape(), (Shape{1, 3, 1, 8}));
    const std::vector<float> dcv = to_host<float>(dc);
    for (std::size_t u = 0; u < 3; ++u)
        for (std::size_t d = 0; d < 8; ++d) EXPECT_EQ(dcv[u * 8 + d], t.cos[positions[u] * 8 + d]);
}

TEST(RopeTables, InvalidArgumentsAreRejected) {
    expect_error([] { rope_tables(7, 4); }, {"rope_frequencies", "head_dim=7", "even"});
    expect_error([] { rope_tables(8, 0); }, {"rope_tables", "max_position=0"});
    expect_error([] { rope_tables(8, 4, {.theta = 0}); }, {"theta=0"});
    expect_error(
        [] {
            rope_tables(
                8, 4,
                {.scaling = {
                     .rope_type = RopeScalingType::llama3, .low_freq_factor = 4, .high_freq_factor = 1}});
        },
        {"scaling.high_freq_factor=1", "scaling.low_freq_factor=4"});
    const RopeTables t = rope_tables(8, 10);
    expect_error([&] { rope_prefill_tensors(t, 8, 3, test_device()); },
                 {"rope_prefill_tensors", "start=8", "start + length=11", "max_position=10"});
    const std::vector<uint32_t> beyond = {3, 10};
    expect_error([&] { rope_decode_tensors(t, beyond, test_device()); },
                 {"rope_decode_tensors", "positions[1]=10", "max_position=10"});
    // block floats exist only in TILE
    expect_error(
        [&] {
            rope_prefill_tensors(t, 0, 2, test_device(),
                                 {.dtype = DataType::BFLOAT8_B, .layout = Layout::ROW_MAJOR});
        },
        {"BFLOAT8_B"});
}

}  // namespace
}  // namespace attnn
