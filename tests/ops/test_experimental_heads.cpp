#include <string>

#include "attnn/ops/experimental.hpp"
#include "ops/op_test_util.hpp"
#include "ops/transformer/head_rows.hpp"
#include "reference/heads.hpp"

namespace attnn {
namespace {

using testing::all_formats;
using testing::expect_error;
using testing::expect_exact;
using testing::Format;
using testing::random_tensor;

std::string isa_format_name(kernels::Isa isa, const Format& format, std::size_t index) {
    return std::string(kernels::isa_name(isa)) + "_" + format_name(format) + "_" + std::to_string(index);
}

constexpr Format f32_rm{DataType::FLOAT32, Layout::ROW_MAJOR};

struct CreateCase {
    uint32_t batch, tokens, num_heads, num_kv_heads, head_dim;
    bool transpose_k_heads;
};

// Single tokens, tokens just below and above a tile, a long odd sequence; MHA, GQA, MQA; head
// dims 64, 80, 96, 128.
const std::vector<CreateCase> create_cases = {
    {1, 1, 8, 2, 64, false},  {2, 31, 4, 1, 80, true},   {1, 33, 2, 2, 96, false},
    {2, 33, 8, 1, 128, true}, {1, 2011, 1, 1, 64, true},
};

class NlpCreateQkvHeadsMatchesReference
    : public ::testing::TestWithParam<std::tuple<kernels::Isa, Format, CreateCase>> {};

TEST_P(NlpCreateQkvHeadsMatchesReference, CutsFusedRowsIntoQkvHeads) {
    auto [isa, format, c] = GetParam();
    testing::ScopedIsa scoped(isa);
    const uint32_t width = (c.num_heads + 2 * c.num_kv_heads) * c.head_dim;
    Tensor x = random_tensor({c.batch, 1, c.tokens, width}, format, 61);
    auto [q, k, v] = experimental::nlp_create_qkv_heads(
        x, c.num_heads, {.num_kv_heads = c.num_kv_heads, .transpose_k_heads = c.transpose_k_heads});
    auto [rq, rk, rv] = reference::nlp_create_qkv_heads(reference::from_tensor(x), c.num_heads,
                                                        c.num_kv_heads, c.transpose_k_heads);
    for (const Tensor* t : {&q, &k, &v}) {
        EXPECT_EQ(t->dtype(), x.dtype());
        EXPECT_EQ(t->layout(), x.layout());
    }
    expect_exact(q, rq);
    expect_exact(k, rk);
    expect_exact(v, rv);
}

INSTANTIATE_TEST_SUITE_P(AllIsasFormats, NlpCreateQkvHeadsMatchesReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::ValuesIn(all_formats()),
                                            ::testing::ValuesIn(create_cases)),
                         [](const auto& info) {
                             return isa_format_name(std::get<0>(info.param), std::get<1>(info.param),
                                                    info.index);
                         });

TEST(NlpCreateQkvHeads, DefaultsToAsManyKvHeadsAndTransposedK) {
    Tensor x = random_tensor({1, 1, 5, 3 * 2 * 8}, f32_rm, 62);
    auto [q, k, v] = experimental::nlp_create_qkv_heads(x, 2);
    EXPECT_EQ(q.shape(), (Shape{1, 2, 5, 8}));
    EXPECT_EQ(k.shape(), (Shape{1, 2, 8, 5}));
    EXPECT_EQ(v.shape(), (Shape{1, 2, 5, 8}));
}

// With input_kv the result equals that of the fused row [x | input_kv]; q takes x's dtype and
// layout, k and v input_kv's (as split_query_key_value_and_split_heads' k and v do), so nothing is
// rounded to the other tensor's format.
TEST(NlpCreateQkvHeads, TakesKAndVFromInputKv) {
    const uint32_t b = 2, s = 33, nh = 4, nkv = 2, dh = 80;
    for (const Format& format : all_formats())
        for (const Format& kv_format : all_formats())
            for (bool transpose : {true, false}) {
                SCOPED_TRACE(format_name(format) + " x, " + format_name(kv_format) + " input_kv");
                Tensor x = random_tensor({b, 1, s, nh * dh}, format, 160);
                Tensor input_kv = random_tensor({b, 1, s, 2 * nkv * dh}, kv_format, 161);
                auto [q, k, v] = experimental::nlp_create_qkv_heads(
                    x, nh, {.input_kv = input_kv, .num_kv_heads = nkv, .transpose_k_heads = transpose});
                EXPECT_EQ(q.dtype(), x.dtype());
                EXPECT_EQ(q.layout(), x.layout());
                for (const Tensor* t : {&k, &v}) {
                    EXPECT_EQ(t->dtype(), input_kv.dtype());
                    EXPECT_EQ(t->layout(), input_kv.layout());
                }
                const reference::Array xa = reference::from_tensor(x), kva = reference::from_tensor(input_kv);
                reference::Array fused{{b, 1, s, (nh + 2 * nkv) * dh}, {}};
                for (uint32_t row = 0; row < b * s; ++row) {
                    fused.values.insert(fused.values.end(), xa.values.begin() + row * nh * dh,
                                        xa.values.begin() + (row + 1) * nh * dh);
                    fused.values.insert(fused.values.end(), kva.values.begin() + row * 2 * nkv * dh,
                                        kva.values.begin() + (row + 1) * 2 * nkv * dh);
                }
                auto [rq, rk, rv] = reference::nlp_create_qkv_heads(fused, nh, nkv, transpose);
                expect_exact(q, rq);
                expect_exact(k, rk);
                expect_exact(v, rv);
            }
}

TEST(NlpCreateQkvHeads, OutputsTakeTheGivenMemoryConfig) {
    Tensor x = random_tensor({1, 1, 4, 6 * 32}, f32_rm, 63);
    auto [q, k, v] =
        experimental::nlp_create_qkv_heads(x, 4, {.num_kv_heads = 1, .memory_config = L1_MEMORY_CONFIG});
    for (const Tensor* t : {&q, &k, &v}) EXPECT_EQ(t->memory_config(), L1_MEMORY_CONFIG);
}

TEST(NlpCreateQkvHeads, InvalidArgumentsAreRejected) {
    const char* op = "nlp_create_qkv_heads";
    Tensor x = random_tensor({1, 1, 4, 1000}, f32_rm, 64);
    expect_error([&] { experimental::nlp_create_qkv_heads(x, 8, {.num_kv_heads = 2}); },
                 {op, "x.shape[-1]=1000", "(num_heads + 2 * num_kv_heads) * head_dim", "num_heads=8",
                  "num_kv_heads=2"});
    expect_error([&] { experimental::nlp_create_qkv_heads(x, 0); }, {op, "num_heads=0"});
    expect_error([&] { experimental::nlp_create_qkv_heads(x, 1, {.num_kv_heads = 0}); },
                 {op, "num_kv_heads=0"});
    Tensor x3 = random_tensor({1, 4, 96}, f32_rm, 65);
    expect_error([&] { experimental::nlp_create_qkv_heads(x3, 1); },
                 {op, "x.shape=Shape([1, 4, 96])", "[B, 1, S"});
    Tensor x2 = random_tensor({1, 2, 4, 96}, f32_rm, 66);
    expect_error([&] { experimental::nlp_create_qkv_heads(x2, 1); }, {op, "x.shape=Shape([1, 2, 4, 96])"});
    expect_error([&] { experimental::nlp_create_qkv_heads(from_device(x), 1); }, {op, "host tensor"});
    Tensor q_only = random_tensor({1, 1, 4, 4 * 16}, f32_rm, 162);
    Tensor wrong_kv = random_tensor({1, 1, 4, 3 * 16}, f32_rm, 163);
    expect_error(
        [&] { experimental::nlp_create_qkv_heads(q_only, 4, {.input_kv = wrong_kv, .num_kv_heads = 1}); },
        {op, "input_kv.shape=Shape([1, 1, 4, 48])", "must be [1, 1, 4, 32]", "num_kv_heads=1",
         "head_dim=16"});
    // Head counts whose sums pass 2^32 are checked in 64 bits, not wrapped into a small width.
    const uint32_t huge = 0x80000000u;
    Tensor x8 = random_tensor({1, 1, 1, 8}, f32_rm, 164);
    expect_error([&] { experimental::nlp_create_qkv_heads(x8, 2, {.num_kv_heads = huge}); },
                 {op, "x.shape[-1]=8", "num_kv_heads=2147483648"});
    expect_error(
        [&] { experimental::nlp_create_qkv_heads(q_only, 4, {.input_kv = wrong_kv, .num_kv_heads = huge}); },
        {op, "input_kv.shape=Shape([1, 1, 4, 48])", "num_kv_heads=2147483648"});
    expect_error([&] { experimental::nlp_create_qkv_heads(q_only, 3, {.input_kv = wrong_kv}); },
                 {op, "x.shape[-1]=64", "num_heads=3"});
    expect_error([&] { experimental::nlp_create_qkv_heads(q_only, 4, {.input_kv = from_device(wrong_kv)}); },
                 {op, "input_kv", "host tensor"});
}

TEST(NlpCreateQkvHeads, SecondIdenticalCallHitsProgramCache) {
    Tensor x = random_tensor({1, 1, 7, 5 * 12}, {DataType::BFLOAT16, Layout::TILE}, 67);
    testing::expect_second_call_hits_cache(
        [&] { experimental::nlp_create_qkv_heads(x, 3, {.num_kv_heads = 1}); });
}

struct DecodeCase {
    uint32_t users, num_heads, num_kv_heads, head_dim;
};

// One user; users off and on the tile grid; MQA, GQA, MHA; Llama-3-8B's 32/8 x 128.
const std::vector<DecodeCase> decode_cases = {{1, 8, 1, 64}, {5, 4, 2, 80}, {33, 8, 8, 96}, {32, 32, 8, 128}};

class NlpCreateQkvHeadsDecodeMatchesReference
    : public ::testing::TestWithParam<std::tuple<kernels::Isa, Format, DecodeCase>> {};

TEST_P(NlpCreateQkvHeadsDecodeMatchesReference, CutsEachUsersRowIntoHeads) {
    auto [isa, format, c] = GetParam();
    testing::ScopedIsa scoped(isa);
    const uint32_t width = (c.num_heads + 2 * c.num_kv_heads) * c.head_dim;
    Tensor x = random_tensor({1, 1, c.users, width}, format, 68);
    auto [q, k, v] =
        experimental::nlp_create_qkv_heads_decode(x, c.num_heads, {.num_kv_heads = c.num_kv_heads});
    auto [rq, rk, rv] =
        reference::nlp_create_qkv_heads_decode(reference::from_tensor(x), c.num_heads, c.num_kv_heads);
    for (const Tensor* t : {&q, &k, &v}) {
        EXPECT_EQ(t->dtype(), x.dtype());
        EXPECT_EQ(t->layout(), x.layout());
    }
    expect_exact(q, rq);
    expect_exact(k, rk);
    expect_exact(v, rv);
}

INSTANTIATE_TEST_SUITE_P(AllIsasFormats, NlpCreateQkvHeadsDecodeMatchesReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::ValuesIn(all_formats()),
                                            ::testing::ValuesIn(decode_cases)),
                         [](const auto& info) {
                             return isa_format_name(std::get<0>(info.param), std::get<1>(info.param),
                                                    info.index);
                         });

TEST(NlpCreateQkvHeadsDecode, DefaultsToAsManyKvHeads) {
    Tensor x = random_tensor({1, 1, 3, 3 * 4 * 16}, f32_rm, 69);
    auto [q, k, v] = experimental::nlp_create_qkv_heads_decode(x, 4);
    EXPECT_EQ(q.shape(), (Shape{1, 3, 4, 16}));
    EXPECT_EQ(k.shape(), (Shape{1, 3, 4, 16}));
    EXPECT_EQ(v.shape(), (Shape{1, 3, 4, 16}));
}

TEST(NlpCreateQkvHeadsDecode, InvalidArgumentsAreRejected) {
    const char* op = "nlp_create_qkv_heads_decode";
    Tensor x = random_tensor({1, 1, 4, 1000}, f32_rm, 70);
    expect_error([&] { experimental::nlp_create_qkv_heads_decode(x, 8, {.num_kv_heads = 2}); },
                 {op, "x.shape[-1]=1000", "num_heads=8", "num_kv_heads=2"});
    expect_error([&] { experimental::nlp_create_qkv_heads_decode(x, 0); }, {op, "num_heads=0"});
    Tensor x8 = random_tensor({1, 1, 1, 8}, f32_rm, 72);  // 2 + 2 * 2^31 heads wrap to 2 in uint32
    expect_error([&] { experimental::nlp_create_qkv_heads_decode(x8, 2, {.num_kv_heads = 0x80000000u}); },
                 {op, "x.shape[-1]=8", "num_kv_heads=2147483648"});
    Tensor prefill = random_tensor({2, 1, 4, 96}, f32_rm, 71);
    expect_error([&] { experimental::nlp_create_qkv_heads_decode(prefill, 1); },
                 {op, "x.shape=Shape([2, 1, 4, 96])", "[1, 1, B"});
    expect_error([&] { experimental::nlp_create_qkv_heads_decode(from_device(x), 1); }, {op, "host tensor"});
    // More KV heads than query heads (TT-NN refuses it too): 1 + 2 * 4 heads of 32.
    Tensor x288 = random_tensor({1, 1, 2, 288}, f32_rm, 73);
    expect_error([&] { experimental::nlp_create_qkv_heads_decode(x288, 1, {.num_kv_heads = 4}); },
                 {op, "num_kv_heads=4", "must be <= num_heads=1"});
}

class NlpConcatHeadsMatchesReference
    : public ::testing::TestWithParam<std::tuple<kernels::Isa, Format, std::vector<uint32_t>>> {};

TEST_P(NlpConcatHeadsMatchesReference, JoinsHeadsPerToken) {
    auto [isa, format, shape] = GetParam();
    testing::ScopedIsa scoped(isa);
    Tensor x = random_tensor(shape, format, 72);
    Tensor y = experimental::nlp_concat_heads(x);
    EXPECT_EQ(y.dtype(), x.dtype());
    EXPECT_EQ(y.layout(), x.layout());
    expect_exact(y, reference::nlp_concat_heads(reference::from_tensor(x)));
}

INSTANTIATE_TEST_SUITE_P(AllIsasFormats, NlpConcatHeadsMatchesReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::ValuesIn(all_formats()),
                                            ::testing::Values(std::vector<uint32_t>{1, 1, 1, 64},
                                                              std::vector<uint32_t>{2, 8, 33, 80},
                                                              std::vector<uint32_t>{3, 4, 31, 96},
                                                              std::vector<uint32_t>{1, 2, 2011, 64},
                                                              std::vector<uint32_t>{1, 2, 32, 128})),
                         [](const auto& info) {
                             return isa_format_name(std::get<0>(info.param), std::get<1>(info.param),
                                                    info.index);
                         });

TEST(NlpConcatHeads, UndoesCreateQkvHeadsForQ) {
    Tensor x = random_tensor({2, 1, 9, (4 + 2 * 2) * 16}, {DataType::BFLOAT16, Layout::TILE}, 73);
    auto [q, k, v] = experimental::nlp_create_qkv_heads(x, 4, {.num_kv_heads = 2});
    Tensor joined = experimental::nlp_concat_heads(q);
    ASSERT_EQ(joined.shape(), (Shape{2, 1, 9, 4 * 16}));
    const std::vector<float> fused = to_host<float>(x), got = to_host<float>(joined);
    for (uint32_t row = 0; row < 2 * 9; ++row)
        for (uint32_t c = 0; c < 4 * 16; ++c) ASSERT_EQ(got[row * 64 + c], fused[row * 128 + c]);
}

TEST(NlpConcatHeads, InvalidArgumentsAreRejected) {
    const char* op = "nlp_concat_heads";
    Tensor x3 = random_tensor({2, 4, 8}, f32_rm, 74);
    expect_error([&] { experimental::nlp_concat_heads(x3); }, {op, "x.shape=Shape([2, 4, 8])", "rank 4"});
    Tensor x = random_tensor({1, 2, 4, 8}, f32_rm, 75);
    expect_error([&] { experimental::nlp_concat_heads(from_device(x)); }, {op, "host tensor"});
}

// The joined width of the concat ops (heads * head_dim) is checked in 64 bits: it used to wrap
// in uint32 to a short output row. (A tensor that wide would take gigabytes, so the shared
// check is tested directly; every concat op computes its width through it.)
TEST(ConcatHeads, JoinedWidthMustFitA32BitDim) {
    EXPECT_EQ(detail::joined_width("nlp_concat_heads", 32, 128), 4096u);
    EXPECT_EQ(detail::joined_width("nlp_concat_heads", 65535, 65537), 4294967295u);
    expect_error([] { detail::joined_width("nlp_concat_heads", 65536, 65536); },
                 {"nlp_concat_heads", "num_heads * head_dim=65536 * 65536 = 4294967296", "32-bit dim"});
}

struct ConcatDecodeCase {
    std::vector<uint32_t> shape;  // [1, B, nh_padded, dh]
    uint32_t num_heads;
};

class NlpConcatHeadsDecodeMatchesReference
    : public ::testing::TestWithParam<std::tuple<kernels::Isa, Format, ConcatDecodeCase>> {};

TEST_P(NlpConcatHeadsDecodeMatchesReference, JoinsTheFirstNumHeadsOfEachUser) {
    auto [isa, format, c] = GetParam();
    testing::ScopedIsa scoped(isa);
    Tensor x = random_tensor(c.shape, format, 76);
    Tensor y = experimental::nlp_concat_heads_decode(x, c.num_heads);
    EXPECT_EQ(y.dtype(), x.dtype());
    EXPECT_EQ(y.layout(), x.layout());
    expect_exact(y, reference::nlp_concat_heads_decode(reference::from_tensor(x), c.num_heads));
}

// Heads padded to a tile (TT-NN's decode layout), unpadded, and users off the tile grid.
INSTANTIATE_TEST_SUITE_P(AllIsasFormats, NlpConcatHeadsDecodeMatchesReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::ValuesIn(all_formats()),
                                            ::testing::Values(ConcatDecodeCase{{1, 5, 32, 64}, 8},
                                                              ConcatDecodeCase{{1, 1, 4, 128}, 4},
                                                              ConcatDecodeCase{{1, 33, 12, 80}, 11},
                                                              ConcatDecodeCase{{1, 2, 32, 96}, 32})),
                         [](const auto& info) {
                             return isa_format_name(std::get<0>(info.param), std::get<1>(info.param),
                                                    info.index);
                         });

TEST(NlpConcatHeadsDecode, UndoesCreateQkvHeadsDecodeForQ) {
    Tensor x = random_tensor({1, 1, 6, (8 + 2 * 1) * 32}, {DataType::FLOAT32, Layout::TILE}, 77);
    auto [q, k, v] = experimental::nlp_create_qkv_heads_decode(x, 8, {.num_kv_heads = 1});
    Tensor joined = experimental::nlp_concat_heads_decode(q, 8);
    ASSERT_EQ(joined.shape(), (Shape{1, 1, 6, 8 * 32}));
    const std::vector<float> fused = to_host<float>(x), got = to_host<float>(joined);
    for (uint32_t u = 0; u < 6; ++u)
        for (uint32_t c = 0; c < 8 * 32; ++c) ASSERT_EQ(got[u * 256 + c], fused[u * 320 + c]);
}

TEST(NlpConcatHeadsDecode, InvalidArgumentsAreRejected) {
    const char* op = "nlp_concat_heads_decode";
    Tensor x = random_tensor({1, 2, 8, 16}, f32_rm, 78);
    expect_error([&] { experimental::nlp_concat_heads_decode(x, 9); }, {op, "num_heads=9", "x.shape[2]=8"});
    expect_error([&] { experimental::nlp_concat_heads_decode(x, 0); }, {op, "num_heads=0"});
    Tensor prefill = random_tensor({2, 2, 8, 16}, f32_rm, 79);
    expect_error([&] { experimental::nlp_concat_heads_decode(prefill, 2); },
                 {op, "x.shape=Shape([2, 2, 8, 16])"});
    expect_error([&] { experimental::nlp_concat_heads_decode(from_device(x), 2); }, {op, "host tensor"});
}

TEST(NlpConcatHeadsDecode, SecondIdenticalCallHitsProgramCache) {
    Tensor x = random_tensor({1, 3, 32, 48}, {DataType::BFLOAT16, Layout::TILE}, 80);
    testing::expect_second_call_hits_cache([&] { experimental::nlp_concat_heads_decode(x, 5); });
}

}  // namespace
}  // namespace attnn
