#include <cmath>
#include <string>

#include "paged_cache.hpp"
#include "reference/attention.hpp"
#include "sdpa_inputs.hpp"
#include "test_util.hpp"

namespace attnn {
namespace {

using reference::Array;
using testing::expect_error;
using testing::test_device;
using transformer::scaled_dot_product_attention;
using transformer::SDPAProgramConfig;

using testing::sdpa_input;

struct SdpaCase {
    uint32_t b, nqh, nkv, sq, sk, dh;
    bool causal;
    uint32_t q_chunk = 0, k_chunk = 0;
};

std::ostream& operator<<(std::ostream& os, const SdpaCase& c) {
    return os << "b" << c.b << "_h" << c.nqh << "_kv" << c.nkv << "_sq" << c.sq << "_sk" << c.sk << "_dh"
              << c.dh << (c.causal ? "_causal" : "") << "_qc" << c.q_chunk << "_kc" << c.k_chunk;
}

// Checks one call against the fp64 reference on the stored (already rounded) inputs: the
// remaining error is fp32 compute plus the output's own rounding.
void check(const SdpaCase& c, DataType q_dtype, DataType kv_dtype, double min_pcc, double max_err,
           bool approx = false) {
    Tensor q = sdpa_input({c.b, c.nqh, c.sq, c.dh}, q_dtype, 1),
           k = sdpa_input({c.b, c.nkv, c.sk, c.dh}, kv_dtype, 2),
           v = sdpa_input({c.b, c.nkv, c.sk, c.dh}, kv_dtype, 3);
    SDPAProgramConfig config{.q_chunk_size = c.q_chunk, .k_chunk_size = c.k_chunk, .exp_approx_mode = approx};
    Tensor out = scaled_dot_product_attention(q, k, v, {.is_causal = c.causal, .program_config = config});
    ASSERT_EQ(out.shape(), q.shape());
    Array expect =
        reference::sdpa(reference::from_tensor(q), reference::from_tensor(k), reference::from_tensor(v),
                        nullptr, c.causal, 1.0 / std::sqrt(double(c.dh)));
    auto got = to_host<double>(out);
    EXPECT_GE(reference::pcc(expect.values, got), min_pcc) << c;
    EXPECT_LE(reference::max_abs_diff(expect.values, got), max_err) << c;
}

class SdpaShapes : public ::testing::TestWithParam<std::tuple<kernels::Isa, SdpaCase>> {};

TEST_P(SdpaShapes, Float32MatchesFp64) {
    auto [isa, c] = GetParam();
    testing::ScopedIsa scoped(isa);
    check(c, DataType::FLOAT32, DataType::FLOAT32, 0.9999, 2e-5);
}

INSTANTIATE_TEST_SUITE_P(
    AwkwardShapes, SdpaShapes,
    ::testing::Combine(
        ::testing::ValuesIn(kernels::supported_isas()),
        ::testing::Values(SdpaCase{1, 1, 1, 1, 1, 1, false}, SdpaCase{1, 1, 1, 1, 1, 1, true},
                          SdpaCase{1, 2, 1, 31, 31, 31, true}, SdpaCase{2, 4, 1, 33, 33, 80, false},
                          SdpaCase{1, 8, 2, 160, 160, 96, true},  // GQA 4
                          SdpaCase{1, 8, 1, 70, 130, 64, true},   // MQA, sq < sk
                          SdpaCase{1, 2, 2, 100, 300, 128, false, 32, 64},
                          SdpaCase{2, 4, 2, 97, 97, 40, true, 17, 45},  // chunks not dividing s
                          SdpaCase{1, 1, 1, 2011, 2011, 64, true}, SdpaCase{1, 2, 1, 5, 2011, 256, false})),
    [](const auto& info) {
        std::ostringstream os;
        os << kernels::isa_name(std::get<0>(info.param)) << "_" << std::get<1>(info.param);
        return os.str();
    });

TEST(Sdpa, Bfloat16InputsMeetTtnnThreshold) {
    check({1, 8, 2, 160, 160, 128, true}, DataType::BFLOAT16, DataType::BFLOAT16, 0.999, 0.02);
    check({2, 4, 4, 200, 200, 64, false, 64, 128}, DataType::BFLOAT16, DataType::BFLOAT16, 0.999, 0.02);
}

TEST(Sdpa, Bfloat8KvCacheMeetsTtnnThreshold) {
    check({1, 8, 1, 130, 260, 96, true}, DataType::BFLOAT16, DataType::BFLOAT8_B, 0.99, 0.05);
    check({1, 4, 2, 64, 64, 64, false}, DataType::FLOAT32, DataType::BFLOAT4_B, 0.99, 0.05);
}

TEST(Sdpa, ExpApproxModeStaysWithinItsBound) {
    // The cubic 2^f has relative error < 1.7e-4 per weight; softmax normalises it away to first
    // order, so outputs move by well under 1e-3 of their scale.
    check({1, 4, 1, 300, 300, 64, true}, DataType::FLOAT32, DataType::FLOAT32, 0.99999, 2e-3, true);
}

TEST(Sdpa, MasksBroadcastAndFullyMaskedRowsGiveZeros) {
    const uint32_t b = 2, h = 4, sq = 37, sk = 50, dh = 33;
    Tensor q = sdpa_input({b, h, sq, dh}, DataType::FLOAT32, 4),
           k = sdpa_input({b, 2, sk, dh}, DataType::FLOAT32, 5),
           v = sdpa_input({b, 2, sk, dh}, DataType::FLOAT32, 6);
    for (std::vector<uint32_t> mdims :
         {std::vector<uint32_t>{1, 1, sq, sk}, {b, 1, sq, sk}, {b, h, sq, sk}}) {
        Shape ms(mdims);
        std::vector<float> mask = testing::random_values(ms.volume(), 9, -3.0f, 1.0f);
        // Row 3 of every mask matrix: all keys masked.
        for (std::size_t m = 0; m < ms.volume() / (sq * sk); ++m)
            for (uint32_t j = 0; j < sk; ++j) mask[(m * sq + 3) * sk + j] = -INFINITY;
        Tensor tm = from_host(std::span<const float>(mask), ms,
                              {.dtype = DataType::BFLOAT16,
                               .layout = Layout::TILE,
                               .device = test_device(),
                               .pad_value = -INFINITY});
        Tensor out = scaled_dot_product_attention(q, k, v, {.attn_mask = tm, .is_causal = false});
        Array rm = reference::from_tensor(tm);
        Array expect = reference::sdpa(reference::from_tensor(q), reference::from_tensor(k),
                                       reference::from_tensor(v), &rm, false, 1.0 / std::sqrt(double(dh)));
        auto got = to_host<double>(out);
        EXPECT_LE(reference::max_abs_diff(expect.values, got), 2e-5) << ms;
        for (uint32_t bi = 0; bi < b; ++bi)
            for (uint32_t hi = 0; hi < h; ++hi)
                for (uint32_t d = 0; d < dh; ++d) EXPECT_EQ(got[((bi * h + hi) * sq + 3) * dh + d], 0.0);
    }
}

TEST(Sdpa, ProgramCacheReusesTheProgram) {
    Device& device = test_device();
    bool was = device.program_cache_enabled();
    device.enable_program_cache();
    Tensor q = sdpa_input({1, 2, 40, 32}, DataType::BFLOAT16, 1),
           k = sdpa_input({1, 1, 40, 32}, DataType::BFLOAT16, 2);
    auto first = to_host<float>(scaled_dot_product_attention(q, k, k));
    std::size_t entries = device.num_program_cache_entries(), hits = device.program_cache_hits();
    auto second = to_host<float>(scaled_dot_product_attention(q, k, k));
    EXPECT_EQ(first, second);
    EXPECT_EQ(device.num_program_cache_entries(), entries);
    EXPECT_EQ(device.program_cache_hits(), hits + 1);
    if (!was) device.disable_and_clear_program_cache();
}

TEST(Sdpa, BadInputsAreRejected) {
    Tensor q = sdpa_input({1, 4, 8, 16}, DataType::FLOAT32, 1),
           k = sdpa_input({1, 3, 8, 16}, DataType::FLOAT32, 2);
    const char* op = "scaled_dot_product_attention";
    expect_error([&] { scaled_dot_product_attention(q, k, k); }, {op, "q.shape[1]=4", "k.shape[1]=3"});
    Tensor k2 = sdpa_input({1, 2, 8, 16}, DataType::FLOAT32, 3),
           v2 = sdpa_input({1, 2, 9, 16}, DataType::FLOAT32, 4);
    expect_error([&] { scaled_dot_product_attention(q, k2, v2); }, {op, "same shape"});
    Tensor kd = sdpa_input({1, 2, 8, 24}, DataType::FLOAT32, 5);
    expect_error([&] { scaled_dot_product_attention(q, kd, kd); }, {op, "head dim"});
    Tensor short_k = sdpa_input({1, 2, 4, 16}, DataType::FLOAT32, 6);
    expect_error([&] { scaled_dot_product_attention(q, short_k, short_k); }, {op, "sq <= sk"});
    Tensor mask = sdpa_input({1, 1, 8, 8}, DataType::FLOAT32, 7);
    expect_error([&] { scaled_dot_product_attention(q, k2, k2, {.attn_mask = mask}); }, {op, "exclude"});
    Tensor bad_mask = sdpa_input({1, 1, 8, 7}, DataType::FLOAT32, 8);
    expect_error(
        [&] { scaled_dot_product_attention(q, k2, k2, {.attn_mask = bad_mask, .is_causal = false}); },
        {op, "attn_mask must be"});
    Tensor q3 = sdpa_input({4, 8, 16}, DataType::FLOAT32, 9);
    expect_error([&] { scaled_dot_product_attention(q3, k2, k2); }, {op, "4-d"});
    expect_error([&] { scaled_dot_product_attention(q, k2, k2, {.scale = NAN}); }, {op, "scale"});
    const SDPAProgramConfig no_cores{.compute_with_storage_grid_size = CoreGrid{.y = 0, .x = 4}};
    expect_error([&] { scaled_dot_product_attention(q, k2, k2, {.program_config = no_cores}); },
                 {op, "compute_with_storage_grid_size must have at least one core", "y=0 x=4"});
}

}  // namespace
}  // namespace attnn

namespace attnn {
namespace {

// An Inf or NaN in V reaches exactly the queries that see its key: the rows before it (causal)
// and those whose window has passed it keep their values, though they share the key's chunk
// and microkernel panel with rows that see it (where their P is 0, and 0 x Inf is NaN).
class SdpaNonFiniteValue : public ::testing::TestWithParam<std::tuple<kernels::Isa, DataType, uint32_t>> {};

TEST_P(SdpaNonFiniteValue, ReachesOnlyTheQueriesThatSeeItsKey) {
    auto [isa, dtype, window] = GetParam();
    testing::ScopedIsa scoped(isa);
    const uint32_t nqh = 4, nkv = 2, s = 70, dh = 40, group = nqh / nkv, key = 45, column = 7;
    auto v_host = reference::ttnn_sdpa_inputs(std::size_t(nkv) * s * dh, 32);
    v_host[(std::size_t(1) * s + key) * dh + column] = INFINITY;  // KV head 1
    v_host[(std::size_t(0) * s + key + 1) * dh + column] = NAN;   // KV head 0, the next key
    Tensor q = sdpa_input({1, nqh, s, dh}, DataType::FLOAT32, 30), k = sdpa_input({1, nkv, s, dh}, dtype, 31),
           v = from_host(std::span<const float>(v_host), Shape{1, nkv, s, dh},
                         {.dtype = dtype, .layout = Layout::TILE, .device = test_device()});
    Array want =
        reference::sdpa(reference::from_tensor(q), reference::from_tensor(k), reference::from_tensor(v),
                        nullptr, true, 1.0 / std::sqrt(double(dh)), {.window = window});
    for (uint32_t chunk : {0u, 32u}) {
        SCOPED_TRACE("chunk " + std::to_string(chunk));
        auto got = to_host<double>(scaled_dot_product_attention(
            q, k, v,
            {.is_causal = true,
             .sliding_window_size = window ? std::optional<uint32_t>(window) : std::nullopt,
             .program_config = SDPAProgramConfig{.q_chunk_size = chunk, .k_chunk_size = chunk}}));
        double largest = 0, err = 0;
        int64_t nonfinite = 0;
        for (uint32_t h = 0; h < nqh; ++h)
            for (uint32_t i = 0; i < s; ++i) {
                const uint32_t bad = h / group == 1 ? key : key + 1;
                const bool sees = i >= bad && (window == 0 || i < bad + window);
                for (uint32_t d = 0; d < dh; ++d) {
                    const std::size_t o = (std::size_t(h) * s + i) * dh + d;
                    if (sees && d == column) {
                        EXPECT_FALSE(std::isfinite(want.values[o]));
                        EXPECT_FALSE(std::isfinite(got[o])) << "head " << h << " query " << i;
                        ++nonfinite;
                        continue;
                    }
                    ASSERT_TRUE(std::isfinite(want.values[o]));
                    ASSERT_TRUE(std::isfinite(got[o])) << "head " << h << " query " << i << " column " << d;
                    largest = std::max(largest, std::fabs(want.values[o]));
                    err = std::max(err, std::fabs(want.values[o] - got[o]));
                }
            }
        EXPECT_GT(nonfinite, 0);
        EXPECT_LE(err, (dtype == DataType::FLOAT32 ? 2e-5 : 1e-2) * largest);
    }
}

INSTANTIATE_TEST_SUITE_P(Values, SdpaNonFiniteValue,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::Values(DataType::FLOAT32, DataType::BFLOAT16),
                                            ::testing::Values(0u, 8u)),
                         [](const auto& info) {
                             return std::string(kernels::isa_name(std::get<0>(info.param))) + "_" +
                                    to_string(std::get<1>(info.param)).substr(10) + "_window" +
                                    std::to_string(std::get<2>(info.param));
                         });

// A chunk of each user's sequence against a paged cache equals causal SDPA over the logical
// cache with the chunk's queries as the last positions; with a window (over absolute
// positions) and sinks, windowed causal SDPA with those sinks.
TEST(ChunkedSdpa, MatchesCausalAttentionOverTheLogicalCache) {
    const uint32_t b = 2, nqh = 8, nkv = 2, S = 192, dh = 64, block = 32, chunk = 50, start = 96;
    Tensor lk = sdpa_input({b, nkv, S, dh}, DataType::BFLOAT16, 21),
           lv = sdpa_input({b, nkv, S, dh}, DataType::BFLOAT16, 22);
    Array ak = reference::from_tensor(lk), av = reference::from_tensor(lv);
    testing::PagedCache paged = testing::page(ak, av, block, DataType::BFLOAT16, 23);
    Tensor q = sdpa_input({b, nqh, chunk, dh}, DataType::FLOAT32, 24);
    Tensor out =
        transformer::chunked_scaled_dot_product_attention(q, paged.k, paged.v, paged.page_table, start);
    // Reference: keys 0 .. start + chunk - 1 of the logical cache, queries as the last `chunk` positions.
    const Array kk = reference::first_positions(ak, start + chunk),
                vv = reference::first_positions(av, start + chunk);
    Array expect =
        reference::sdpa(reference::from_tensor(q), kk, vv, nullptr, true, 1.0 / std::sqrt(double(dh)));
    auto got = to_host<double>(out);
    EXPECT_LE(reference::max_abs_diff(expect.values, got), 2e-5);
    const std::vector<float> sinks = testing::sink_values(nqh, dh);
    const std::vector<double> wide = testing::scaled(sinks, dh);
    for (uint32_t window : {1u, 40u, 120u}) {
        SCOPED_TRACE("window " + std::to_string(window));
        auto windowed = to_host<double>(transformer::chunked_scaled_dot_product_attention(
            q, paged.k, paged.v, paged.page_table, start,
            {.sliding_window_size = window,
             .attention_sink = testing::sink_tensor(sinks),
             .program_config = SDPAProgramConfig{.q_chunk_size = 32, .k_chunk_size = 32}}));
        Array want = reference::sdpa(reference::from_tensor(q), kk, vv, nullptr, true,
                                     1.0 / std::sqrt(double(dh)), {.window = window, .sinks = &wide});
        EXPECT_LE(reference::max_abs_diff(want.values, windowed), 2e-5);
    }
    expect_error(
        [&] {
            transformer::chunked_scaled_dot_product_attention(q, paged.k, paged.v, paged.page_table, 150);
        },
        {"chunked_scaled_dot_product_attention", "beyond the cache"});
}

}  // namespace
}  // namespace attnn
