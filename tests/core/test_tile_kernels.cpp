// The flash-decode kernels that read K and V straight from a band of 32x32 tiles
// (kernels::tile_scores, kernels::tile_accumulate), on every ISA this CPU runs, against fp64
// sums over the band's values decoded by decode_tile_rows: every storage format, head counts
// on both sides of the 8-head groups, head dims that end mid-tile and mid-face, runs that start
// and end anywhere in the band, and tile padding that holds NaN (FLOAT32, BFLOAT16).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <random>
#include <vector>

#include "kernels/kernels.hpp"
#include "test_util.hpp"

namespace attnn {
namespace {

struct Format {
    int id;
    const char* name;
    int64_t tile_bytes;
};
const Format formats[] = {{0, "float32", 4096}, {1, "bfloat16", 2048}, {2, "bfloat8_b", 1088}, {3, "bfloat4_b", 576}};

// One band of ceil(dh / 32) tiles in `format`, 32 rows: random N(0, 1) values below dh, the
// padding columns poisoned (NaN where the format holds one, else 1e30).
std::vector<uint8_t> make_band(const Format& f, int64_t dh, uint32_t seed) {
    const auto& kt = kernels::table();
    const int64_t tiles = (dh + 31) / 32;
    std::vector<uint8_t> band(std::size_t(tiles * f.tile_bytes), 0);
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const float poison = f.id < 2 ? NAN : 0.0f;  // a block float would flush its row to the poison
    for (int64_t t = 0; t < tiles; ++t) {
        uint8_t* tile = band.data() + t * f.tile_bytes;
        for (int face = 0; face < 4; ++face)
            for (int fi = 0; fi < 16; ++fi) {
                float row[16];
                for (int c = 0; c < 16; ++c) {
                    const int64_t col = t * 32 + (face % 2) * 16 + c;
                    row[c] = col < dh ? normal(gen) : poison;
                }
                switch (f.id) {
                    case 0:
                        std::memcpy(tile + (face * 256 + fi * 16) * 4, row, 64);
                        break;
                    case 1:
                        kt.f32_to_bf16(row, reinterpret_cast<uint16_t*>(tile + (face * 256 + fi * 16) * 2), 16);
                        break;
                    case 2:
                        kt.bfp8_encode16(row, tile + face * 16 + fi, tile + 64 + face * 256 + fi * 16);
                        break;
                    default:
                        kt.bfp4_encode16(row, tile + face * 16 + fi, tile + 64 + face * 128 + fi * 8);
                        break;
                }
            }
    }
    return band;
}

// The band's 32 rows as decode_tile_rows gives them (32 * tiles columns each).
std::vector<float> decode_band(const Format& f, const std::vector<uint8_t>& band, int64_t dh) {
    const int64_t tiles = (dh + 31) / 32;
    std::vector<float> rows(std::size_t(32 * 32 * tiles));
    kernels::table().decode_tile_rows(f.id, band.data(), f.tile_bytes, tiles, 0, 32, rows.data(), 32 * tiles);
    return rows;
}

struct Case {
    int64_t heads, dh, row, n;
};

// One kernel problem: K and V bands, a query (zero past dh, as the kernels need), weights p and
// a nonzero output to accumulate onto, with the fp64 checks of both kernels' results.
struct Problem {
    const Format& f;
    Case c;
    int64_t width, ldq, lds, ldp;
    std::vector<uint8_t> kband, vband;
    std::vector<float> kvals, vvals, q, p, out_before;

    Problem(const Format& format, const Case& cs, uint32_t seed)
        : f(format), c(cs), width(32 * ((cs.dh + 31) / 32)),
          ldq((cs.dh + 15) / 16 * 16 + 16),  // wider than needed: strides are honoured
          lds(cs.n + 7), ldp(cs.n + 3), kband(make_band(format, cs.dh, seed)),
          vband(make_band(format, cs.dh, seed + 1)), kvals(decode_band(format, kband, cs.dh)),
          vvals(decode_band(format, vband, cs.dh)) {
        std::mt19937 gen(seed + 2);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        q.assign(std::size_t(c.heads * ldq), 0.0f);
        for (int64_t h = 0; h < c.heads; ++h)
            for (int64_t d = 0; d < c.dh; ++d) q[std::size_t(h * ldq + d)] = normal(gen);
        p.resize(std::size_t(c.heads * ldp));
        for (auto& x : p) x = std::abs(normal(gen));
        out_before.resize(std::size_t(c.heads * ldq));
        for (auto& x : out_before) x = normal(gen);
    }
    kernels::TileBand keys(const uint8_t* ahead = nullptr) const {
        return {f.id, kband.data(), f.tile_bytes, c.dh, c.row, c.n, ahead};
    }
    kernels::TileBand values(const uint8_t* ahead = nullptr) const {
        return {f.id, vband.data(), f.tile_bytes, c.dh, c.row, c.n, ahead};
    }
    // Scores for the run's n keys only (the buffer starts filled with -7).
    void check_scores(const std::vector<float>& scores) const {
        for (int64_t h = 0; h < c.heads; ++h) {
            for (int64_t j = 0; j < c.n; ++j) {
                double want = 0, mag = 0;
                for (int64_t d = 0; d < c.dh; ++d) {
                    const double term =
                        double(q[std::size_t(h * ldq + d)]) * kvals[std::size_t((c.row + j) * width + d)];
                    want += term, mag += std::abs(term);
                }
                ASSERT_NEAR(scores[std::size_t(h * lds + j)], want, 1e-5 * mag + 1e-6)
                    << f.name << " head " << h << " key " << j;
            }
            for (int64_t j = c.n; j < lds; ++j)
                ASSERT_EQ(scores[std::size_t(h * lds + j)], -7.0f) << "wrote past n";
        }
    }
    // out_before + p V over the first dh columns (the rest are the caller's to ignore).
    void check_accumulated(const std::vector<float>& out, double rel_tol) const {
        for (int64_t h = 0; h < c.heads; ++h)
            for (int64_t d = 0; d < c.dh; ++d) {
                double want = out_before[std::size_t(h * ldq + d)], mag = std::abs(want);
                for (int64_t j = 0; j < c.n; ++j) {
                    const double term =
                        double(p[std::size_t(h * ldp + j)]) * vvals[std::size_t((c.row + j) * width + d)];
                    want += term, mag += std::abs(term);
                }
                ASSERT_NEAR(out[std::size_t(h * ldq + d)], want, rel_tol * mag + 1e-6)
                    << f.name << " head " << h << " column " << d;
            }
    }
};

class TileKernels : public ::testing::TestWithParam<std::tuple<kernels::Isa, int, Case>> {};

TEST_P(TileKernels, ScoresAndAccumulateMatchFp64) {
    auto [isa, format_index, c] = GetParam();
    testing::ScopedIsa scoped(isa);
    const auto& kt = kernels::table();
    const Problem pr(formats[format_index], c, 1);
    std::vector<float> work(std::size_t(64 * ((c.dh + 31) / 32)));
    std::vector<float> scores(std::size_t(c.heads * pr.lds), -7.0f), out = pr.out_before;
    kt.tile_scores(pr.keys(), pr.q.data(), c.heads, pr.ldq, scores.data(), pr.lds, work.data());
    pr.check_scores(scores);
    kt.tile_accumulate(pr.values(pr.kband.data()), pr.p.data(), pr.ldp, c.heads, out.data(), pr.ldq,
                       work.data());  // with a band to prefetch
    pr.check_accumulated(out, 1e-5);
}

// The bf16 dot-product kernels (AVX512_BF16; skipped where the CPU lacks them) on a BFLOAT16
// band with a bf16 query: the scores are exact products summed in fp32; p is rounded to bf16
// before it meets V, so the output carries bf16 rounding of the weights (relative 2^-9).
class TileKernelsBf16Dot : public ::testing::TestWithParam<Case> {};

TEST_P(TileKernelsBf16Dot, ScoresAndAccumulateMatchFp64) {
    if (!kernels::has_bf16_dot()) GTEST_SKIP() << "this CPU has no AVX512_BF16";
    const Case c = GetParam();
    const auto& kt = kernels::table();
    Problem pr(formats[1], c, 4);
    std::vector<uint16_t> qb(pr.q.size());
    kt.f32_to_bf16(pr.q.data(), qb.data(), int64_t(qb.size()));
    kt.bf16_to_f32(qb.data(), pr.q.data(), int64_t(qb.size()));  // the values the kernel sees
    std::vector<float> work(std::size_t(std::max<int64_t>(64 * ((c.dh + 31) / 32), 16 * c.heads * ((c.dh + 15) / 16))));
    std::vector<float> scores(std::size_t(c.heads * pr.lds), -7.0f), out = pr.out_before;
    std::vector<uint16_t> qdup(std::size_t(kernels::qbf16_words(c.heads, c.dh)));
    kt.pack_q_bf16(pr.q.data(), c.heads, pr.ldq, c.dh, qdup.data());
    kt.tile_scores_bf16(pr.keys(pr.vband.data()), qdup.data(), c.heads, scores.data(), pr.lds);
    pr.check_scores(scores);
    const kernels::TileBand values = pr.values();
    kt.tile_accumulate_bf16(&values, 1, pr.p.data(), pr.ldp, c.heads, out.data(), pr.ldq, work.data());
    pr.check_accumulated(out, 4e-3);
}

INSTANTIATE_TEST_SUITE_P(Bfloat16, TileKernelsBf16Dot,
                         ::testing::Values(Case{4, 128, 0, 32}, Case{1, 64, 5, 27}, Case{3, 80, 16, 16},
                                           Case{5, 96, 31, 1}, Case{8, 32, 0, 1}, Case{9, 200, 3, 13},
                                           Case{12, 16, 7, 25}, Case{2, 31, 0, 31}, Case{4, 128, 15, 2}));

// The BFLOAT8_B dot-product kernels (skipped where the CPU lacks AVX512_VNNI / AVX512_BF16 +
// VBMI). Scores: q rounded to int8 per 16-value face row (quantize_q8), the keys' bytes as
// stored; each score may move by at most the rounding of q, sum over d of (amax_s / 254)
// |k_d|, on top of fp32 summation, and by 128 times less over a row that keeps its residual:
// every row if asked (HiFi3 / HiFi4), else a row whose largest |q| passes 4 times its mean
// |q|. Outliers (TT-NN's N(0, 10) draws) sit in the first row of head 0 and of the last head
// (grouped with head 0 or not), and in head 1's second row alone, so the flags of every head
// of a group count.
// Accumulate: p rounded to bf16 (relative 2^-9), the values exact.
class TileKernelsBfp8Dot : public ::testing::TestWithParam<Case> {};

TEST_P(TileKernelsBfp8Dot, ScoresWithinQueryRounding) {
    if (!kernels::has_int8_dot()) GTEST_SKIP() << "this CPU has no AVX512_VNNI";
    const Case c = GetParam();
    const auto& kt = kernels::table();
    const Problem pr(formats[2], c, 6);
    std::vector<float> q = pr.q;
    q[std::min<std::size_t>(3, std::size_t(c.dh - 1))] = -37.5f;
    q[std::size_t((c.heads - 1) * pr.ldq + std::min<int64_t>(7, c.dh - 1))] = 29.0f;
    if (c.heads > 2 && c.dh > 16) q[std::size_t(pr.ldq + 16 + std::min<int64_t>(5, c.dh - 17))] = 41.0f;
    for (bool every_residual : {false, true}) {
        std::vector<uint8_t> q8(std::size_t(kernels::q8_bytes(c.heads, c.dh)));
        kt.quantize_q8(q.data(), c.heads, pr.ldq, c.dh, every_residual, q8.data());
        std::vector<float> scores(std::size_t(c.heads * pr.lds), -7.0f);
        kt.tile_scores_q8(pr.keys(pr.vband.data()), q8.data(), c.heads, scores.data(), pr.lds);
        for (int64_t h = 0; h < c.heads; ++h) {
            for (int64_t j = 0; j < c.n; ++j) {
                double want = 0, mag = 0, rounding = 0;
                for (int64_t s = 0; s * 16 < c.dh; ++s) {
                    const int64_t d0 = s * 16, d1 = std::min<int64_t>(c.dh, s * 16 + 16);
                    double amax = 0, sum = 0;
                    for (int64_t d = d0; d < d1; ++d) {
                        amax = std::max(amax, double(std::abs(q[std::size_t(h * pr.ldq + d)])));
                        sum += std::abs(q[std::size_t(h * pr.ldq + d)]);
                    }
                    const bool residual = every_residual || amax > 4 * sum / double(d1 - d0);
                    for (int64_t d = d0; d < d1; ++d) {
                        const double k = pr.kvals[std::size_t((c.row + j) * pr.width + d)];
                        want += double(q[std::size_t(h * pr.ldq + d)]) * k;
                        mag += std::abs(double(q[std::size_t(h * pr.ldq + d)]) * k);
                        rounding += amax / (residual ? 254 * 128 : 254) * std::abs(k);
                    }
                }
                ASSERT_NEAR(scores[std::size_t(h * pr.lds + j)], want, 1.001 * rounding + 1e-5 * mag + 1e-6)
                    << "head " << h << " key " << j << (every_residual ? " (every residual)" : "");
            }
            for (int64_t j = c.n; j < pr.lds; ++j)
                ASSERT_EQ(scores[std::size_t(h * pr.lds + j)], -7.0f) << "wrote past n";
        }
    }
}

TEST_P(TileKernelsBfp8Dot, AccumulateWithinWeightRounding) {
    if (!kernels::has_bf16_dot(2)) GTEST_SKIP() << "this CPU has no AVX512_BF16 + AVX512_VBMI";
    const Case c = GetParam();
    const auto& kt = kernels::table();
    const Problem pr(formats[2], c, 7);
    std::vector<float> work(std::size_t(16 * c.heads * ((c.dh + 15) / 16)));
    std::vector<float> out = pr.out_before;
    const kernels::TileBand values = pr.values(pr.kband.data());
    kt.tile_accumulate_bf16(&values, 1, pr.p.data(), pr.ldp, c.heads, out.data(), pr.ldq, work.data());
    pr.check_accumulated(out, 4e-3);
}

// BFLOAT8_B keys scored by bf16 rows (the GEMV's transposed BFLOAT8_B weights; skipped where the
// CPU lacks AVX512_BF16 + AVX512_VBMI): exact products, fp32 sums, as tile_scores gives. The
// rows are rounded to bf16 first (the values the kernel is given), laid out at a row stride
// wider than needed.
class TileKernelsBfp8Rows : public ::testing::TestWithParam<Case> {};

TEST_P(TileKernelsBfp8Rows, ScoresMatchFp64) {
    if (!kernels::has_bf16_dot(2)) GTEST_SKIP() << "this CPU has no AVX512_BF16 + AVX512_VBMI";
    const Case c = GetParam();
    const auto& kt = kernels::table();
    Problem pr(formats[2], c, 8);
    std::vector<uint16_t> qb(pr.q.size());
    kt.f32_to_bf16(pr.q.data(), qb.data(), int64_t(qb.size()));
    kt.bf16_to_f32(qb.data(), pr.q.data(), int64_t(qb.size()));
    const int64_t ldq4 = (c.dh + 15) / 16 * 64 + 64;
    std::vector<uint16_t> q4(std::size_t(c.heads * ldq4), 0xffff);
    kt.pack_rows_bf16x4(pr.q.data(), c.heads, pr.ldq, c.dh, q4.data(), ldq4);
    std::vector<float> work(std::size_t(64 * ((c.dh + 31) / 32)));
    std::vector<float> scores(std::size_t(c.heads * pr.lds), -7.0f);
    kt.tile_scores_bfp8(pr.keys(pr.vband.data()), q4.data(), c.heads, ldq4, scores.data(), pr.lds, work.data());
    pr.check_scores(scores);
}

INSTANTIATE_TEST_SUITE_P(Bfloat8B, TileKernelsBfp8Rows,
                         ::testing::Values(Case{4, 128, 0, 32}, Case{1, 64, 5, 27}, Case{3, 80, 16, 16},
                                           Case{5, 96, 31, 1}, Case{8, 32, 0, 1}, Case{9, 200, 3, 13},
                                           Case{12, 16, 7, 25}, Case{2, 31, 0, 31}, Case{1, 480, 0, 32},
                                           Case{7, 256, 1, 30}));

// Face rows whose shared exponents span the whole range, from subnormal steps (values near
// 2^-140) to 2^100, and values whose products with the rows stay in fp32's range: each (key,
// face row) sum takes its own row's scale exactly (products below 2^-149 round to fp32's
// subnormal grid, in the kernel as in fp32 arithmetic).
TEST(TileKernelsBfp8RowsEdges, ExponentsFromSubnormalToLarge) {
    if (!kernels::has_bf16_dot(2)) GTEST_SKIP() << "this CPU has no AVX512_BF16 + AVX512_VBMI";
    const auto& kt = kernels::table();
    const int64_t dh = 64, heads = 2, ldq = 64, lds = 32;
    const Format& f = formats[2];
    std::vector<uint8_t> band(std::size_t(2 * f.tile_bytes), 0);
    std::vector<float> keys(std::size_t(32 * dh));
    std::mt19937 gen(9);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (int64_t t = 0; t < 2; ++t)
        for (int face = 0; face < 4; ++face)
            for (int fi = 0; fi < 16; ++fi) {
                const int64_t key = (face / 2) * 16 + fi, col0 = t * 32 + (face % 2) * 16;
                const int e = int((key * 7 + col0) % 241) - 140;  // -140 .. 100
                float row[16];
                for (int c = 0; c < 16; ++c) row[c] = std::ldexp(normal(gen), e);
                uint8_t* tile = band.data() + t * f.tile_bytes;
                kt.bfp8_encode16(row, tile + face * 16 + fi, tile + 64 + face * 256 + fi * 16);
                kt.bfp8_decode16(tile[face * 16 + fi], tile + 64 + face * 256 + fi * 16, row);
                for (int c = 0; c < 16; ++c) keys[std::size_t(key * dh + col0 + c)] = row[c];
            }
    std::vector<float> q(std::size_t(heads * ldq));
    for (auto& x : q) x = std::ldexp(normal(gen), -10);
    std::vector<uint16_t> qb(q.size());
    kt.f32_to_bf16(q.data(), qb.data(), int64_t(q.size()));
    kt.bf16_to_f32(qb.data(), q.data(), int64_t(q.size()));
    std::vector<uint16_t> q4(std::size_t(heads * 4 * 64));
    kt.pack_rows_bf16x4(q.data(), heads, ldq, dh, q4.data(), 4 * 64);
    std::vector<float> work(128), scores(std::size_t(heads * lds), -7.0f);
    kt.tile_scores_bfp8({f.id, band.data(), f.tile_bytes, dh, 0, 32, nullptr}, q4.data(), heads, 4 * 64,
                        scores.data(), lds, work.data());
    for (int64_t h = 0; h < heads; ++h)
        for (int64_t j = 0; j < 32; ++j) {
            double want = 0, mag = 0;
            for (int64_t d = 0; d < dh; ++d) {
                const double term = double(q[std::size_t(h * ldq + d)]) * keys[std::size_t(j * dh + d)];
                want += term, mag += std::abs(term);
            }
            ASSERT_NEAR(scores[std::size_t(h * lds + j)], want, 1e-5 * mag + 2e-43) << "head " << h << " key " << j;
        }
}

// tile_accumulate_bf16 over several bands at once (a chunk's runs, p one run after another)
// gives, bit for bit, what one call per band gives: the same products added in the same order,
// the sum only kept in registers between bands. Runs start and end anywhere; more than
// max_bands go max_bands at a time.
class TileKernelsBf16Bands : public ::testing::TestWithParam<std::tuple<int, int64_t, int64_t>> {};

TEST_P(TileKernelsBf16Bands, ManyBandsEqualOneAtATime) {
    auto [format_index, heads, dh] = GetParam();
    const Format& f = formats[format_index];
    if (!kernels::has_bf16_dot(f.id)) GTEST_SKIP() << "this CPU lacks the bf16 dot-product kernels for " << f.name;
    const auto& kt = kernels::table();
    const int64_t runs[][2] = {{3, 29}, {0, 32}, {16, 16}, {0, 1},  {31, 1}, {5, 22},
                               {0, 32}, {7, 9},  {2, 30},  {0, 17}, {9, 3}};
    const int64_t nb = std::size(runs), ld = (dh + 15) / 16 * 16;
    std::vector<std::vector<uint8_t>> storage;
    std::vector<kernels::TileBand> bands;
    int64_t keys = 0;
    for (int64_t b = 0; b < nb; ++b) {
        storage.push_back(make_band(f, dh, uint32_t(100 + b)));
        bands.push_back({f.id, storage.back().data(), f.tile_bytes, dh, runs[b][0], runs[b][1], nullptr});
        keys += runs[b][1];
    }
    std::mt19937 gen(9);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    const int64_t ldp = keys + 5;
    std::vector<float> p(std::size_t(heads * ldp)), start(std::size_t(heads * ld));
    for (auto& x : p) x = unit(gen);
    for (auto& x : start) x = unit(gen) - 0.5f;
    std::vector<float> work(std::size_t(nb * 16 * heads * ((dh + 15) / 16)));
    for (int64_t count : {int64_t(1), int64_t(2), int64_t(5), kernels::max_bands, nb}) {  // nb > max_bands
        std::vector<float> together = start, apart = start;
        kt.tile_accumulate_bf16(bands.data(), count, p.data(), ldp, heads, together.data(), ld, work.data());
        for (int64_t b = 0, j = 0; b < count; j += bands[std::size_t(b)].n, ++b)
            kt.tile_accumulate_bf16(&bands[std::size_t(b)], 1, p.data() + j, ldp, heads, apart.data(), ld, work.data());
        for (int64_t h = 0; h < heads; ++h)
            for (int64_t d = 0; d < dh; ++d)
                ASSERT_EQ(together[std::size_t(h * ld + d)], apart[std::size_t(h * ld + d)])
                    << f.name << " bands " << count << " head " << h << " column " << d;
    }
}

INSTANTIATE_TEST_SUITE_P(Formats, TileKernelsBf16Bands,
                         ::testing::Values(std::make_tuple(1, int64_t(4), int64_t(128)),
                                           std::make_tuple(1, int64_t(3), int64_t(80)),
                                           std::make_tuple(2, int64_t(4), int64_t(128)),
                                           std::make_tuple(2, int64_t(9), int64_t(72)),
                                           std::make_tuple(2, int64_t(1), int64_t(31))));

// A query row holding inf or NaN scores NaN (as fp32 products would), and an all-zero one 0.
TEST(TileKernelsBfp8DotEdges, NonFiniteAndZeroQueries) {
    if (!kernels::has_int8_dot()) GTEST_SKIP() << "this CPU has no AVX512_VNNI";
    const auto& kt = kernels::table();
    const Problem pr(formats[2], Case{3, 64, 0, 32}, 8);
    std::vector<float> q = pr.q;
    q[std::size_t(0 * pr.ldq + 5)] = INFINITY;
    q[std::size_t(1 * pr.ldq + 40)] = NAN;
    std::fill(q.begin() + 2 * pr.ldq, q.begin() + 3 * pr.ldq, 0.0f);
    for (bool every_residual : {false, true}) {
        std::vector<uint8_t> q8(std::size_t(kernels::q8_bytes(3, 64)));
        kt.quantize_q8(q.data(), 3, pr.ldq, 64, every_residual, q8.data());
        std::vector<float> scores(std::size_t(3 * pr.lds), -7.0f);
        kt.tile_scores_q8(pr.keys(), q8.data(), 3, scores.data(), pr.lds);
        for (int64_t j = 0; j < 32; ++j) {
            EXPECT_TRUE(std::isnan(scores[std::size_t(j)])) << j << " every_residual " << every_residual;
            EXPECT_TRUE(std::isnan(scores[std::size_t(pr.lds + j)]))
                << j << " every_residual " << every_residual;
            EXPECT_EQ(scores[std::size_t(2 * pr.lds + j)], 0.0f) << j << " every_residual " << every_residual;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Bfloat8B, TileKernelsBfp8Dot,
                         ::testing::Values(Case{4, 128, 0, 32}, Case{1, 64, 5, 27}, Case{3, 80, 16, 16},
                                           Case{5, 96, 31, 1}, Case{8, 32, 0, 1}, Case{9, 200, 3, 13},
                                           Case{12, 16, 7, 25}, Case{2, 31, 0, 31}, Case{4, 128, 15, 2},
                                           Case{7, 256, 1, 30}));

// The decode chunk's softmax step (softmax_rows) against fp64 on every ISA: rows of 1 .. 129
// scores past and short of the vector width, a scale, running maxima below, above and equal to
// the row's and -inf; a row every key of which is masked comes out zero with sum 0 and its max
// kept, a NaN reaches the sum, and what lies past n in each row is left alone.
class SoftmaxRows : public ::testing::TestWithParam<kernels::Isa> {};

TEST_P(SoftmaxRows, MatchesFp64) {
    testing::ScopedIsa isa(GetParam());
    const auto& kt = kernels::table();
    std::mt19937 gen(11);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    for (int64_t n : {1, 15, 16, 31, 33, 128, 129})
        for (float scale : {1.0f, 0.088388f})
            for (bool approx : {false, true}) {
                const int64_t rows = 6, lds = n + 7;
                std::vector<float> s(std::size_t(rows * lds));
                for (auto& x : s) x = normal(gen);
                // Row 0: no max yet; 1: the row's own max above m; 2: m above the row; 3: every key
                // masked; 4: m equal to the row's max; 5: a NaN score.
                std::vector<float> m = {-INFINITY, -50.0f, 40.0f, -INFINITY, 0.0f, 1.0f};
                std::fill(s.begin() + 3 * lds, s.begin() + 3 * lds + n, -INFINITY);
                float row4_max = -INFINITY;
                for (int64_t j = 0; j < n; ++j) row4_max = std::max(row4_max, s[std::size_t(4 * lds + j)] * scale);
                m[4] = row4_max;
                s[std::size_t(5 * lds + n / 2)] = NAN;
                const std::vector<float> in = s;
                std::vector<float> m_new(rows, -7.0f), sum(rows, -7.0f);
                kt.softmax_rows(s.data(), lds, rows, n, scale, m.data(), m_new.data(), sum.data(), approx);
                // exp's own error, and x - m rounded to fp32 (|x - m| < 30 here: 2e-6 of the result).
                const double tol = approx ? 2e-4 : 2e-6;
                for (int64_t r = 0; r < rows; ++r) {
                    SCOPED_TRACE("n " + std::to_string(n) + " scale " + std::to_string(scale) + " approx " +
                                 std::to_string(approx) + " row " + std::to_string(r));
                    for (int64_t j = n; j < lds; ++j)
                        ASSERT_EQ(s[std::size_t(r * lds + j)], in[std::size_t(r * lds + j)]) << "past n, " << j;
                    if (r == 3) {
                        EXPECT_EQ(m_new[3], -INFINITY);
                        EXPECT_EQ(sum[3], 0.0f);
                        for (int64_t j = 0; j < n; ++j) ASSERT_EQ(s[std::size_t(3 * lds + j)], 0.0f) << j;
                        continue;
                    }
                    if (r == 5) {
                        EXPECT_TRUE(std::isnan(sum[5]));
                        continue;
                    }
                    double mx = m[std::size_t(r)];
                    for (int64_t j = 0; j < n; ++j) mx = std::max(mx, double(in[std::size_t(r * lds + j)] * scale));
                    EXPECT_EQ(m_new[std::size_t(r)], float(mx));
                    double want_sum = 0;
                    for (int64_t j = 0; j < n; ++j) {
                        const double want = std::exp(double(in[std::size_t(r * lds + j)] * scale) - mx);
                        want_sum += want;
                        ASSERT_NEAR(s[std::size_t(r * lds + j)], want, tol * want + 1e-37) << j;
                    }
                    EXPECT_NEAR(sum[std::size_t(r)], want_sum, tol * want_sum + 1e-30);
                }
            }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, SoftmaxRows, ::testing::ValuesIn(kernels::supported_isas()),
                         testing::isa_param_name);

std::string case_name(const ::testing::TestParamInfo<std::tuple<kernels::Isa, int, Case>>& info) {
    auto [isa, format_index, c] = info.param;
    return std::string(kernels::isa_name(isa)) + "_" + formats[format_index].name + "_h" +
           std::to_string(c.heads) + "_dh" + std::to_string(c.dh) + "_rows" + std::to_string(c.row) + "_" +
           std::to_string(c.n);
}

INSTANTIATE_TEST_SUITE_P(
    EveryIsaAndFormat, TileKernels,
    ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()), ::testing::Range(0, 4),
                       ::testing::Values(Case{4, 128, 0, 32},   // Llama's GQA group, a whole band
                                         Case{1, 64, 5, 27},    // one head; a run ending the band
                                         Case{3, 80, 16, 16},   // dh ends mid-tile; the lower faces
                                         Case{5, 96, 31, 1},    // the band's last row alone
                                         Case{8, 32, 0, 1},     // one key, a full group of 8
                                         Case{9, 200, 3, 13},   // 8 + 1 heads; dh ends mid-face
                                         Case{12, 16, 7, 25},   // dh of one face row
                                         Case{2, 31, 0, 31})),  // dh and n of 31
    case_name);

}  // namespace
}  // namespace attnn
