// The bf16 and block-float codecs, byte for byte as tt-metal packs them
// (tt_metal/impl/data_format/blockfloat_common.cpp: get_max_exp, convert_u32_to_bfp,
// pack_fp32_vec_as_bfp_tiles), on every ISA this CPU runs.
//
// A BFLOAT8_B row: exponent byte e = the largest fp32 exponent of the 16 values; each value is
// sign << 7 | m where m (7 bits, no hidden bit) counts steps of 2^(e - 127 - 6). BFLOAT4_B: the
// same with 3 bits, steps of 2^(e - 127 - 2), two values per byte, element 0 in the low nibble.
#include <array>
#include <cmath>
#include <cstring>
#include <optional>

#include "core/buffer.hpp"
#include "test_util.hpp"

namespace attnn {
namespace {

using Row = std::array<float, 16>;

float from_bits(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
uint32_t to_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

// A row of zeros with the given leading values.
Row row_of(std::initializer_list<float> leading) {
    Row r{};
    std::copy(leading.begin(), leading.end(), r.begin());
    return r;
}

struct Bfp8 {
    uint8_t exponent = 0xee;  // poisoned so a missing write shows
    std::array<uint8_t, 16> m{};
};
struct Bfp4 {
    uint8_t exponent = 0xee;
    std::array<uint8_t, 8> m{};
};

class Codecs : public ::testing::TestWithParam<kernels::Isa> {
  protected:
    void SetUp() override { isa_.emplace(GetParam()); }
    void TearDown() override { isa_.reset(); }
    static Bfp8 encode8(const Row& row) {
        Bfp8 out;
        out.m.fill(0xee);
        kernels::table().bfp8_encode16(row.data(), &out.exponent, out.m.data());
        return out;
    }
    static Bfp4 encode4(const Row& row) {
        Bfp4 out;
        out.m.fill(0xee);
        kernels::table().bfp4_encode16(row.data(), &out.exponent, out.m.data());
        return out;
    }
    static Row decode8(const Bfp8& b) {
        Row r;
        kernels::table().bfp8_decode16(b.exponent, b.m.data(), r.data());
        return r;
    }
    static Row decode4(const Bfp4& b) {
        Row r;
        kernels::table().bfp4_decode16(b.exponent, b.m.data(), r.data());
        return r;
    }

  private:
    std::optional<testing::ScopedIsa> isa_;
};

INSTANTIATE_TEST_SUITE_P(EveryIsa, Codecs, ::testing::ValuesIn(kernels::supported_isas()),
                         testing::isa_param_name);

// ---- BFLOAT8_B --------------------------------------------------------------------------------

TEST_P(Codecs, Bfp8SharedExponentIsTheRowMaximum) {
    Bfp8 b = encode8(row_of({1.0f, -1.0f, 0.5f, 1.5f, 0.0f, -0.75f}));
    EXPECT_EQ(b.exponent, 127);  // 1.0 and 1.5 have exponent 127
    const std::array<uint8_t, 16> expected = {0x40, 0xc0, 0x20, 0x60, 0x00, 0xb0};
    EXPECT_EQ(b.m, expected);
    EXPECT_EQ(decode8(b), row_of({1.0f, -1.0f, 0.5f, 1.5f, 0.0f, -0.75f}));
}

TEST_P(Codecs, Bfp8TiesRoundToEven) {
    // Exponent 127: steps of 1/64. Each value sits exactly halfway between two steps.
    Row row = row_of({
        1.0f + 1.0f / 128,          // 64.5 steps -> 64 (even)
        1.0f + 3.0f / 128,          // 65.5 -> 66 (odd rounds up)
        1.0f / 128,                 // 0.5 -> 0 (even)
        3.0f / 128,                 // 1.5 -> 2
        5.0f / 128,                 // 2.5 -> 2
        -(7.0f / 128),              // -3.5 -> -4
        1.0f + 1.0f / 128 + 1e-6f,  // just above a tie -> 65
    });
    Bfp8 b = encode8(row);
    EXPECT_EQ(b.exponent, 127);
    const std::array<uint8_t, 16> expected = {64, 66, 0, 2, 2, 0x80 | 4, 65};
    EXPECT_EQ(b.m, expected);
}

// tt-metal shifts the mantissa to the shared exponent first, dropping the bits that fall off,
// and only then rounds: a value a hair above a tie that far below the row maximum rounds as a tie.
TEST_P(Codecs, Bfp8BitsShiftedOutDoNotBreakTies) {
    const float above_tie = from_bits(to_bits(1.0f / 128) + 1);  // 2^-7 (1 + 2^-23): 0.5 steps + 2^-24
    Bfp8 b = encode8(row_of({1.0f, above_tie}));
    EXPECT_EQ(b.m[1], 0);
}

TEST_P(Codecs, Bfp8SaturatesInsteadOfOverflowing) {
    const float just_below_two = from_bits(0x3fffffff);  // 127.99 steps at exponent 127 -> rounds to 128
    Bfp8 b = encode8(row_of({just_below_two, -just_below_two}));
    EXPECT_EQ(b.exponent, 127);
    EXPECT_EQ(b.m[0], 0x7f);
    EXPECT_EQ(b.m[1], 0xff);
    EXPECT_EQ(decode8(b)[0], 127.0f / 64);
}

TEST_P(Codecs, Bfp8ValueRoundingToZeroLosesItsSign) {
    Bfp8 b = encode8(row_of({1.0f, -1.0f / 256, -0.0f, -1.0f / 128}));
    EXPECT_EQ(b.m[1], 0x00);  // 0.25 steps
    EXPECT_EQ(b.m[2], 0x00);  // -0 encodes as 0
    EXPECT_EQ(b.m[3], 0x00);  // a tie that rounds to even 0
    EXPECT_FALSE(std::signbit(decode8(b)[1]));
}

TEST_P(Codecs, Bfp8AllZeroRowIsAllZeroBytes) {
    Row zeros{};
    zeros[5] = -0.0f;
    Bfp8 b = encode8(zeros);
    EXPECT_EQ(b.exponent, 0);
    EXPECT_EQ(b.m, (std::array<uint8_t, 16>{}));
    EXPECT_EQ(decode8(b), Row{});
}

TEST_P(Codecs, Bfp8OutlierFlushesTheRestOfTheRow) {
    Row row;
    row.fill(1.0f);
    row[7] = std::ldexp(1.0f, 100);
    Bfp8 b = encode8(row);
    EXPECT_EQ(b.exponent, 227);
    std::array<uint8_t, 16> expected{};
    expected[7] = 0x40;
    EXPECT_EQ(b.m, expected);
    Row decoded = decode8(b);
    EXPECT_EQ(decoded[7], std::ldexp(1.0f, 100));
    EXPECT_EQ(decoded[0], 0.0f);
}

TEST_P(Codecs, Bfp8DecodeScalesByTheSharedExponent) {
    Bfp8 b;
    b.exponent = 130;  // steps of 2^(130 - 127 - 6) = 1/8
    b.m = {1, 0x81, 127, 0xff, 64};
    EXPECT_EQ(decode8(b), row_of({0.125f, -0.125f, 127.0f / 8, -127.0f / 8, 8.0f}));
}

// Inf encodes as the hidden bit alone at exponent 255 and decodes as Inf; a NaN (any payload,
// 0x7f800001 included, whose rounded mantissa is the hidden bit alone) takes the largest
// magnitude and decodes as a NaN, not as another Inf.
TEST_P(Codecs, Bfp8KeepsInfinitiesAndNaNs) {
    Bfp8 b = encode8(row_of({INFINITY, -INFINITY, from_bits(0x7fc00000), from_bits(0xffc00001),
                             from_bits(0x7f800001), 1.0f, std::ldexp(1.5f, 127)}));
    EXPECT_EQ(b.exponent, 255);
    EXPECT_EQ(b.m[0], 0x40);
    EXPECT_EQ(b.m[1], 0xc0);
    EXPECT_EQ(b.m[2], 0x7f);
    EXPECT_EQ(b.m[3], 0xff);
    EXPECT_EQ(b.m[4], 0x7f);
    Row d = decode8(b);
    EXPECT_EQ(d[0], INFINITY);
    EXPECT_EQ(d[1], -INFINITY);
    EXPECT_TRUE(std::isnan(d[2]));
    EXPECT_TRUE(std::isnan(d[3]));
    EXPECT_TRUE(std::signbit(d[3]));
    EXPECT_TRUE(std::isnan(d[4]));
    EXPECT_EQ(d[5], 0.0f);                   // far below the row's exponent
    EXPECT_EQ(d[6], std::ldexp(1.5f, 127));  // a finite value next to an Inf stays finite
}

// Subnormals have no hidden bit: 1e-40 must not come back as 2^-126 + 1e-40 (about 5.9e-39).
TEST_P(Codecs, Bfp8SubnormalsKeepTheirValue) {
    const float tiny = std::ldexp(1.0f, -132), denormal = 1e-40f;
    Bfp8 row_alone = encode8(row_of({denormal, -denormal / 10}));
    EXPECT_EQ(row_alone.exponent, 1);
    Row d = decode8(row_alone);
    EXPECT_NEAR(d[0], denormal, std::ldexp(1.0f, -133));  // within half a step of 2^-132
    EXPECT_LE(std::fabs(d[1]), 1e-41f + std::ldexp(1.0f, -133));
    // Next to FLT_MIN (exponent 1, steps of 2^-132) the subnormal 2^-132 is exactly one step.
    Bfp8 b = encode8(row_of({std::ldexp(1.0f, -126), tiny, -3 * tiny}));
    EXPECT_EQ(b.exponent, 1);
    EXPECT_EQ(b.m[0], 0x40);
    EXPECT_EQ(b.m[1], 0x01);
    EXPECT_EQ(b.m[2], 0x83);
    EXPECT_EQ(decode8(b), row_of({std::ldexp(1.0f, -126), tiny, -3 * tiny}));
    // Next to 1.0 a subnormal is zero.
    EXPECT_EQ(encode8(row_of({1.0f, denormal})).m[1], 0);
}

// ---- BFLOAT4_B --------------------------------------------------------------------------------

TEST_P(Codecs, Bfp4PacksElementZeroInTheLowNibble) {
    Bfp4 b = encode4(row_of({1.0f, -1.0f, 0.5f, 1.5f, -0.25f, 0.0f, 1.75f}));
    EXPECT_EQ(b.exponent, 127);
    // magnitudes in steps of 1/4: 4, 4 (neg), 2, 6, 1 (neg), 0, 7
    const std::array<uint8_t, 8> expected = {0xc4, 0x62, 0x09, 0x07};
    EXPECT_EQ(b.m, expected);
    EXPECT_EQ(decode4(b), row_of({1.0f, -1.0f, 0.5f, 1.5f, -0.25f, 0.0f, 1.75f}));
}

TEST_P(Codecs, Bfp4TiesRoundToEvenAndSaturate) {
    Bfp4 b = encode4(row_of({1.125f, 1.375f, 1.875f, -1.875f, 0.125f, 0.375f}));
    // 4.5 -> 4, 5.5 -> 6, 7.5 -> 8 saturates to 7, 0.5 -> 0, 1.5 -> 2
    EXPECT_EQ(b.exponent, 127);
    const std::array<uint8_t, 8> expected = {0x64, 0xf7, 0x20};
    EXPECT_EQ(b.m, expected);
}

TEST_P(Codecs, Bfp4SmallValuesFlushAndLoseTheirSign) {
    Bfp4 b = encode4(row_of({-4.0f, -0.25f, 0.5f}));  // exponent 129: steps of 1
    EXPECT_EQ(b.exponent, 129);
    EXPECT_EQ(b.m[0], 0x0c);  // -4 -> 0xc; -0.25 -> 0, not 0x8
    EXPECT_EQ(b.m[1], 0x00);  // 0.5 is a tie -> 0
}

TEST_P(Codecs, Bfp4AllZeroRowIsAllZeroBytes) {
    Bfp4 b = encode4(Row{});
    EXPECT_EQ(b.exponent, 0);
    EXPECT_EQ(b.m, (std::array<uint8_t, 8>{}));
}

TEST_P(Codecs, Bfp4KeepsInfinitiesAndNaNs) {
    Bfp4 b = encode4(row_of({INFINITY, -INFINITY, from_bits(0x7fc00000), from_bits(0xff800001), 1.0f}));
    EXPECT_EQ(b.exponent, 255);
    const std::array<uint8_t, 8> expected = {0xc4, 0xf7, 0x00};  // Inf 4, -Inf 0xc, NaN 7, -NaN 0xf
    EXPECT_EQ(b.m, expected);
    Row d = decode4(b);
    EXPECT_EQ(d[0], INFINITY);
    EXPECT_EQ(d[1], -INFINITY);
    EXPECT_TRUE(std::isnan(d[2]));
    EXPECT_TRUE(std::isnan(d[3]));
    EXPECT_EQ(d[4], 0.0f);
}

TEST_P(Codecs, Bfp4SubnormalsKeepTheirValue) {
    const float step = std::ldexp(1.0f, -128);  // exponent 1: steps of 2^(1 - 127 - 2)
    Bfp4 b = encode4(row_of({3 * step, -step, 1e-44f}));
    EXPECT_EQ(b.exponent, 1);
    EXPECT_EQ(b.m[0], 0x93);  // 3, then -1 in the high nibble
    EXPECT_EQ(b.m[1], 0x00);  // 1e-44 is far below one step
    EXPECT_EQ(decode4(b), row_of({3 * step, -step, 0.0f}));
}

// ---- bfloat16 ---------------------------------------------------------------------------------

TEST_P(Codecs, Bf16RoundsToNearestEven) {
    const uint32_t in[] = {
        0x3f808000,  // tie, 0x3f80 even -> stays
        0x3f818000,  // tie, 0x3f81 odd -> 0x3f82
        0x3f808001,  // above tie -> 0x3f81
        0x3f807fff,  // below tie -> 0x3f80
        0x80000000,  // -0
        0x7f7fffff,  // FLT_MAX rounds to inf
        0xff800000,  // -inf
        0x00000001,  // the smallest denormal rounds to 0
    };
    const uint16_t expected[] = {0x3f80, 0x3f82, 0x3f81, 0x3f80, 0x8000, 0x7f80, 0xff80, 0x0000};
    float src[8];
    uint16_t dst[8];
    for (int i = 0; i < 8; ++i) src[i] = from_bits(in[i]);
    kernels::table().f32_to_bf16(src, dst, 8);
    for (int i = 0; i < 8; ++i) {
        EXPECT_EQ(dst[i], expected[i]) << "input " << std::hex << in[i];
        EXPECT_EQ(bfloat16(src[i]).bits, expected[i]) << "bfloat16() of " << std::hex << in[i];
    }
}

// A NaN must stay a NaN: plain rounding would carry a low-payload NaN into inf (0x7f800001 ->
// 0x7f80) or into the sign bit (0x7fffffff -> 0x8000).
TEST_P(Codecs, Bf16KeepsNaNsNaN) {
    const uint32_t in[] = {0x7fc00000, 0x7f800001, 0x7fffffff, 0xffc00001};
    float src[4];
    uint16_t dst[4];
    for (int i = 0; i < 4; ++i) src[i] = from_bits(in[i]);
    kernels::table().f32_to_bf16(src, dst, 4);
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(dst[i] & 0x7f80, 0x7f80) << std::hex << in[i];
        EXPECT_NE(dst[i] & 0x007f, 0) << std::hex << in[i];
        EXPECT_EQ(dst[i] >> 15, in[i] >> 31) << "sign of " << std::hex << in[i];
        float back;
        kernels::table().bf16_to_f32(&dst[i], &back, 1);
        EXPECT_TRUE(std::isnan(back));
    }
}

TEST_P(Codecs, Bf16DecodeIsExact) {
    const uint16_t in[] = {0x3f80, 0xc040, 0x0001, 0x7f80};
    float out[4];
    kernels::table().bf16_to_f32(in, out, 4);
    EXPECT_EQ(out[0], 1.0f);
    EXPECT_EQ(out[1], -3.0f);
    EXPECT_EQ(to_bits(out[2]), 0x00010000u);
    EXPECT_EQ(out[3], INFINITY);
}

// ---- every ISA writes the same bytes -----------------------------------------------------------

TEST(CodecsAgree, EveryIsaEncodesTheSameBytes) {
    // Rows spanning many exponents, with ties, zeros and sign changes.
    std::vector<Row> rows;
    auto values = testing::random_values(16 * 200, 5, -1.0f, 1.0f);
    for (int r = 0; r < 200; ++r) {
        Row row;
        for (int i = 0; i < 16; ++i) {
            float v = values[r * 16 + i];
            row[i] = std::ldexp(v, (r * 7 + i * 3) % 40 - 20);
            if ((r + i) % 11 == 0) row[i] = 0.0f;
            if ((r + i) % 13 == 0) row[i] = std::ldexp(float((r + i) % 8) + 0.5f, -3);  // ties
        }
        rows.push_back(row);
    }
    auto encode_all = [&](kernels::Isa isa) {
        testing::ScopedIsa scoped(isa);
        std::vector<uint8_t> bytes;
        for (const Row& row : rows) {
            uint8_t e8, m8[16], e4, m4[8];
            uint16_t bf[16];
            kernels::table().bfp8_encode16(row.data(), &e8, m8);
            kernels::table().bfp4_encode16(row.data(), &e4, m4);
            kernels::table().f32_to_bf16(row.data(), bf, 16);
            bytes.push_back(e8);
            bytes.insert(bytes.end(), m8, m8 + 16);
            bytes.push_back(e4);
            bytes.insert(bytes.end(), m4, m4 + 8);
            const uint8_t* b = reinterpret_cast<const uint8_t*>(bf);
            bytes.insert(bytes.end(), b, b + sizeof bf);
        }
        return bytes;
    };
    const auto reference = encode_all(kernels::Isa::portable);
    for (kernels::Isa isa : kernels::supported_isas())
        EXPECT_EQ(encode_all(isa), reference) << kernels::isa_name(isa) << " differs from portable";
}

// ---- tile layout ------------------------------------------------------------------------------

// A 32x32 tile whose face f, row fi holds 2^(f*16 + fi - 32) at column 0 and -1.5 times that at
// column 1 + f, zeros elsewhere: every row gets its own exponent and a marker naming its face.
std::vector<float> marked_tile() {
    std::vector<float> v(32 * 32, 0.0f);
    for (int r = 0; r < 32; ++r)
        for (int c = 0; c < 32; ++c) {
            int f = (r / 16) * 2 + c / 16, fi = r % 16, j = c % 16;
            float scale = std::ldexp(1.0f, f * 16 + fi - 32);
            if (j == 0) v[r * 32 + c] = scale;
            if (j == 1 + f) v[r * 32 + c] = -1.5f * scale;
        }
    return v;
}

TEST_P(Codecs, Bfp8TileIsExponentsThenFaces) {
    auto data = marked_tile();
    Tensor t = from_host(std::span<const float>(data), Shape{32, 32},
                         {.dtype = DataType::BFLOAT8_B, .layout = Layout::TILE});
    ASSERT_EQ(t.buffer()->size, 1088u);
    std::vector<uint8_t> expected(1088, 0);
    for (int f = 0; f < 4; ++f)
        for (int fi = 0; fi < 16; ++fi) {
            expected[f * 16 + fi] = uint8_t(127 + f * 16 + fi - 32);
            expected[64 + f * 256 + fi * 16 + 0] = 0x40;
            expected[64 + f * 256 + fi * 16 + 1 + f] = 0x80 | 0x60;
        }
    const auto* bytes = reinterpret_cast<const uint8_t*>(t.buffer()->data);
    EXPECT_EQ(std::vector<uint8_t>(bytes, bytes + 1088), expected);
    EXPECT_EQ(to_host<float>(t), data);
}

TEST_P(Codecs, Bfp4TileIsExponentsThenFaces) {
    auto data = marked_tile();
    Tensor t = from_host(std::span<const float>(data), Shape{32, 32},
                         {.dtype = DataType::BFLOAT4_B, .layout = Layout::TILE});
    ASSERT_EQ(t.buffer()->size, 576u);
    std::vector<uint8_t> expected(576, 0);
    for (int f = 0; f < 4; ++f)
        for (int fi = 0; fi < 16; ++fi) {
            expected[f * 16 + fi] = uint8_t(127 + f * 16 + fi - 32);
            uint8_t* row = &expected[64 + f * 128 + fi * 8];
            row[0] |= 0x4;                                            // element 0: +1.0 step 4, low nibble
            row[(1 + f) / 2] |= uint8_t(0xe << (((1 + f) % 2) * 4));  // element 1 + f: -1.5 -> 0x8 | 6
        }
    const auto* bytes = reinterpret_cast<const uint8_t*>(t.buffer()->data);
    EXPECT_EQ(std::vector<uint8_t>(bytes, bytes + 576), expected);
    EXPECT_EQ(to_host<float>(t), data);
}

// Tiles follow each other row-major over the tensor: tile (0, 1) comes second.
TEST_P(Codecs, Bfp8TilesAreRowMajorOverTheTensor) {
    std::vector<float> data(64 * 64, 0.0f);
    data[0 * 64 + 32] = 2.0f;  // tile (0, 1), face 0, row 0
    data[32 * 64 + 0] = 4.0f;  // tile (1, 0), face 0, row 0
    Tensor t = from_host(std::span<const float>(data), Shape{64, 64},
                         {.dtype = DataType::BFLOAT8_B, .layout = Layout::TILE});
    const auto* bytes = reinterpret_cast<const uint8_t*>(t.buffer()->data);
    EXPECT_EQ(bytes[0], 0);           // tile 0 is all zero
    EXPECT_EQ(bytes[1088 + 0], 128);  // tile 1: exponent of 2.0
    EXPECT_EQ(bytes[1088 + 64], 0x40);
    EXPECT_EQ(bytes[2 * 1088 + 0], 129);  // tile 2: exponent of 4.0
    EXPECT_EQ(bytes[2 * 1088 + 64], 0x40);
}

}  // namespace
}  // namespace attnn
