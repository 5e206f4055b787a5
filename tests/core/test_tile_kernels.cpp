// The flash-decode kernels that read K and V straight from a band of 32x32 tiles
// (kernels::tile_scores, kernels::tile_accumulate), on every ISA this CPU runs, against fp64
// sums over the band's values decoded by decode_tile_rows: every storage format, head counts
// on both sides of the 8-head groups, head dims that end mid-tile and mid-face, runs that start
// and end anywhere in the band, and tile padding that holds NaN (FLOAT32, BFLOAT16).
#include <algorithm>
#include <cmath>
#include <cstring>
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

class TileKernels : public ::testing::TestWithParam<std::tuple<kernels::Isa, int, Case>> {};

TEST_P(TileKernels, ScoresAndAccumulateMatchFp64) {
    auto [isa, format_index, c] = GetParam();
    testing::ScopedIsa scoped(isa);
    const Format& f = formats[format_index];
    const auto& kt = kernels::table();
    const int64_t tiles = (c.dh + 31) / 32, width = 32 * tiles;
    const int64_t ldq = (c.dh + 15) / 16 * 16 + 16;  // wider than needed: strides are honoured
    auto kband = make_band(f, c.dh, 1), vband = make_band(f, c.dh, 2);
    auto kvals = decode_band(f, kband, c.dh), vvals = decode_band(f, vband, c.dh);

    std::mt19937 gen(3);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> q(std::size_t(c.heads * ldq), 0.0f);  // zero past dh, as the kernels need
    for (int64_t h = 0; h < c.heads; ++h)
        for (int64_t d = 0; d < c.dh; ++d) q[std::size_t(h * ldq + d)] = normal(gen);
    std::vector<float> work(std::size_t(64 * tiles));

    // Scores, written only for the run's n keys.
    const int64_t lds = c.n + 7;
    std::vector<float> scores(std::size_t(c.heads * lds), -7.0f);
    kernels::TileBand kb{f.id, kband.data(), f.tile_bytes, c.dh, c.row, c.n, nullptr};
    kt.tile_scores(kb, q.data(), c.heads, ldq, scores.data(), lds, work.data());
    for (int64_t h = 0; h < c.heads; ++h) {
        for (int64_t j = 0; j < c.n; ++j) {
            double want = 0, mag = 0;
            for (int64_t d = 0; d < c.dh; ++d) {
                const double term = double(q[std::size_t(h * ldq + d)]) * kvals[std::size_t((c.row + j) * width + d)];
                want += term, mag += std::abs(term);
            }
            ASSERT_NEAR(scores[std::size_t(h * lds + j)], want, 1e-5 * mag + 1e-6)
                << f.name << " head " << h << " key " << j;
        }
        for (int64_t j = c.n; j < lds; ++j) ASSERT_EQ(scores[std::size_t(h * lds + j)], -7.0f) << "wrote past n";
    }

    // Accumulate onto a nonzero output; columns past dh are the caller's to ignore.
    const int64_t ldp = c.n + 3, ldo = ldq;
    std::vector<float> p(std::size_t(c.heads * ldp)), out(std::size_t(c.heads * ldo));
    for (auto& x : p) x = std::abs(normal(gen));
    for (auto& x : out) x = normal(gen);
    std::vector<float> before = out;
    kernels::TileBand vb{f.id, vband.data(), f.tile_bytes, c.dh, c.row, c.n, kband.data()};  // with a prefetch
    kt.tile_accumulate(vb, p.data(), ldp, c.heads, out.data(), ldo, work.data());
    for (int64_t h = 0; h < c.heads; ++h)
        for (int64_t d = 0; d < c.dh; ++d) {
            double want = before[std::size_t(h * ldo + d)], mag = std::abs(want);
            for (int64_t j = 0; j < c.n; ++j) {
                const double term =
                    double(p[std::size_t(h * ldp + j)]) * vvals[std::size_t((c.row + j) * width + d)];
                want += term, mag += std::abs(term);
            }
            ASSERT_NEAR(out[std::size_t(h * ldo + d)], want, 1e-5 * mag + 1e-6)
                << f.name << " head " << h << " column " << d;
        }
}

// The bf16 dot-product kernels (AVX512_BF16; skipped where the CPU lacks them) on a BFLOAT16
// band with a bf16 query: the scores are exact products summed in fp32; p is rounded to bf16
// before it meets V, so the output carries bf16 rounding of the weights (relative 2^-9).
class TileKernelsBf16Dot : public ::testing::TestWithParam<Case> {};

TEST_P(TileKernelsBf16Dot, ScoresAndAccumulateMatchFp64) {
    if (!kernels::has_bf16_dot()) GTEST_SKIP() << "this CPU has no AVX512_BF16";
    const Case c = GetParam();
    const Format& f = formats[1];
    const auto& kt = kernels::table();
    const int64_t tiles = (c.dh + 31) / 32, width = 32 * tiles, segs = (c.dh + 15) / 16;
    const int64_t ldq = segs * 16 + 16;
    auto kband = make_band(f, c.dh, 4), vband = make_band(f, c.dh, 5);
    auto kvals = decode_band(f, kband, c.dh), vvals = decode_band(f, vband, c.dh);
    std::mt19937 gen(6);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> q(std::size_t(c.heads * ldq), 0.0f);
    for (int64_t h = 0; h < c.heads; ++h)
        for (int64_t d = 0; d < c.dh; ++d) q[std::size_t(h * ldq + d)] = normal(gen);
    std::vector<uint16_t> qb(q.size());
    kt.f32_to_bf16(q.data(), qb.data(), int64_t(q.size()));
    kt.bf16_to_f32(qb.data(), q.data(), int64_t(q.size()));  // the values the kernel sees
    std::vector<float> work(std::size_t(std::max<int64_t>(64 * tiles, 16 * c.heads * segs)));

    const int64_t lds = c.n + 5;
    std::vector<float> scores(std::size_t(c.heads * lds), -7.0f);
    kernels::TileBand kb{f.id, kband.data(), f.tile_bytes, c.dh, c.row, c.n, vband.data()};
    kt.tile_scores_bf16(kb, qb.data(), c.heads, ldq, scores.data(), lds, work.data());
    for (int64_t h = 0; h < c.heads; ++h) {
        for (int64_t j = 0; j < c.n; ++j) {
            double want = 0, mag = 0;
            for (int64_t d = 0; d < c.dh; ++d) {
                const double term = double(q[std::size_t(h * ldq + d)]) * kvals[std::size_t((c.row + j) * width + d)];
                want += term, mag += std::abs(term);
            }
            ASSERT_NEAR(scores[std::size_t(h * lds + j)], want, 1e-5 * mag + 1e-6) << "head " << h << " key " << j;
        }
        for (int64_t j = c.n; j < lds; ++j) ASSERT_EQ(scores[std::size_t(h * lds + j)], -7.0f) << "wrote past n";
    }

    const int64_t ldp = c.n + 3, ldo = ldq;
    std::vector<float> p(std::size_t(c.heads * ldp)), out(std::size_t(c.heads * ldo));
    for (auto& x : p) x = std::abs(normal(gen));
    for (auto& x : out) x = normal(gen);
    std::vector<float> before = out;
    kernels::TileBand vb{f.id, vband.data(), f.tile_bytes, c.dh, c.row, c.n, nullptr};
    kt.tile_accumulate_bf16(vb, p.data(), ldp, c.heads, out.data(), ldo, work.data());
    for (int64_t h = 0; h < c.heads; ++h)
        for (int64_t d = 0; d < c.dh; ++d) {
            double want = before[std::size_t(h * ldo + d)], mag = std::abs(want);
            for (int64_t j = 0; j < c.n; ++j) {
                const double term =
                    double(p[std::size_t(h * ldp + j)]) * vvals[std::size_t((c.row + j) * width + d)];
                want += term, mag += std::abs(term);
            }
            ASSERT_NEAR(out[std::size_t(h * ldo + d)], want, 4e-3 * mag + 1e-6) << "head " << h << " column " << d;
        }
}

INSTANTIATE_TEST_SUITE_P(Bfloat16, TileKernelsBf16Dot,
                         ::testing::Values(Case{4, 128, 0, 32}, Case{1, 64, 5, 27}, Case{3, 80, 16, 16},
                                           Case{5, 96, 31, 1}, Case{8, 32, 0, 1}, Case{9, 200, 3, 13},
                                           Case{12, 16, 7, 25}, Case{2, 31, 0, 31}, Case{4, 128, 15, 2}));

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
