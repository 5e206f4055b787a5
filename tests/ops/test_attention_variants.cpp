// TT-NN's sliding_window_size and attention_sink in flash attention, chunked prefill, flash
// decode and paged flash decode, against the fp64 reference.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "paged_cache.hpp"
#include "reference/attention.hpp"
#include "sdpa_inputs.hpp"
#include "test_util.hpp"

namespace attnn {
namespace {

using reference::Array;
using testing::expect_error;
using testing::test_device;
using transformer::SDPAProgramConfig;

using testing::scaled;
using testing::sdpa_input;
using testing::sink_tensor;
using testing::sink_values;

struct WindowCase {
    uint32_t b, nqh, nkv, sq, sk, dh, window;
    uint32_t q_chunk = 0, k_chunk = 0;
};
std::ostream& operator<<(std::ostream& os, const WindowCase& c) {
    return os << "b" << c.b << "_h" << c.nqh << "_kv" << c.nkv << "_sq" << c.sq << "_sk" << c.sk << "_dh"
              << c.dh << "_w" << c.window << "_qc" << c.q_chunk << "_kc" << c.k_chunk;
}

class SdpaWindow : public ::testing::TestWithParam<std::tuple<kernels::Isa, WindowCase>> {};

// Each query sees its last `window` positions only, with and without sinks; K chunks before a
// Q chunk's windows are skipped and the window's lower edge is masked inside a chunk.
TEST_P(SdpaWindow, MatchesReferenceWithAndWithoutSinks) {
    auto [isa, c] = GetParam();
    testing::ScopedIsa scoped(isa);
    Tensor q = sdpa_input({c.b, c.nqh, c.sq, c.dh}, DataType::FLOAT32, 1),
           k = sdpa_input({c.b, c.nkv, c.sk, c.dh}, DataType::FLOAT32, 2),
           v = sdpa_input({c.b, c.nkv, c.sk, c.dh}, DataType::FLOAT32, 3);
    const SDPAProgramConfig config{.q_chunk_size = c.q_chunk, .k_chunk_size = c.k_chunk};
    const std::vector<float> sinks = sink_values(c.nqh, c.dh);
    const std::vector<double> wide = scaled(sinks, c.dh);
    for (bool with_sinks : {false, true}) {
        SCOPED_TRACE(with_sinks ? "with sinks" : "no sinks");
        transformer::SDPAOptions o{
            .is_causal = true, .sliding_window_size = c.window, .program_config = config};
        if (with_sinks) o.attention_sink = sink_tensor(sinks);
        auto got = to_host<double>(transformer::scaled_dot_product_attention(q, k, v, o));
        Array want = reference::sdpa(reference::from_tensor(q), reference::from_tensor(k),
                                     reference::from_tensor(v), nullptr, true, 1.0 / std::sqrt(double(c.dh)),
                                     {.window = c.window, .sinks = with_sinks ? &wide : nullptr});
        EXPECT_LE(reference::max_abs_diff(want.values, got), 2e-5) << c;
        EXPECT_GE(reference::pcc(want.values, got), 0.9999) << c;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Windows, SdpaWindow,
    ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                       ::testing::Values(WindowCase{1, 1, 1, 1, 1, 1, 1},
                                         WindowCase{1, 4, 2, 33, 33, 33, 1},            // the diagonal alone
                                         WindowCase{1, 4, 2, 300, 300, 64, 7, 32, 32},  // most chunks skipped
                                         WindowCase{2, 8, 2, 160, 160, 80, 100},  // GQA 4, default chunks
                                         WindowCase{1, 4, 1, 70, 200, 96, 64, 32, 64},  // sq < sk
                                         WindowCase{1, 2, 1, 97, 97, 40, 33, 17,
                                                    45},                         // chunks not dividing s
                                         WindowCase{1, 2, 2, 50, 50, 32, 1000},  // wider than the sequence
                                         WindowCase{1, 1, 1, 2011, 2011, 64, 256})),
    [](const auto& info) {
        std::ostringstream os;
        os << kernels::isa_name(std::get<0>(info.param)) << "_" << std::get<1>(info.param);
        return os.str();
    });

// A window as wide as the sequence (or none: 0) is plain causal attention, bit for bit.
TEST(SdpaWindow, WideOrZeroWindowIsPlainCausal) {
    Tensor q = sdpa_input({1, 4, 65, 32}, DataType::BFLOAT16, 4),
           k = sdpa_input({1, 2, 65, 32}, DataType::BFLOAT16, 5);
    auto plain = to_host<float>(transformer::scaled_dot_product_attention(q, k, k));
    for (uint32_t w : {0u, 65u, 5000u})
        EXPECT_EQ(
            to_host<float>(transformer::scaled_dot_product_attention(q, k, k, {.sliding_window_size = w})),
            plain)
            << w;
}

// Sinks with a mask (non-causal), including a row whose keys are all masked (zeros, sink or not).
TEST(SdpaSinks, WithMasksAndFullyMaskedRows) {
    const uint32_t b = 2, h = 6, sq = 37, sk = 50, dh = 33;
    Tensor q = sdpa_input({b, h, sq, dh}, DataType::FLOAT32, 6),
           k = sdpa_input({b, 3, sk, dh}, DataType::FLOAT32, 7),
           v = sdpa_input({b, 3, sk, dh}, DataType::FLOAT32, 8);
    std::vector<float> mask = testing::random_values(std::size_t(b) * sq * sk, 9, -3.0f, 1.0f);
    for (uint32_t bi = 0; bi < b; ++bi)
        for (uint32_t j = 0; j < sk; ++j) mask[(bi * sq + 3) * sk + j] = -INFINITY;
    Tensor tm = from_host(std::span<const float>(mask), Shape{b, 1, sq, sk},
                          {.dtype = DataType::FLOAT32, .layout = Layout::TILE, .device = test_device()});
    const std::vector<float> sinks = sink_values(h, dh);
    const std::vector<double> wide = scaled(sinks, dh);
    auto got = to_host<double>(transformer::scaled_dot_product_attention(
        q, k, v, {.attn_mask = tm, .is_causal = false, .attention_sink = sink_tensor(sinks)}));
    Array rm = reference::from_tensor(tm);
    Array want =
        reference::sdpa(reference::from_tensor(q), reference::from_tensor(k), reference::from_tensor(v), &rm,
                        false, 1.0 / std::sqrt(double(dh)), {.sinks = &wide});
    EXPECT_LE(reference::max_abs_diff(want.values, got), 2e-5);
    for (uint32_t bi = 0; bi < b; ++bi)
        for (uint32_t hi = 0; hi < h; ++hi)
            for (uint32_t d = 0; d < dh; ++d) EXPECT_EQ(got[((bi * h + hi) * sq + 3) * dh + d], 0.0);
    // A sink of +inf takes every row's whole weight; one of -inf is no sink at all.
    std::vector<float> extreme(h, INFINITY);
    extreme[1] = -INFINITY;
    auto zeros = to_host<double>(transformer::scaled_dot_product_attention(
        q, k, v, {.attn_mask = tm, .is_causal = false, .attention_sink = sink_tensor(extreme)}));
    auto plain = to_host<double>(
        transformer::scaled_dot_product_attention(q, k, v, {.attn_mask = tm, .is_causal = false}));
    for (uint32_t bi = 0; bi < b; ++bi)
        for (uint32_t hi = 0; hi < h; ++hi)
            for (uint32_t i = 0; i < sq * dh; ++i) {
                const std::size_t at = (std::size_t(bi) * h + hi) * sq * dh + i;
                ASSERT_EQ(zeros[at], hi == 1 ? plain[at] : 0.0) << bi << " " << hi << " " << i;
            }
}

// ---- decode ----

// User i's query against positions max(0, pos - window + 1) .. pos of the logical cache
// [b, nkv, S, dh] (values as stored); a skipped user (-1) gets zeros.
std::vector<double> expected_decode(const Array& q, const Array& cache_k, const Array& cache_v,
                                    const std::vector<int32_t>& pos, uint32_t window,
                                    const std::vector<double>* sinks) {
    const uint32_t b = q.shape[1], nqh = q.shape[2], dh = q.shape[3], nkv = cache_k.shape[1],
                   S = cache_k.shape[2];
    std::vector<double> out(q.values.size(), 0.0);
    for (uint32_t i = 0; i < b; ++i) {
        if (pos[i] < 0) continue;
        const uint32_t end = uint32_t(pos[i]) + 1, first = window && end > window ? end - window : 0,
                       len = end - first;
        Array qi{{1, nqh, 1, dh}, {q.values.begin() + i * nqh * dh, q.values.begin() + (i + 1) * nqh * dh}};
        Array ki{{1, nkv, len, dh}, {}}, vi{{1, nkv, len, dh}, {}};
        for (uint32_t h = 0; h < nkv; ++h) {
            auto base = ((std::size_t(i) * nkv + h) * S + first) * dh;
            ki.values.insert(ki.values.end(), cache_k.values.begin() + base,
                             cache_k.values.begin() + base + len * dh);
            vi.values.insert(vi.values.end(), cache_v.values.begin() + base,
                             cache_v.values.begin() + base + len * dh);
        }
        Array o = reference::sdpa(qi, ki, vi, nullptr, false, 1.0 / std::sqrt(double(dh)), {.sinks = sinks});
        std::copy(o.values.begin(), o.values.end(), out.begin() + i * nqh * dh);
    }
    return out;
}

struct DecodeWindowCase {
    uint32_t b, nqh, nkv, S, dh;
    std::vector<int32_t> cur_pos;
    uint32_t window, k_chunk = 0;
};
std::ostream& operator<<(std::ostream& os, const DecodeWindowCase& c) {
    os << "b" << c.b << "_h" << c.nqh << "_kv" << c.nkv << "_S" << c.S << "_dh" << c.dh << "_w" << c.window
       << "_kc" << c.k_chunk;
    return os;
}

class DecodeWindow : public ::testing::TestWithParam<std::tuple<kernels::Isa, DataType, DecodeWindowCase>> {};

// Contiguous and paged (shuffled 32-position blocks, and ROW_MAJOR) caches, with and without
// sinks: windows that start mid-chunk and mid-band, a sequence split over the workers inside
// the window, a skipped user, windows wider than the position.
TEST_P(DecodeWindow, ContiguousAndPagedMatchReference) {
    auto [isa, dtype, c] = GetParam();
    testing::ScopedIsa scoped(isa);
    Tensor q = sdpa_input({1, c.b, c.nqh, c.dh}, DataType::BFLOAT16, 31);
    Tensor k = sdpa_input({c.b, c.nkv, c.S, c.dh}, dtype, 32),
           v = sdpa_input({c.b, c.nkv, c.S, c.dh}, dtype, 33);
    Array aq = reference::from_tensor(q), ak = reference::from_tensor(k), av = reference::from_tensor(v);
    const std::vector<float> sinks = sink_values(c.nqh, c.dh);
    const std::vector<double> wide = scaled(sinks, c.dh);
    const SDPAProgramConfig config{.k_chunk_size = c.k_chunk};
    const double pcc_floor = dtype == DataType::BFLOAT8_B ? 0.99 : 0.999;  // output BFLOAT16, like q
    for (bool with_sinks : {false, true}) {
        SCOPED_TRACE(with_sinks ? "with sinks" : "no sinks");
        transformer::SDPADecodeOptions o{
            .cur_pos = c.cur_pos, .sliding_window_size = c.window, .program_config = config};
        if (with_sinks) o.attention_sink = sink_tensor(sinks);
        auto want = expected_decode(aq, ak, av, c.cur_pos, c.window, with_sinks ? &wide : nullptr);
        // The output is BFLOAT16, like q: its rounding (and p's) scale with the largest output; a
        // BFLOAT8_B K meets q rounded to int8 per face row, which costs up to as much again.
        double largest = 1.0;
        for (double w : want) largest = std::max(largest, std::abs(w));
        const double bound = (dtype == DataType::BFLOAT8_B ? 0.02 : 0.01) * largest;
        auto got = to_host<double>(transformer::scaled_dot_product_attention_decode(q, k, v, o));
        EXPECT_GE(reference::pcc(want, got), pcc_floor) << c;
        EXPECT_LE(reference::max_abs_diff(want, got), bound) << c;
        if (c.S % 32 == 0) {
            for (Layout layout : {Layout::TILE, Layout::ROW_MAJOR}) {
                if (layout == Layout::ROW_MAJOR && dtype == DataType::BFLOAT8_B) continue;  // TILE only
                testing::PagedCache paged = testing::page(ak, av, 32, dtype, 34, layout);
                auto got_paged = to_host<double>(transformer::paged_scaled_dot_product_attention_decode(
                    q, paged.k, paged.v, paged.page_table, o));
                EXPECT_GE(reference::pcc(want, got_paged), pcc_floor) << c;
                EXPECT_LE(reference::max_abs_diff(want, got_paged), bound) << c;
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    Windows, DecodeWindow,
    ::testing::Combine(
        ::testing::ValuesIn(kernels::supported_isas()),
        ::testing::Values(DataType::BFLOAT16, DataType::BFLOAT8_B),
        ::testing::Values(DecodeWindowCase{4, 8, 2, 320, 64, {0, 127, 128, 319}, 1},
                          DecodeWindowCase{4, 8, 2, 320, 64, {0, 127, 128, 319}, 100},
                          DecodeWindowCase{3, 4, 4, 200, 80, {31, 199, -1}, 33, 32},
                          DecodeWindowCase{1, 8, 1, 2011, 96, {2010}, 1500, 64},  // split in two
                          DecodeWindowCase{1, 8, 1, 2011, 33, {2010}, 129, 64},   // mid-chunk start
                          DecodeWindowCase{2, 4, 2, 64, 32, {10, 63}, 5000})),    // wider than all
    [](const auto& info) {
        std::ostringstream os;
        os << kernels::isa_name(std::get<0>(info.param)) << "_"
           << (std::get<1>(info.param) == DataType::BFLOAT8_B ? "bfp8" : "bf16") << "_"
           << std::get<2>(info.param);
        return os.str();
    });

// A window reads only its keys: NaN in every position before it never reaches the output.
TEST(DecodeWindow, KeysBeforeTheWindowAreNeverRead) {
    const uint32_t b = 2, nqh = 4, nkv = 2, S = 256, dh = 64, window = 70;
    const std::vector<int32_t> pos = {200, 255};
    auto kv = reference::ttnn_sdpa_inputs(std::size_t(b) * nkv * S * dh, 41);
    auto poisoned = kv;
    for (uint32_t m = 0; m < b * nkv; ++m)
        for (uint32_t r = 0; r < uint32_t(pos[m / nkv]) + 1 - window; ++r)
            for (uint32_t d = 0; d < dh; ++d) poisoned[(std::size_t(m) * S + r) * dh + d] = NAN;
    Tensor q = sdpa_input({1, b, nqh, dh}, DataType::BFLOAT16, 42);
    for (Layout layout : {Layout::TILE, Layout::ROW_MAJOR}) {
        const TensorOptions o{.dtype = DataType::BFLOAT16, .layout = layout, .device = test_device()};
        Tensor clean = from_host(std::span<const float>(kv), Shape{b, nkv, S, dh}, o);
        Tensor bad = from_host(std::span<const float>(poisoned), Shape{b, nkv, S, dh}, o);
        const transformer::SDPADecodeOptions opts{.cur_pos = pos, .sliding_window_size = window};
        EXPECT_EQ(to_host<double>(transformer::scaled_dot_product_attention_decode(q, bad, bad, opts)),
                  to_host<double>(transformer::scaled_dot_product_attention_decode(q, clean, clean, opts)));
    }
}

// A window reads no block before it, so a paged cache may have released those blocks (-1 in
// the page table, as a serving engine frees them): decode, chunked prefill and the cache update
// give what the fully mapped table gives, while a call that would read a released block is
// refused.
TEST(DecodeWindow, BlocksBeforeTheWindowMayBeReleased) {
    const uint32_t b = 1, nqh = 4, nkv = 2, S = 256, dh = 64, block = 32, window = 64;
    Tensor lk = sdpa_input({b, nkv, S, dh}, DataType::BFLOAT16, 51),
           lv = sdpa_input({b, nkv, S, dh}, DataType::BFLOAT16, 52);
    testing::PagedCache paged =
        testing::page(reference::from_tensor(lk), reference::from_tensor(lv), block, DataType::BFLOAT16, 53);
    std::vector<int32_t> table = to_host<int32_t>(paged.page_table);
    for (uint32_t j = 0; j < 5; ++j)
        table[j] = -1;  // positions 0..159; the windows below start at 161 and 192
    Tensor released =
        from_host(std::span<const int32_t>(table), paged.page_table.shape(), {.device = test_device()});

    Tensor q = sdpa_input({1, b, nqh, dh}, DataType::BFLOAT16, 54);
    const transformer::SDPADecodeOptions o{.cur_pos = {255}, .sliding_window_size = window};
    EXPECT_EQ(to_host<float>(
                  transformer::paged_scaled_dot_product_attention_decode(q, paged.k, paged.v, released, o)),
              to_host<float>(transformer::paged_scaled_dot_product_attention_decode(q, paged.k, paged.v,
                                                                                    paged.page_table, o)));
    expect_error(
        [&] {
            transformer::paged_scaled_dot_product_attention_decode(q, paged.k, paged.v, released,
                                                                   {.cur_pos = {255}});
        },
        {"paged_scaled_dot_product_attention_decode", "page_table[0][0]=-1"});

    Tensor qc = sdpa_input({b, nqh, 32, dh}, DataType::BFLOAT16, 55);  // positions 224..255, windows from 161
    const transformer::ChunkedSDPAOptions co{.sliding_window_size = window};
    EXPECT_EQ(to_host<float>(
                  transformer::chunked_scaled_dot_product_attention(qc, paged.k, paged.v, released, 224, co)),
              to_host<float>(transformer::chunked_scaled_dot_product_attention(qc, paged.k, paged.v,
                                                                               paged.page_table, 224, co)));
    expect_error(
        [&] { transformer::chunked_scaled_dot_product_attention(qc, paged.k, paged.v, released, 224); },
        {"chunked_scaled_dot_product_attention", "page_table[0][0]=-1"});

    // The update writes one row, in a mapped block.
    Tensor row = sdpa_input({1, b, nkv, dh}, DataType::BFLOAT16, 56);
    experimental::paged_update_cache(paged.k, row, {.update_idxs = {200}, .page_table = released});
}

// TT-NN's decode takes its sinks as [nqh, 32] (a tile wide, the sink in column 0, gpt-oss pads
// the rest with zeros), and the head count may be padded to the tile's 32 rows: the same
// output as [1, nqh, 1, 1]. The sink meets the scale, as TT-NN's kernels apply it: gpt-oss's
// TT-NN model divides its sinks by the scale, and a custom scale moves the result.
TEST(DecodeSinks, TakeTtnnDecodeShapeAndTheScale) {
    const uint32_t b = 2, nqh = 8, nkv = 2, S = 96, dh = 64;
    Tensor q = sdpa_input({1, b, nqh, dh}, DataType::BFLOAT16, 61);
    Tensor k = sdpa_input({b, nkv, S, dh}, DataType::BFLOAT16, 62), v = sdpa_input({b, nkv, S, dh}, DataType::BFLOAT16, 63);
    const std::vector<float> sinks = sink_values(nqh, dh);
    auto run = [&](const Tensor& sink, std::optional<float> scale = std::nullopt) {
        return to_host<float>(transformer::scaled_dot_product_attention_decode(
            q, k, v, {.cur_pos = {95, 40}, .scale = scale, .attention_sink = sink}));
    };
    const auto want = run(sink_tensor(sinks));
    for (uint32_t rows : {nqh, 32u}) {
        std::vector<float> tile(std::size_t(rows) * 32, 0.0f);
        for (uint32_t h = 0; h < nqh; ++h) tile[std::size_t(h) * 32] = sinks[h];
        Tensor t = from_host(std::span<const float>(tile), Shape{rows, 32},
                             {.dtype = DataType::BFLOAT16, .layout = Layout::TILE, .device = test_device()});
        std::vector<float> rounded(nqh);  // what BFLOAT16 holds
        for (uint32_t h = 0; h < nqh; ++h) rounded[h] = bfloat16(sinks[h]).to_float();
        EXPECT_EQ(run(t), run(sink_tensor(rounded))) << rows << " rows";
    }
    // With a scale of its own the sinks meet that scale: the reference on the stored values.
    const float scale = 0.05f;
    auto got = run(sink_tensor(sinks), scale);
    std::vector<double> logits;
    for (float s : sinks) logits.push_back(double(s) * scale);
    Array aq = reference::from_tensor(q), ak = reference::from_tensor(k), av = reference::from_tensor(v);
    for (uint32_t i = 0; i < b; ++i) {
        const uint32_t len = i == 0 ? 96 : 41;
        Array qi{{1, nqh, 1, dh}, {aq.values.begin() + i * nqh * dh, aq.values.begin() + (i + 1) * nqh * dh}};
        Array ki{{1, nkv, len, dh}, {}}, vi{{1, nkv, len, dh}, {}};
        for (uint32_t h = 0; h < nkv; ++h) {
            auto base = (std::size_t(i) * nkv + h) * S * dh;
            ki.values.insert(ki.values.end(), ak.values.begin() + base, ak.values.begin() + base + len * dh);
            vi.values.insert(vi.values.end(), av.values.begin() + base, av.values.begin() + base + len * dh);
        }
        Array o = reference::sdpa(qi, ki, vi, nullptr, false, scale, {.sinks = &logits});
        std::vector<double> row(got.begin() + i * nqh * dh, got.begin() + (i + 1) * nqh * dh);
        EXPECT_LE(reference::max_abs_diff(o.values, row), 0.02) << "user " << i;
    }
}

// A sink of +inf or -inf means the same at every scale, 0 and negative ones included (inf x 0
// is NaN; -inf x -1 would be +inf): +inf zeros its head's rows, -inf is no sink at all.
TEST(AttentionSinks, InfiniteSinksIgnoreTheScale) {
    const uint32_t b = 2, nqh = 4, nkv = 2, s = 40, dh = 32;
    std::vector<float> sinks = {INFINITY, -INFINITY, 1.5f, -INFINITY};
    Tensor pq = sdpa_input({b, nqh, s, dh}, DataType::FLOAT32, 71),
           dq = sdpa_input({1, b, nqh, dh}, DataType::FLOAT32, 72);
    Tensor k = sdpa_input({b, nkv, s, dh}, DataType::FLOAT32, 73),
           v = sdpa_input({b, nkv, s, dh}, DataType::FLOAT32, 74);
    for (float scale : {0.0f, -0.5f}) {
        auto prefill = [&](std::optional<Tensor> sink) {
            return to_host<double>(transformer::scaled_dot_product_attention(
                pq, k, v, {.is_causal = true, .scale = scale, .attention_sink = sink}));
        };
        auto decode = [&](std::optional<Tensor> sink) {
            return to_host<double>(transformer::scaled_dot_product_attention_decode(
                dq, k, v, {.cur_pos = {39, 12}, .scale = scale, .attention_sink = sink}));
        };
        for (bool is_decode : {false, true}) {
            const auto got = is_decode ? decode(sink_tensor(sinks)) : prefill(sink_tensor(sinks));
            const auto plain = is_decode ? decode(std::nullopt) : prefill(std::nullopt);
            const std::size_t rows = is_decode ? 1 : s;
            for (uint32_t bi = 0; bi < b; ++bi)
                for (uint32_t h = 0; h < nqh; ++h)
                    for (std::size_t i = 0; i < rows * dh; ++i) {
                        const std::size_t at = (std::size_t(bi) * nqh + h) * rows * dh + i;
                        ASSERT_TRUE(std::isfinite(got[at])) << scale << " " << is_decode << " " << at;
                        const double want = h == 0 ? 0.0 : plain[at];  // head 2's finite sink: checked finite
                        if (h != 2) {
                            ASSERT_EQ(got[at], want) << scale << " " << is_decode << " " << at;
                        }
                    }
        }
    }
}

TEST(AttentionVariants, BadInputsAreRejected) {
    Tensor q = sdpa_input({1, 4, 8, 16}, DataType::FLOAT32, 1),
           k = sdpa_input({1, 2, 8, 16}, DataType::FLOAT32, 2);
    const char* op = "scaled_dot_product_attention";
    Tensor mask = sdpa_input({1, 1, 8, 8}, DataType::FLOAT32, 3);
    expect_error(
        [&] {
            transformer::scaled_dot_product_attention(
                q, k, k, {.attn_mask = mask, .is_causal = false, .sliding_window_size = 4});
        },
        {op, "sliding_window_size=4", "is_causal=true"});
    Tensor wrong = sink_tensor(std::vector<float>(3, 0.0f));
    expect_error([&] { transformer::scaled_dot_product_attention(q, k, k, {.attention_sink = wrong}); },
                 {op, "attention_sink must be [1, 4, 1, 1]", "[1, 3, 1, 1]"});
    Tensor nan_sink = sink_tensor({0.0f, NAN, 0.0f, 0.0f});
    expect_error([&] { transformer::scaled_dot_product_attention(q, k, k, {.attention_sink = nan_sink}); },
                 {op, "attention_sink: the sink of head 1 is NaN"});
    std::vector<float> zeros(4, 0.0f);
    Tensor host_sink =
        from_host(std::span<const float>(zeros), Shape{1, 4, 1, 1}, {.dtype = DataType::FLOAT32});
    expect_error([&] { transformer::scaled_dot_product_attention(q, k, k, {.attention_sink = host_sink}); },
                 {op, "attention_sink", "host tensor"});
    std::vector<int32_t> ints(4, 0);
    Tensor int_sink = from_host(std::span<const int32_t>(ints), Shape{1, 4, 1, 1}, {.device = test_device()});
    expect_error([&] { transformer::scaled_dot_product_attention(q, k, k, {.attention_sink = int_sink}); },
                 {op, "attention_sink.dtype"});

    const char* dop = "scaled_dot_product_attention_decode";
    Tensor dq = sdpa_input({1, 1, 4, 16}, DataType::FLOAT32, 4),
           cache = sdpa_input({1, 2, 40, 16}, DataType::BFLOAT16, 5);
    Tensor dmask = sdpa_input({1, 1, 4, 40}, DataType::FLOAT32, 6);
    expect_error(
        [&] {
            transformer::scaled_dot_product_attention_decode(
                dq, cache, cache, {.is_causal = false, .attn_mask = dmask, .sliding_window_size = 8});
        },
        {dop, "sliding_window_size=8", "is_causal=true"});
    expect_error(
        [&] {
            transformer::scaled_dot_product_attention_decode(dq, cache, cache,
                                                             {.cur_pos = {5}, .attention_sink = wrong});
        },
        {dop, "attention_sink must be [1, 4, 1, 1]"});
}

}  // namespace
}  // namespace attnn
