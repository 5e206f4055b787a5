// The kernels of one instruction set. This file is compiled once per ISA with
// ATTNN_ISA_NS set to avx512, avx2 or portable and the matching -m flags; GCC's vector
// extensions turn `vf` arithmetic into zmm, ymm or xmm code. Nothing here may use an inline
// function of a shared header (std::max, std::vector...): the linker could pick a copy
// compiled for a wider ISA than the CPU has. Builtins and plain loops only.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/kernels.hpp"

#ifndef ATTNN_ISA_NS
#error "ATTNN_ISA_NS must name the ISA this translation unit is compiled for"
#endif

namespace attnn::kernels::ATTNN_ISA_NS {
namespace {

#if defined(__AVX512F__)
constexpr int W = 16;        // floats per vector
constexpr int gemm_mr = 14;  // 14 x 2 zmm accumulators + 2 B vectors + 1 broadcast = 31 of 32 registers
constexpr Isa this_isa = Isa::avx512;
#elif defined(__AVX2__)
constexpr int W = 8;
constexpr int gemm_mr = 6;  // 6 x 2 ymm accumulators + 2 B + 1 broadcast = 15 of 16 registers
constexpr Isa this_isa = Isa::avx2;
#else
constexpr int W = 4;
constexpr int gemm_mr = 4;  // 4 x 2 xmm accumulators + 2 B + 1 broadcast = 11 of 16 registers
constexpr Isa this_isa = Isa::portable;
#endif
constexpr int gemm_nv = 2;  // B vectors per k step
constexpr int gemm_nr = gemm_nv * W;

typedef float vf __attribute__((vector_size(W * 4)));
typedef int32_t vi __attribute__((vector_size(W * 4)));
typedef uint32_t vu __attribute__((vector_size(W * 4)));

inline vf load(const float* p) {
    vf v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
// A broadcast that compiles to one vbroadcastss from memory (vf{} + x would add -0.0 first).
inline vf splat(float x) {
#if defined(__AVX512F__)
    return (vf)_mm512_set1_ps(x);
#elif defined(__AVX2__)
    return (vf)_mm256_set1_ps(x);
#else
    return (vf)_mm_set1_ps(x);
#endif
}
inline float hsum(vf v) {
#if defined(__AVX512F__)
    return _mm512_reduce_add_ps((__m512)v);
#elif defined(__AVX2__)
    __m128 x = _mm_add_ps(_mm256_castps256_ps128((__m256)v), _mm256_extractf128_ps((__m256)v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
#else
    float s = 0;
    for (int i = 0; i < W; ++i) s += v[i];
    return s;
#endif
}
inline vf vmax(vf a, vf b) { return a > b ? a : b; }
inline float fmax_scalar(float a, float b) { return a > b ? a : b; }
inline float bits_to_float(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
inline uint32_t float_to_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

// exp(x) to about 1 ulp (Cephes expf): x = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-6
// polynomial, 2^n by building the exponent bits. exp(-inf) = 0, exp(NaN) = NaN, and past
// ln(FLT_MAX) (88.72) +inf, as silu's exp(-x) of a large negative x needs.
inline vf vexp(vf x) {
#if defined(__AVX512F__)
    // The same reduction and polynomial, with the rounding by vrndscaleps and 2^n by vscalefps
    // instead of the integer round trip: about half the instructions. vscalefps goes below
    // 2^-126 by itself (subnormal, then 0), so x is clamped only where that is already 0, at
    // -104, and -inf gives 0 with no mask; max and min take x as their second operand, which
    // they return where it is NaN, so NaN comes through the arithmetic as NaN. Above, vscalefps
    // overflows to +inf by itself: the clamp at 104 only keeps n small.
    const __m512 xv = (__m512)x;
    const __m512 xc = _mm512_min_ps(_mm512_set1_ps(104.0f), _mm512_max_ps(_mm512_set1_ps(-104.0f), xv));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    return (vf)_mm512_scalef_ps(p, n);
#else
    // 2^n is built in two steps, 2^(n - up) * 2^up with up = 1 where n > 0, so that n = 128
    // (x up to ln(FLT_MAX)) stays a normal exponent; above that the result is +inf.
    const vf hi = splat(88.72283935546875f), lo = splat(-87.3365478515625f);
    vf xc = x > hi ? hi : x;
    xc = xc < lo ? lo : xc;
    vf fx = xc * 1.44269504088896341f;
    vi n = __builtin_convertvector(fx + (fx >= 0 ? splat(0.5f) : splat(-0.5f)), vi);  // round
    vf nf = __builtin_convertvector(n, vf);
    vf r = xc - nf * 0.693359375f;
    r = r - nf * -2.12194440e-4f;
    vf p = splat(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const vi up = (n > 0) & 1;
    vi e = (n - up + 127) << 23;
    vf scale;
    std::memcpy(&scale, &e, sizeof scale);
    vf y = p * scale;
    y = up != 0 ? y + y : y;
    y = x < lo ? splat(0.0f) : y;
    y = x > hi ? splat(__builtin_inff()) : y;
    return x != x ? x : y;  // NaN in, NaN out
#endif
}

inline float exp_scalar(float x) {
    vf v = splat(x);
    return vexp(v)[0];
}

// erf(x) by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
inline vf verf(vf x) {
    vf ax = x < 0 ? -x : x;
    vf t = 1.0f / (1.0f + 0.3275911f * ax);
    vf y = splat(1.061405429f);
    y = y * t - 1.453152027f;
    y = y * t + 1.421413741f;
    y = y * t - 0.284496736f;
    y = y * t + 0.254829592f;
    y = 1.0f - y * t * vexp(-ax * ax);
    return x < 0 ? -y : y;
}

// ---- codecs -------------------------------------------------------------------------------

void bf16_to_f32(const uint16_t* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        uint32_t u = uint32_t(src[i]) << 16;
        std::memcpy(dst + i, &u, 4);
    }
}

void f32_to_bf16(const float* src, uint16_t* dst, int64_t n) {
    int64_t i = 0;
#if defined(__AVX512F__)
    // Sixteen at a time in registers (GCC leaves the scalar loop scalar): the same rounding.
    for (; i + 16 <= n; i += 16) {
        const __m512i u = _mm512_loadu_si512(src + i);
        __m512i r = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)),
                                     _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1)));
        r = _mm512_srli_epi32(r, 16);
        const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                                      _mm512_set1_epi32(0x7f800000));
        r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40)));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm512_cvtepi32_epi16(r));
    }
#endif
    for (; i < n; ++i) {
        uint32_t u;
        std::memcpy(&u, src + i, 4);
        bool nan = (u & 0x7fffffffu) > 0x7f800000u;
        uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
        dst[i] = uint16_t(nan ? ((u >> 16) | 0x40u) : rounded);
    }
}

// 2^(e - 127 - mantissa_bits): the weight of magnitude 1 in a row with shared exponent e.
inline float bfp_step(uint32_t e, int mantissa_bits) {
    int p = int(e) - 127 - mantissa_bits;
    if (p >= -126) return bits_to_float(uint32_t(p + 127) << 23);
    // Subnormal steps (shared exponent < 7, e.g. an all-zero row): two normal powers of two
    // multiplied, rather than a libm call per face row.
    return bits_to_float(uint32_t(p + 64 + 127) << 23) * bits_to_float(uint32_t(-64 + 127) << 23);
}

// Sixteen values at a time: widen bytes (or bf16 halves) to 32-bit lanes with the ISA's own
// zero-extending loads (GCC's generic conversions of byte vectors go through scalar code).
typedef uint32_t v16u32 __attribute__((vector_size(64)));
typedef float v16f __attribute__((vector_size(64)));

inline v16u32 widen_bytes16(const uint8_t* m) {
    v16u32 x;
#if defined(__AVX512F__)
    __m512i w = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(m)));
    std::memcpy(&x, &w, 64);
#elif defined(__AVX2__)
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(m));
    __m256i lo = _mm256_cvtepu8_epi32(b), hi = _mm256_cvtepu8_epi32(_mm_srli_si128(b, 8));
    std::memcpy(&x, &lo, 32);
    std::memcpy(reinterpret_cast<char*>(&x) + 32, &hi, 32);
#else
    for (int i = 0; i < 16; ++i) x[i] = m[i];
#endif
    return x;
}

// Sign-magnitude codes -> magnitude * step with the sign bit put back.
inline void sign_magnitude16(v16u32 x, uint32_t magnitude_mask, uint32_t sign_bit, float step, float* dst) {
    v16f f = __builtin_convertvector(x & magnitude_mask, v16f) * step;
    v16u32 bits;
    std::memcpy(&bits, &f, 64);
    bits |= (x & sign_bit) << (31 - __builtin_ctz(sign_bit));
    std::memcpy(dst, &bits, 64);
}

// A face row whose shared exponent is 255 held an Inf or a NaN. Inf encodes as the hidden bit
// alone (magnitude 2^mbits), which decodes to Inf by itself; a NaN keeps mantissa bits below it
// (bfp_encode_one gives it the largest magnitude), and is decoded as a quiet NaN here rather than
// as another Inf.
inline void bfp_nans16(const uint8_t* codes, uint32_t magnitude_mask, uint32_t sign_bit, float* dst) {
    const uint32_t hidden = (magnitude_mask + 1) >> 1;
    for (int i = 0; i < 16; ++i)
        if ((codes[i] & magnitude_mask) > hidden)
            dst[i] = bits_to_float(0x7fc00000u | ((codes[i] & sign_bit) ? 0x80000000u : 0u));
}

void bfp8_decode16(uint8_t exponent, const uint8_t* m, float* dst) {
    sign_magnitude16(widen_bytes16(m), 0x7f, 0x80, bfp_step(exponent, 6), dst);
    if (exponent == 255) [[unlikely]]
        bfp_nans16(m, 0x7f, 0x80, dst);
}

void bfp4_decode16(uint8_t exponent, const uint8_t* m, float* dst) {
    uint8_t nibbles[16];
    for (int i = 0; i < 8; ++i) nibbles[2 * i] = m[i] & 0xf, nibbles[2 * i + 1] = m[i] >> 4;
    sign_magnitude16(widen_bytes16(nibbles), 0x7, 0x8, bfp_step(exponent, 2), dst);
    if (exponent == 255) [[unlikely]]
        bfp_nans16(nibbles, 0x7, 0x8, dst);
}

inline void bf16_to_f32_16(const uint8_t* src, float* dst) {
#if defined(__AVX512F__)
    __m512i w = _mm512_slli_epi32(
        _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src))), 16);
    _mm512_storeu_si512(dst, w);
#elif defined(__AVX2__)
    __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm256_slli_epi32(_mm256_cvtepu16_epi32(lo), 16));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 8),
                        _mm256_slli_epi32(_mm256_cvtepu16_epi32(hi), 16));
#else
    bf16_to_f32(reinterpret_cast<const uint16_t*>(src), dst, 16);
#endif
}

// The exponent a value is encoded at: its own, or 1 for a subnormal, whose mantissa has no
// hidden bit and is worth 2^-149 per unit, as a normal mantissa is at exponent 1.
inline uint32_t bfp_exponent_of(uint32_t u) {
    const uint32_t e = (u >> 23) & 0xffu;
    return e == 0 && (u & 0x007fffffu) ? 1u : e;
}

// tt-metal's convert_u32_to_bfp for one value: restore the hidden bit, shift right by the
// distance to the shared exponent (the bits shifted out are dropped), then round the
// remaining 24-bit mantissa to `width` bits to nearest, ties to even, and saturate. A value
// that rounds to zero loses its sign. Subnormals have no hidden bit; a NaN takes the largest
// magnitude so that it decodes as a NaN (bfp_nans16), not as the Inf that the hidden bit
// alone encodes.
template <int width>
inline uint32_t bfp_encode_one(uint32_t u, uint32_t shared_exp) {
    constexpr uint32_t shift = 24 - width;
    constexpr uint32_t max_val = (1u << width) - 1;
    if ((u & 0x7fffffffu) == 0) return 0;
    uint32_t sign = u >> 31;
    if ((u & 0x7fffffffu) > 0x7f800000u) return (sign << width) | max_val;
    uint32_t mantissa = (u & 0x007fffffu) | ((u & 0x7f800000u) ? 1u << 23 : 0u);
    uint32_t exp = bfp_exponent_of(u);
    uint32_t diff = shared_exp - exp;
    mantissa = diff > 31 ? 0 : mantissa >> diff;
    uint32_t round = mantissa & ((1u << shift) - 1);
    mantissa >>= shift;
    constexpr uint32_t tie = 1u << (shift - 1);
    if (round > tie || (round == tie && (mantissa & 1u))) mantissa += 1;
    if (mantissa > max_val) mantissa = max_val;
    if (mantissa == 0) sign = 0;
    return (sign << width) | mantissa;
}

inline uint32_t max_exponent16(const float* src, uint32_t* bits) {
    uint32_t e = 0;
    for (int i = 0; i < 16; ++i) {
        bits[i] = float_to_bits(src[i]);
        uint32_t ei = bfp_exponent_of(bits[i]);
        e = ei > e ? ei : e;
    }
    return e;
}

void bfp8_encode16(const float* src, uint8_t* exponent, uint8_t* m) {
    uint32_t bits[16];
    uint32_t e = max_exponent16(src, bits);
    *exponent = uint8_t(e);
    for (int i = 0; i < 16; ++i) m[i] = uint8_t(bfp_encode_one<7>(bits[i], e));
}

void bfp4_encode16(const float* src, uint8_t* exponent, uint8_t* m) {
    uint32_t bits[16];
    uint32_t e = max_exponent16(src, bits);
    *exponent = uint8_t(e);
    for (int i = 0; i < 8; ++i)
        m[i] = uint8_t(bfp_encode_one<3>(bits[2 * i], e) | (bfp_encode_one<3>(bits[2 * i + 1], e) << 4));
}

// One loop per format so each inner step is straight-line vector code.
template <int format>
void decode_tile_rows_as(const uint8_t* band, int64_t tile_bytes, int64_t tiles, int64_t i0, int64_t rows,
                         float* dst, int64_t ld) {
    for (int64_t t = 0; t < tiles; ++t) {
        const uint8_t* tile = band + t * tile_bytes;
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t i = i0 + r, fi = i % 16, faces = (i / 16) * 2;
            for (int64_t half = 0; half < 2; ++half) {
                const int64_t face = faces + half;
                float* out = dst + r * ld + t * 32 + half * 16;
                if constexpr (format == 0) std::memcpy(out, tile + (face * 256 + fi * 16) * 4, 64);
                if constexpr (format == 1) bf16_to_f32_16(tile + (face * 256 + fi * 16) * 2, out);
                if constexpr (format == 2)
                    bfp8_decode16(tile[face * 16 + fi], tile + 64 + face * 256 + fi * 16, out);
                if constexpr (format == 3)
                    bfp4_decode16(tile[face * 16 + fi], tile + 64 + face * 128 + fi * 8, out);
            }
        }
    }
}

void decode_tile_rows(int format, const uint8_t* band, int64_t tile_bytes, int64_t tiles, int64_t i0,
                      int64_t rows, float* dst, int64_t ld) {
    switch (format) {
        case 0:
            decode_tile_rows_as<0>(band, tile_bytes, tiles, i0, rows, dst, ld);
            break;
        case 1:
            decode_tile_rows_as<1>(band, tile_bytes, tiles, i0, rows, dst, ld);
            break;
        case 2:
            decode_tile_rows_as<2>(band, tile_bytes, tiles, i0, rows, dst, ld);
            break;
        default:
            decode_tile_rows_as<3>(band, tile_bytes, tiles, i0, rows, dst, ld);
            break;
    }
}

// The inverse of decode_tile_rows: rows [i0, i0 + rows) of a band from src rows (stride ld),
// columns [0, cols) of them; the band's columns from cols on are written as zeros.
template <int format>
void encode_tile_rows_as(uint8_t* band, int64_t tile_bytes, int64_t tiles, int64_t i0, int64_t rows,
                         const float* src, int64_t ld, int64_t cols) {
    float part[16];
    for (int64_t t = 0; t < tiles; ++t) {
        uint8_t* tile = band + t * tile_bytes;
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t i = i0 + r, fi = i % 16, faces = (i / 16) * 2;
            for (int64_t half = 0; half < 2; ++half) {
                const int64_t face = faces + half, c0 = t * 32 + half * 16;
                const float* in = src + r * ld + c0;
                if (c0 + 16 > cols) {  // a face row reaching past cols: its valid values, then zeros
                    for (int64_t c = 0; c < 16; ++c) part[c] = c0 + c < cols ? in[c] : 0.0f;
                    in = part;
                }
                if constexpr (format == 0) std::memcpy(tile + (face * 256 + fi * 16) * 4, in, 64);
                if constexpr (format == 1) f32_to_bf16(in, reinterpret_cast<uint16_t*>(tile + (face * 256 + fi * 16) * 2), 16);
                if constexpr (format == 2) bfp8_encode16(in, tile + face * 16 + fi, tile + 64 + face * 256 + fi * 16);
                if constexpr (format == 3) bfp4_encode16(in, tile + face * 16 + fi, tile + 64 + face * 128 + fi * 8);
            }
        }
    }
}

void encode_tile_rows(int format, uint8_t* band, int64_t tile_bytes, int64_t tiles, int64_t i0, int64_t rows,
                      const float* src, int64_t ld, int64_t cols) {
    switch (format) {
        case 0:
            encode_tile_rows_as<0>(band, tile_bytes, tiles, i0, rows, src, ld, cols);
            break;
        case 1:
            encode_tile_rows_as<1>(band, tile_bytes, tiles, i0, rows, src, ld, cols);
            break;
        case 2:
            encode_tile_rows_as<2>(band, tile_bytes, tiles, i0, rows, src, ld, cols);
            break;
        default:
            encode_tile_rows_as<3>(band, tile_bytes, tiles, i0, rows, src, ld, cols);
            break;
    }
}

template <int64_t EB>
void copy_rows_to_tiles_as(uint8_t* band, int64_t i0, int64_t rows, const uint8_t* src, int64_t ld, int64_t cols) {
    constexpr int64_t face_row = 16 * EB, face = 16 * face_row, tile = 4 * face;
    const int64_t full = cols / 16, tail = cols % 16;
    for (int64_t i = 0; i < rows; ++i) {
        const int64_t r = i0 + i;
        uint8_t* row = band + (r >= 16 ? 2 * face : 0) + (r & 15) * face_row;
        const uint8_t* in = src + i * ld;
        auto out = [&](int64_t s) { return row + (s >> 1) * tile + (s & 1) * face; };
        for (int64_t s = 0; s < full; ++s) std::memcpy(out(s), in + s * face_row, face_row);
        if (tail) {
            std::memcpy(out(full), in + full * face_row, std::size_t(tail * EB));
            std::memset(out(full) + tail * EB, 0, std::size_t(face_row - tail * EB));
        }
    }
}

void copy_rows_to_tiles(int format, uint8_t* band, int64_t i0, int64_t rows, const uint8_t* src, int64_t ld,
                        int64_t cols) {
    if (format == 0)
        copy_rows_to_tiles_as<4>(band, i0, rows, src, ld, cols);
    else
        copy_rows_to_tiles_as<2>(band, i0, rows, src, ld, cols);
}

// dst[c * ldd + r] = src[r * lds + c] * scale: W x W blocks transposed in registers, the edges
// one value at a time.
inline void transpose_block(const float* src, int64_t lds, float* dst, int64_t ldd, float scale) {
#if defined(__AVX512F__)
    __m512 r[16], t[16];
    const __m512 s = _mm512_set1_ps(scale);
    for (int i = 0; i < 16; ++i) r[i] = _mm512_mul_ps(_mm512_loadu_ps(src + i * lds), s);
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // r[4g + c], 128-bit lane l: column 4l + c of rows 4g .. 4g + 3
    for (int g = 0; g < 4; ++g) {
        const __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]),
                      c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
        r[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    // Output row 4l + c gathers lane l of r[c], r[4 + c], r[8 + c], r[12 + c].
    for (int c = 0; c < 4; ++c) {
        const __m512 p0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x44), p1 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xee);
        const __m512 p2 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x44),
                     p3 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xee);
        _mm512_storeu_ps(dst + c * ldd, _mm512_shuffle_f32x4(p0, p2, 0x88));
        _mm512_storeu_ps(dst + (4 + c) * ldd, _mm512_shuffle_f32x4(p0, p2, 0xdd));
        _mm512_storeu_ps(dst + (8 + c) * ldd, _mm512_shuffle_f32x4(p1, p3, 0x88));
        _mm512_storeu_ps(dst + (12 + c) * ldd, _mm512_shuffle_f32x4(p1, p3, 0xdd));
    }
#elif defined(__AVX2__)
    __m256 r[8], t[8];
    const __m256 s = _mm256_set1_ps(scale);
    for (int i = 0; i < 8; ++i) r[i] = _mm256_mul_ps(_mm256_loadu_ps(src + i * lds), s);
    for (int i = 0; i < 4; ++i) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int g = 0; g < 2; ++g) {
        const __m256d a = _mm256_castps_pd(t[4 * g]), b = _mm256_castps_pd(t[4 * g + 1]),
                      c = _mm256_castps_pd(t[4 * g + 2]), d = _mm256_castps_pd(t[4 * g + 3]);
        r[4 * g] = _mm256_castpd_ps(_mm256_unpacklo_pd(a, c));
        r[4 * g + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(a, c));
        r[4 * g + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(b, d));
        r[4 * g + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(b, d));
    }
    for (int c = 0; c < 4; ++c) {
        _mm256_storeu_ps(dst + c * ldd, _mm256_permute2f128_ps(r[c], r[4 + c], 0x20));
        _mm256_storeu_ps(dst + (4 + c) * ldd, _mm256_permute2f128_ps(r[c], r[4 + c], 0x31));
    }
#else
    for (int i = 0; i < W; ++i)
        for (int j = 0; j < W; ++j) dst[j * ldd + i] = src[i * lds + j] * scale;
#endif
}

void transpose(const float* src, int64_t lds, int64_t rows, int64_t cols, float scale, float* dst, int64_t ldd) {
    const int64_t rb = rows / W * W, cb = cols / W * W;
    for (int64_t i = 0; i < rb; i += W)
        for (int64_t j = 0; j < cb; j += W) transpose_block(src + i * lds + j, lds, dst + j * ldd + i, ldd, scale);
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = i < rb ? cb : 0; j < cols; ++j) dst[j * ldd + i] = src[i * lds + j] * scale;
}

// ---- GEMM microkernel -------------------------------------------------------------------

// C[MR x NV W] (+)= A B over kc steps, A(i, k) at a[i * stride_i + k * stride_k], B packed
// k-major in rows of gemm_nr (the first NV W of them used). MR x NV vector accumulators stay in
// registers; each k step loads NV B vectors and broadcasts MR A values. Inlined into each
// wrapper below, so constant strides fold into the addressing.
template <int MR, int NV = gemm_nv>
__attribute__((always_inline)) inline void microkernel(int64_t kc, const float* a, int64_t stride_i,
                                                       int64_t stride_k, const float* b, float* c,
                                                       int64_t ldc, bool accumulate) {
    vf acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) acc[i][j] = vf{};
    for (int64_t k = 0; k < kc; ++k) {
        vf bv[NV];
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) bv[j] = load(b + j * W);
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
            vf av = splat(a[i * stride_i]);
#pragma GCC unroll 4
            for (int j = 0; j < NV; ++j) acc[i][j] += av * bv[j];
        }
        a += stride_k;
        b += gemm_nr;
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) {
            float* p = c + i * ldc + j * W;
            store(p, accumulate ? load(p) + acc[i][j] : acc[i][j]);
        }
}

// A packed k-major in mr-row panels (the GEMM's own packing).
void gemm_kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
    microkernel<gemm_mr>(kc, a, 1, gemm_mr, b, c, ldc, accumulate);
}

// A row-major (A(i, k) = a[i * lda + k]) or column-major (a[k * lda + i]), exactly `rows` rows:
// one instantiation per row count, so a tail of rows costs what it computes.
template <bool column_major, int NV, int MR = gemm_mr>
void microkernel_rows(int rows, int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                      bool accumulate) {
    if constexpr (MR > 1) {
        if (rows < MR) return microkernel_rows<column_major, NV, MR - 1>(rows, kc, a, lda, b, c, ldc, accumulate);
    }
    if constexpr (column_major)
        microkernel<MR, NV>(kc, a, 1, lda, b, c, ldc, accumulate);
    else
        microkernel<MR, NV>(kc, a, lda, 1, b, c, ldc, accumulate);
}

void gemm_kernel_rows(int rows, int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                      bool accumulate) {
    microkernel_rows<false, gemm_nv>(rows, kc, a, lda, b, c, ldc, accumulate);
}

void gemm_kernel_cols(int rows, int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                      bool accumulate) {
    microkernel_rows<true, gemm_nv>(rows, kc, a, lda, b, c, ldc, accumulate);
}

void gemm_kernel_rows_half(int rows, int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                           int64_t ldc, bool accumulate) {
    microkernel_rows<false, gemm_nv / 2>(rows, kc, a, lda, b, c, ldc, accumulate);
}

void gemm_kernel_cols_half(int rows, int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                           int64_t ldc, bool accumulate) {
    microkernel_rows<true, gemm_nv / 2>(rows, kc, a, lda, b, c, ldc, accumulate);
}

// ---- decode attention ------------------------------------------------------------------

// Calls F<H>::run(first_head, args...) for the heads in groups of up to Max (4 or 8).
template <template <int> class F, int Max = 8, class... Args>
void for_head_groups(int64_t heads, Args... args) {
    static_assert(Max == 4 || Max == 8, "groups of 4 or 8 heads");
    for (int64_t h0 = 0; h0 < heads; h0 += Max) {
        switch (heads - h0 < Max ? heads - h0 : Max) {
            case 1:
                F<1>::run(h0, args...);
                break;
            case 2:
                F<2>::run(h0, args...);
                break;
            case 3:
                F<3>::run(h0, args...);
                break;
            case 4:
                F<4>::run(h0, args...);
                break;
            case 5:
                if constexpr (Max == 8) F<5>::run(h0, args...);
                break;
            case 6:
                if constexpr (Max == 8) F<6>::run(h0, args...);
                break;
            case 7:
                if constexpr (Max == 8) F<7>::run(h0, args...);
                break;
            default:  // Max heads (8; with groups of 4, case 4 has taken them)
                if constexpr (Max == 8) F<8>::run(h0, args...);
                break;
        }
    }
}

// ---- flash decode straight from tiles --------------------------------------------------
//
// Decode reads each cached K and V byte once, so the kernels take their operands from the
// tiles themselves: a face row (16 values of one position) is decoded into registers and used
// at once for every query head of the group, with no fp32 copy of the chunk in between.

constexpr int R = 16 / W;  // vectors per 16-value face row

// The attention kernels read a block-float face row whose shared exponent is 255 (it holds an
// Inf or a NaN) as NaN throughout: its step is a NaN, so every score and output that uses the
// row is NaN, as the reference's would be non-finite, instead of the huge finite values the
// plain scale would give (a NaN key scored -Inf would silently drop out of the softmax).
constexpr uint32_t bfp_nonfinite_exponent = 255;

// Whether any face row of the band's block-float tiles (all 32 rows, run or not) is non-finite:
// kernels that would pay for the NaN in every step check it once per band.
inline bool has_nonfinite_rows(const TileBand& band) {
    const int64_t tiles = (band.dh + 31) / 32;
    bool any = false;
    for (int64_t t = 0; t < tiles; ++t) {
        const uint8_t* exponents = band.tiles + t * band.tile_bytes;
#if defined(__AVX512BW__)
        any |= _mm512_cmpeq_epi8_mask(_mm512_loadu_si512(exponents), _mm512_set1_epi8(char(0xff))) != 0;
#else
        for (int i = 0; i < 64; ++i) any |= exponents[i] == bfp_nonfinite_exponent;
#endif
    }
    return any;
}

// 2^(e - 127 - mbits) for the 64 face rows of one block-float tile (exponent bytes at
// tile[0..63]); NaN where e is 255.
inline void bfp_steps64(const uint8_t* tile, int mbits, float* steps) {
#if defined(__AVX512F__)
    for (int f = 0; f < 4; ++f) {
        __m512i e = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tile + f * 16)));
        __m512i normal = _mm512_slli_epi32(_mm512_sub_epi32(e, _mm512_set1_epi32(mbits)), 23);
        // Below 2^-126 the step is subnormal: 2^-149 shifted up.
        __m512i tiny = _mm512_sllv_epi32(_mm512_set1_epi32(1), _mm512_add_epi32(e, _mm512_set1_epi32(22 - mbits)));
        __mmask16 small = _mm512_cmple_epu32_mask(e, _mm512_set1_epi32(mbits));
        __mmask16 nonfinite = _mm512_cmpeq_epi32_mask(e, _mm512_set1_epi32(bfp_nonfinite_exponent));
        __m512i step = _mm512_mask_blend_epi32(small, normal, tiny);
        step = _mm512_mask_mov_epi32(step, nonfinite, _mm512_set1_epi32(0x7fc00000));
        _mm512_storeu_si512(steps + f * 16, step);
    }
#else
    for (int i = 0; i < 64; ++i)
        steps[i] = tile[i] == bfp_nonfinite_exponent ? bits_to_float(0x7fc00000u) : bfp_step(tile[i], mbits);
#endif
}

// Sign-magnitude codes widened to 32-bit lanes, sign-extended from the code's top bit, times step.
inline vf sign_magnitude(vi x, int32_t magnitude_mask, float step) {
    vf f = __builtin_convertvector(x & magnitude_mask, vf) * step;
    vi bits;
    std::memcpy(&bits, &f, sizeof f);
    bits ^= x & int32_t(0x80000000u);
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

// One 16-value face row of a tile in `format`: where it lies and how it decodes into R vectors.
// Block floats keep their 16 shared exponents per face first, then the codes; `step` is the
// row's bfp_steps64 entry (unused otherwise).
template <int format>
struct FaceRow {
    static constexpr int64_t offset(int64_t face, int64_t fi) {
        if constexpr (format == 0) return (face * 256 + fi * 16) * 4;
        if constexpr (format == 1) return (face * 256 + fi * 16) * 2;
        if constexpr (format == 2) return 64 + face * 256 + fi * 16;
        return 64 + face * 128 + fi * 8;
    }
    static void decode(const uint8_t* src, float step, vf* out) {
        if constexpr (format == 0) {
            for (int r = 0; r < R; ++r) out[r] = load(reinterpret_cast<const float*>(src) + r * W);
        } else if constexpr (format == 1) {
#if defined(__AVX512F__)
            __m512i w = _mm512_slli_epi32(
                _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src))), 16);
            std::memcpy(&out[0], &w, 64);
#elif defined(__AVX2__)
            for (int r = 0; r < 2; ++r) {
                __m256i w = _mm256_slli_epi32(
                    _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16 * r))), 16);
                std::memcpy(&out[r], &w, 32);
            }
#else
            for (int r = 0; r < R; ++r) {
                __m128i h = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + 8 * r));
                __m128i w = _mm_unpacklo_epi16(_mm_setzero_si128(), h);
                std::memcpy(&out[r], &w, 16);
            }
#endif
        } else {
            __m128i codes;
            if constexpr (format == 2) {
                codes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
            } else {
                // Element 2i is byte i's low nibble, 2i + 1 its high one; each nibble's sign bit
                // (bit 3) moves to bit 7 so the codes sign-extend like BFLOAT8_B's.
                const __m128i packed = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src));
                const __m128i low4 = _mm_set1_epi8(0x0f);
                __m128i lo = _mm_and_si128(packed, low4), hi = _mm_and_si128(_mm_srli_epi16(packed, 4), low4);
                codes = _mm_unpacklo_epi8(lo, hi);
                codes = _mm_or_si128(_mm_and_si128(codes, _mm_set1_epi8(0x07)),
                                     _mm_and_si128(_mm_slli_epi16(codes, 4), _mm_set1_epi8(int8_t(0x80))));
            }
#if defined(__AVX512F__)
            __m512i x = _mm512_cvtepi8_epi32(codes);
            vi xi;
            std::memcpy(&xi, &x, 64);
            out[0] = sign_magnitude(xi, 0x7f, step);
#elif defined(__AVX2__)
            for (int r = 0; r < 2; ++r) {
                __m256i x = _mm256_cvtepi8_epi32(r ? _mm_srli_si128(codes, 8) : codes);
                vi xi;
                std::memcpy(&xi, &x, 32);
                out[r] = sign_magnitude(xi, 0x7f, step);
            }
#else
            int8_t c[16];
            _mm_storeu_si128(reinterpret_cast<__m128i*>(c), codes);
            for (int r = 0; r < R; ++r) {
                vi xi;
                for (int i = 0; i < W; ++i) xi[i] = c[r * W + i];
                out[r] = sign_magnitude(xi, 0x7f, step);
            }
#endif
        }
    }
};

// Where one position lies in every tile of a band: its face rows in the left (columns 0-15)
// and right (16-31) faces, as byte offsets from the tile and indices into the tile's steps.
template <int format>
struct RowPlace {
    int64_t left, right, step_left;
    explicit RowPlace(int64_t i) {
        const int64_t face = (i / 16) * 2, fi = i % 16;
        left = FaceRow<format>::offset(face, fi);
        right = FaceRow<format>::offset(face + 1, fi);
        step_left = face * 16 + fi;
    }
    // Face row s (columns [16 s, 16 s + 16)) of the band.
    void decode(const TileBand& band, int64_t s, const float* steps, vf* out) const {
        const uint8_t* tile = band.tiles + (s >> 1) * band.tile_bytes;
        FaceRow<format>::decode(tile + (s & 1 ? right : left), steps[(s >> 1) * 64 + step_left + (s & 1) * 16],
                                out);
    }
};

// Prefetches the band `ahead` a few cache lines per step of the kernel's loop, so its loads
// overlap the arithmetic instead of queueing behind each other in one burst. Into L2: K and V
// a chunk ahead would not fit L1 beside the bands in use (prefetching to L1 ran 25-40% slower).
struct Prefetcher {
    const char *p = nullptr, *end = nullptr;
    int64_t per_step = 0;
    Prefetcher() = default;
    Prefetcher(const TileBand& band, int64_t steps) {
        if (!band.ahead || steps <= 0) return;
        const int64_t bytes = (band.dh + 31) / 32 * band.tile_bytes;
        p = reinterpret_cast<const char*>(band.ahead);
        end = p + bytes;
        per_step = (bytes / 64 + steps - 1) / steps;
    }
    void step() {
        for (int64_t i = 0; i < per_step && p < end; ++i, p += 64) __builtin_prefetch(p, 0, 2);
    }
};

#if defined(__AVX512F__)
// Reduction trees over lanes, shared by the decode kernels: adding the even and odd 32-bit
// lanes of a and b (fold_pair), or the even and odd 128-bit lanes (fold_lanes128).
inline __m512 fold_pair(__m512 a, __m512 b) {
    return _mm512_add_ps(_mm512_shuffle_ps(a, b, 0x88), _mm512_shuffle_ps(a, b, 0xdd));
}
inline __m512 fold_lanes128(__m512 a, __m512 b) {
    return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x88), _mm512_shuffle_f32x4(a, b, 0xdd));
}
// Lane 4 L + p of what two fold_pair levels (or a 4x4 dword transpose of 4 rows per 128-bit
// lane) leave holds key 4 p + L; the order is its own inverse.
constexpr uint8_t key_lanes[16] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
// x[4 L + p] holds key 4 p + L -> key j in lane j.
inline __m512 keys_in_order(__m512 x) {
    return _mm512_permutexvar_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(key_lanes))), x);
}
// One head's scores for the 16-key block `block` (rows 16 block ..), key j in lane j: the rows of
// the block in the run [first, end) go to scores from the run's first free score on.
inline void store_block_scores(float* scores, int64_t block, int64_t first, int64_t end, __m512 keys) {
    const int64_t lo = first > block * 16 ? first - block * 16 : 0, hi = end - block * 16 < 16 ? end - block * 16 : 16;
    const __mmask16 rows = __mmask16(((1u << hi) - 1) & ~((1u << lo) - 1)), out = __mmask16((1u << (hi - lo)) - 1);
    _mm512_mask_storeu_ps(scores + (block * 16 + lo - first), out, _mm512_maskz_compress_ps(rows, keys));
}
// Sixteen keys' dot products from their per-lane partial sums: pairs[i] holds keys 2i and
// 2i + 1 already folded to 8 lanes each (fold_pair); returns the 16 sums, key j in lane j.
inline __m512 reduce16(const __m512* pairs) {
    __m512 c[4];
    for (int i = 0; i < 4; ++i) c[i] = fold_pair(pairs[2 * i], pairs[2 * i + 1]);
    // c[i]: in each 128-bit lane L, the lane-L partial sums of keys 4i .. 4i + 3.
    return fold_lanes128(fold_lanes128(c[0], c[1]), fold_lanes128(c[2], c[3]));
}
#endif

// scores[h * lds + j] = q_h . k_(row + j) for H heads, two keys at a time so each query slice
// loaded serves both; the loop walks the band's tiles by pointer. Lanes past dh are cleared in
// the last face row, so whatever a tile's padding holds cannot reach a score.
template <int format, int H>
void tile_scores_heads(const TileBand& band, const float* q, int64_t ldq, float* scores, int64_t lds,
                       const float* steps, Prefetcher& pf) {
    using Face = FaceRow<format>;
    const int64_t dh = band.dh, n = band.n, whole_tiles = dh / 32, segs = (dh + 15) / 16;
    vi keep[R];  // -1 in the lanes of the last face row that hold columns below dh
    for (int r = 0; r < R; ++r)
        for (int l = 0; l < W; ++l) keep[r][l] = (dh % 16 == 0 || r * W + l < dh % 16) ? -1 : 0;
    for (int64_t j0 = 0; j0 < n; j0 += 16) {
        const int64_t m = n - j0 < 16 ? n - j0 : 16;
#if defined(__AVX512F__)
        __m512 pairs[H][8];
#endif
        for (int64_t pp = 0; pp < (m + 1) / 2; ++pp) {
            pf.step();
            const int64_t ja = j0 + 2 * pp, jb = ja + 1 < n ? ja + 1 : ja;  // an odd tail repeats its key
            const RowPlace<format> ra(band.row + ja), rb(band.row + jb);
            // With few heads (a GEMV's one row) the sums would be chains of dependent FMAs, one
            // per key: the left and right faces then sum apart, two chains per key.
            constexpr bool split = H * R <= 2;
            vf a[H][R], b[H][R], a2[H][R], b2[H][R];
            for (int h = 0; h < H; ++h)
                for (int r = 0; r < R; ++r) a[h][r] = b[h][r] = a2[h][r] = b2[h][r] = vf{};
            auto fma2 = [&](const vf* ka, const vf* kb, const float* qs, vf (&x)[H][R], vf (&y)[H][R]) {
                for (int h = 0; h < H; ++h)
                    for (int r = 0; r < R; ++r) {
                        vf qv = load(qs + h * ldq + r * W);
                        x[h][r] += qv * ka[r];
                        y[h][r] += qv * kb[r];
                    }
            };
            const uint8_t* tile = band.tiles;
            const float* st = steps;
            const float* qs = q;
            for (int64_t t = 0; t < whole_tiles; ++t, tile += band.tile_bytes, st += 64, qs += 32) {
                vf ka[R], kb[R];
                Face::decode(tile + ra.left, st[ra.step_left], ka);
                Face::decode(tile + rb.left, st[rb.step_left], kb);
                fma2(ka, kb, qs, a, b);
                Face::decode(tile + ra.right, st[ra.step_left + 16], ka);
                Face::decode(tile + rb.right, st[rb.step_left + 16], kb);
                fma2(ka, kb, qs + 16, split ? a2 : a, split ? b2 : b);
            }
            for (int64_t s = 2 * whole_tiles; s < segs; ++s) {  // a last, narrower tile
                vf ka[R], kb[R];
                ra.decode(band, s, steps, ka);
                rb.decode(band, s, steps, kb);
                if (s == segs - 1)
                    for (int r = 0; r < R; ++r) ka[r] = keep[r] ? ka[r] : vf{}, kb[r] = keep[r] ? kb[r] : vf{};
                fma2(ka, kb, q + s * 16, a, b);
            }
            for (int h = 0; h < H; ++h) {
                if constexpr (split)
                    for (int r = 0; r < R; ++r) a[h][r] += a2[h][r], b[h][r] += b2[h][r];
                for (int r = 1; r < R; ++r) a[h][0] += a[h][r], b[h][0] += b[h][r];
#if defined(__AVX512F__)
                pairs[h][pp] = fold_pair((__m512)a[h][0], (__m512)b[h][0]);
#else
                scores[h * lds + ja] = hsum(a[h][0]);
                if (ja + 1 < n) scores[h * lds + ja + 1] = hsum(b[h][0]);
#endif
            }
        }
#if defined(__AVX512F__)
        for (int h = 0; h < H; ++h) {
            for (int64_t pp = (m + 1) / 2; pp < 8; ++pp) pairs[h][pp] = _mm512_setzero_ps();
            _mm512_mask_storeu_ps(scores + h * lds + j0, __mmask16((1u << m) - 1), reduce16(pairs[h]));
        }
#endif
    }
}

// out[h * ldo + c] += sum_j p[h * ldp + j] v_(row + j)[c] for columns [16 s0, 16 (s0 + SB)): the
// H x SB output slices stay in registers while the band's rows stream past. s0 is even when
// SB > 1, so face row s0 + sb lies in tile s0 / 2 + sb / 2.
template <int format, int H, int SB>
void tile_accumulate_block(const TileBand& band, int64_t s0, const float* p, int64_t ldp, float* out, int64_t ldo,
                           const float* steps, Prefetcher& pf) {
    vf acc[H][SB * R];
    for (int h = 0; h < H; ++h)
        for (int c = 0; c < SB * R; ++c) acc[h][c] = load(out + h * ldo + s0 * 16 + c * W);
    const uint8_t* tile0 = band.tiles + (s0 >> 1) * band.tile_bytes;
    const float* st0 = steps + (s0 >> 1) * 64;
    for (int64_t j = 0; j < band.n; ++j) {
        pf.step();
        const RowPlace<format> row(band.row + j);
        vf v[SB * R];
        if constexpr (SB == 1) {
            row.decode(band, s0, steps, v);
        } else {
            for (int sb = 0; sb < SB; ++sb) {
                const uint8_t* tile = tile0 + (sb >> 1) * band.tile_bytes;
                const float* st = st0 + (sb >> 1) * 64;
                if (sb & 1)
                    FaceRow<format>::decode(tile + row.right, st[row.step_left + 16], v + sb * R);
                else
                    FaceRow<format>::decode(tile + row.left, st[row.step_left], v + sb * R);
            }
        }
        for (int h = 0; h < H; ++h) {
            vf pb = splat(p[h * ldp + j]);
            for (int c = 0; c < SB * R; ++c) acc[h][c] += pb * v[c];
        }
    }
    for (int h = 0; h < H; ++h)
        for (int c = 0; c < SB * R; ++c) store(out + h * ldo + s0 * 16 + c * W, acc[h][c]);
}

// Output slices per block (1, 2 or 4): as many as leave room for the value vectors in the
// register file.
constexpr int64_t accumulate_segments(int64_t heads) {
    const int64_t room = (W == 16 ? 16 : 8) / (heads * R);
    return room >= 4 ? 4 : room >= 2 ? 2 : 1;
}
// Blocks of face columns an accumulate kernel walks a band's keys in, for its first head group:
// how many steps per key (or key group) a band's Prefetcher is spread over.
constexpr int64_t accumulate_blocks(int64_t heads, int64_t dh) {
    const int64_t segs = (dh + 15) / 16, sb = accumulate_segments(heads < 8 ? heads : 8);
    return segs / sb + segs % sb;
}

template <int format, int H>
void tile_accumulate_heads(const TileBand& band, const float* p, int64_t ldp, float* out, int64_t ldo,
                           const float* steps, Prefetcher& pf) {
    constexpr int SB = int(accumulate_segments(H));
    static_assert(SB == 1 || SB % 2 == 0, "blocks of face rows start on a tile");
    const int64_t segs = (band.dh + 15) / 16;
    int64_t s = 0;
    for (; s + SB <= segs; s += SB) tile_accumulate_block<format, H, SB>(band, s, p, ldp, out, ldo, steps, pf);
    for (; s < segs; ++s) tile_accumulate_block<format, H, 1>(band, s, p, ldp, out, ldo, steps, pf);
}

template <int format>
struct TileScores {
    template <int H>
    struct Heads {
        static void run(int64_t h0, const TileBand* band, const float* q, int64_t ldq, float* scores, int64_t lds,
                        const float* steps, Prefetcher* pf) {
            tile_scores_heads<format, H>(*band, q + h0 * ldq, ldq, scores + h0 * lds, lds, steps, *pf);
        }
    };
};

template <int format>
struct TileAccumulate {
    template <int H>
    struct Heads {
        static void run(int64_t h0, const TileBand* band, const float* p, int64_t ldp, float* out, int64_t ldo,
                        const float* steps, Prefetcher* pf) {
            tile_accumulate_heads<format, H>(*band, p + h0 * ldp, ldp, out + h0 * ldo, ldo, steps, *pf);
        }
    };
};

// The block-float step tables of a band's tiles (work: 64 floats per tile).
inline const float* band_steps(const TileBand& band, float* work) {
    if (band.format < 2) return work;
    const int64_t tiles = (band.dh + 31) / 32;
    for (int64_t t = 0; t < tiles; ++t)
        bfp_steps64(band.tiles + t * band.tile_bytes, band.format == 2 ? 6 : 2, work + t * 64);
    return work;
}

// Runs Family<format>::Heads over the head groups, for the band's storage format.
template <template <int> class Family, class... Args>
void for_format(int format, int64_t heads, Args... args) {
    switch (format) {
        case 0:
            for_head_groups<Family<0>::template Heads>(heads, args...);
            break;
        case 1:
            for_head_groups<Family<1>::template Heads>(heads, args...);
            break;
        case 2:
            for_head_groups<Family<2>::template Heads>(heads, args...);
            break;
        default:
            for_head_groups<Family<3>::template Heads>(heads, args...);
            break;
    }
}

void tile_scores(const TileBand& band, const float* q, int64_t heads, int64_t ldq, float* scores, int64_t lds,
                 float* work) {
    const float* steps = band_steps(band, work);
    Prefetcher pf(band, (band.n + 1) / 2);  // one step per key pair of the first head group
    for_format<TileScores>(band.format, heads, &band, q, ldq, scores, lds, steps, &pf);
}

void tile_accumulate(const TileBand& band, const float* p, int64_t ldp, int64_t heads, float* out, int64_t ldo,
                     float* work) {
    const float* steps = band_steps(band, work);
    Prefetcher pf(band, band.n * accumulate_blocks(heads, band.dh));  // a step per row and block
    for_format<TileAccumulate>(band.format, heads, &band, p, ldp, out, ldo, steps, &pf);
}

#if defined(__AVX512F__)
// ---- flash decode with bf16 dot products (AVX512_BF16) ---------------------------------
//
// A BFLOAT16 cache met by a bf16 query: vdpbf16ps multiplies 32 bf16 pairs into 16 fp32 sums
// in one instruction, so the K tiles are used as stored (no widening) and a pair of keys' face
// rows fills one register. Only called where the CPU has AVX512_BF16 (has_bf16_dot).
#define ATTNN_BF16_DOT __attribute__((target("avx512bf16")))

// Face rows (16 bf16 each) of two keys as one register: key a in words 0-15, key b in 16-31.
inline __m512i face_row_pair(const uint8_t* a, const uint8_t* b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a))),
                              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)), 1);
}
// Key a's face row alone, key b's words zero (an odd tail's missing partner).
inline __m512i face_row_alone(const uint8_t* a) {
    return _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a)));
}

// Sixteen keys' dot products from dpbf16 sums, pair by pair: pair i (keys 2i in lanes 0-7, 2i + 1
// in lanes 8-15) folds with pair i + 1 over 128-bit lanes (lane L: the 4 partial sums of key
// 4 (i / 2) + L), then twice over 32-bit lanes. fold_group takes P pairs as far as P allows (P = 2:
// the first level, 4: the second, 8: all three); finish_groups the 8 / P group folds of a 16-key
// block to its 16 sums, key j in lane j.
template <int P>
inline __m512 fold_group(const __m512* d) {
    if constexpr (P == 2) return fold_lanes128(d[0], d[1]);
    if constexpr (P == 4) return fold_pair(fold_lanes128(d[0], d[1]), fold_lanes128(d[2], d[3]));
    if constexpr (P == 8) return fold_pair(fold_group<4>(d), fold_group<4>(d + 4));
}
template <int P>
inline __m512 finish_groups(const __m512* g) {
    if constexpr (P == 2) return keys_in_order(fold_pair(fold_pair(g[0], g[1]), fold_pair(g[2], g[3])));
    if constexpr (P == 4) return keys_in_order(fold_pair(g[0], g[1]));
    if constexpr (P == 8) return keys_in_order(g[0]);
}

// qdup[(h * segs + s) * 32 ..]: face row s of head h's query, twice (for both keys of a pair).
// Keys go in the band's own pairs (rows 2k, 2k + 1, whose face rows are one 64-byte load) and
// 16-row blocks (one half of the faces), P pairs at a time with H x P accumulators in
// registers, so each query face row loaded serves P pairs (loading it for every pair made the
// loads, not the dot products, the limit), each group folded as soon as it is done. Rows of a
// group outside the run are computed (they lie in the band) and dropped.
template <int H>
ATTNN_BF16_DOT void tile_scores_bf16_heads(const TileBand& band, const uint16_t* qdup, int64_t segs, float* scores,
                                           int64_t lds, Prefetcher& pf) {
    constexpr int P = H <= 2 ? 8 : H <= 4 ? 4 : 2, G = 8 / P;
    using Face = FaceRow<1>;
    const int64_t first = band.row, end = band.row + band.n, whole_tiles = band.dh / 32, tail = band.dh % 16;
    // The last face row's words past dh (both keys), cleared so tile padding cannot reach a score.
    const __mmask32 keep = tail ? __mmask32(((1u << tail) - 1) * 0x10001u) : ~__mmask32(0);
    auto q_at = [&](int h, int64_t s) {
        return (__m512bh)_mm512_loadu_si512(qdup + (h * segs + s) * 32);
    };
    for (int64_t b = first / 16; b * 16 < end; ++b) {
        // Rows [lo, hi) of block b (rows 16 b ..) belong to the run.
        const int64_t lo = first > b * 16 ? first - b * 16 : 0, hi = end - b * 16 < 16 ? end - b * 16 : 16;
        __m512 part[H][G];
        for (int g = 0; g < G; ++g) {
            if (2 * P * (g + 1) <= lo || 2 * P * g >= hi) {  // no row of the run in this group
                for (int h = 0; h < H; ++h) part[h][g] = _mm512_setzero_ps();
                continue;
            }
            int64_t left[P], right[P];
            for (int p = 0; p < P; ++p) {
                pf.step();
                left[p] = Face::offset(b * 2, 2 * (g * P + p)), right[p] = Face::offset(b * 2 + 1, 2 * (g * P + p));
            }
            __m512 acc[H][P];
            for (int h = 0; h < H; ++h)
                for (int p = 0; p < P; ++p) acc[h][p] = _mm512_setzero_ps();
            const uint8_t* tile = band.tiles;
            int64_t s = 0;
            for (int64_t t = 0; t < whole_tiles; ++t, tile += band.tile_bytes, s += 2) {
                __m512bh kl[P], kr[P];
                for (int p = 0; p < P; ++p) {
                    kl[p] = (__m512bh)_mm512_loadu_si512(tile + left[p]);
                    kr[p] = (__m512bh)_mm512_loadu_si512(tile + right[p]);
                }
                for (int h = 0; h < H; ++h) {
                    const __m512bh ql = q_at(h, s), qr = q_at(h, s + 1);
                    for (int p = 0; p < P; ++p) acc[h][p] = _mm512_dpbf16_ps(acc[h][p], kl[p], ql);
                    for (int p = 0; p < P; ++p) acc[h][p] = _mm512_dpbf16_ps(acc[h][p], kr[p], qr);
                }
            }
            for (; s < segs; ++s) {  // a last, narrower tile
                tile = band.tiles + (s >> 1) * band.tile_bytes;
                __m512bh k[P];
                for (int p = 0; p < P; ++p) {
                    __m512i x = _mm512_loadu_si512(tile + (s & 1 ? right[p] : left[p]));
                    if (s == segs - 1) x = _mm512_maskz_mov_epi16(keep, x);
                    k[p] = (__m512bh)x;
                }
                for (int h = 0; h < H; ++h) {
                    const __m512bh q = q_at(h, s);
                    for (int p = 0; p < P; ++p) acc[h][p] = _mm512_dpbf16_ps(acc[h][p], k[p], q);
                }
            }
            for (int h = 0; h < H; ++h) part[h][g] = fold_group<P>(acc[h]);
        }
        for (int h = 0; h < H; ++h) store_block_scores(scores + h * lds, b, first, end, finish_groups<P>(part[h]));
    }
}

// out[h * ldo + c] += sum_j p_j v_(row + j)[c] over the bands, with p as bf16 pairs: pp[b *
// band_words + h * 16 + k] holds keys 2k (low half) and 2k + 1 of band b. The two keys' face
// rows are interleaved word by word so each 32-bit lane pairs one column of both.
template <int H, int SB>
ATTNN_BF16_DOT void tile_accumulate_bf16_block(const TileBand* bands, int64_t nb, int64_t s0, const uint32_t* pp,
                                               int64_t band_words, float* out, int64_t ldo, Prefetcher* pf) {
    using Place = RowPlace<1>;
    __m512 acc[H][SB];
    for (int h = 0; h < H; ++h)
        for (int sb = 0; sb < SB; ++sb) acc[h][sb] = _mm512_loadu_ps(out + h * ldo + (s0 + sb) * 16);
    static const uint16_t order[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                       8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    const __m512i interleave = _mm512_loadu_si512(order);
    for (int64_t b = 0; b < nb; ++b) {
        const TileBand& band = bands[b];
        const uint32_t* pb = pp + b * band_words;
        const int64_t n = band.n;
        for (int64_t k = 0; k < n / 2; ++k) {
            pf[b].step();
            const int64_t ja = 2 * k, jb = ja + 1;
            const Place ra(band.row + ja), rb(band.row + jb);
            __m512bh v[SB];
            for (int sb = 0; sb < SB; ++sb) {
                const int64_t s = s0 + sb;
                const uint8_t* tile = band.tiles + (s >> 1) * band.tile_bytes;
                const __m512i rows =
                    face_row_pair(tile + (s & 1 ? ra.right : ra.left), tile + (s & 1 ? rb.right : rb.left));
                v[sb] = (__m512bh)_mm512_permutexvar_epi16(interleave, rows);
            }
            for (int h = 0; h < H; ++h) {
                const __m512bh p2 = (__m512bh)_mm512_set1_epi32(int(pb[h * 16 + k]));
                for (int sb = 0; sb < SB; ++sb) acc[h][sb] = _mm512_dpbf16_ps(acc[h][sb], v[sb], p2);
            }
        }
        if (n & 1) {  // the odd last key beside a row of zeros and p = 0 (its own row again would
                      // meet that 0 as NaN where it holds an Inf); apart, so the loop's loads stay plain
            pf[b].step();
            const Place ra(band.row + n - 1);
            __m512bh v[SB];
            for (int sb = 0; sb < SB; ++sb) {
                const int64_t s = s0 + sb;
                const uint8_t* tile = band.tiles + (s >> 1) * band.tile_bytes;
                v[sb] = (__m512bh)_mm512_permutexvar_epi16(
                    interleave, face_row_alone(tile + (s & 1 ? ra.right : ra.left)));
            }
            for (int h = 0; h < H; ++h) {
                const __m512bh p2 = (__m512bh)_mm512_set1_epi32(int(pb[h * 16 + n / 2]));
                for (int sb = 0; sb < SB; ++sb) acc[h][sb] = _mm512_dpbf16_ps(acc[h][sb], v[sb], p2);
            }
        }
    }
    for (int h = 0; h < H; ++h)
        for (int sb = 0; sb < SB; ++sb) _mm512_storeu_ps(out + h * ldo + (s0 + sb) * 16, acc[h][sb]);
}

template <int H>
ATTNN_BF16_DOT void tile_accumulate_bf16_heads(const TileBand* bands, int64_t nb, const uint32_t* pp,
                                               int64_t band_words, float* out, int64_t ldo, Prefetcher* pf) {
    constexpr int SB = int(accumulate_segments(H));
    const int64_t segs = (bands[0].dh + 15) / 16;
    int64_t s = 0;
    for (; s + SB <= segs; s += SB) tile_accumulate_bf16_block<H, SB>(bands, nb, s, pp, band_words, out, ldo, pf);
    for (; s < segs; ++s) tile_accumulate_bf16_block<H, 1>(bands, nb, s, pp, band_words, out, ldo, pf);
}

template <int H>
struct ScoresBf16 {
    static void run(int64_t h0, const TileBand* band, const uint16_t* qdup, int64_t segs, float* scores, int64_t lds,
                    Prefetcher* pf) {
        tile_scores_bf16_heads<H>(*band, qdup + h0 * segs * 32, segs, scores + h0 * lds, lds, *pf);
    }
};

template <int H>
struct AccumulateBf16 {
    static void run(int64_t h0, const TileBand* bands, int64_t nb, const uint32_t* pp, int64_t band_words, float* out,
                    int64_t ldo, Prefetcher* pf) {
        tile_accumulate_bf16_heads<H>(bands, nb, pp + h0 * 16, band_words, out + h0 * ldo, ldo, pf);
    }
};

// qdup[(h * segs + s) * 32 ..]: face row s of head h's query as bf16, twice (once per key of a
// pair), built once per query rather than per band.
void pack_q_bf16(const float* q, int64_t heads, int64_t ldq, int64_t dh, uint16_t* qdup) {
    const int64_t segs = (dh + 15) / 16;
    for (int64_t h = 0; h < heads; ++h)
        for (int64_t s = 0; s < segs; ++s) {
            uint16_t* dst = qdup + (h * segs + s) * 32;
            f32_to_bf16(q + h * ldq + s * 16, dst, 16);
            std::memcpy(dst + 16, dst, 32);
        }
}

ATTNN_BF16_DOT void tile_scores_bf16(const TileBand& band, const uint16_t* qdup, int64_t heads, float* scores,
                                     int64_t lds) {
    const int64_t segs = (band.dh + 15) / 16;
    Prefetcher pf(band, (band.n + 1) / 2);
    for_head_groups<ScoresBf16>(heads, &band, qdup, segs, scores, lds, &pf);
}

// ---- BFLOAT8_B values on bf16 dot products (AVX512_BF16 + AVX512_VBMI) ----
//
// A face row's 7-bit magnitudes are bf16 integers exactly: two byte-table lookups (vpermi2b,
// 128 entries) give each magnitude's bf16 bytes, and the sign bit joins the high byte. The
// row's exponent moves onto p instead: p' = p 2^(e - 133) per (head, key, face row), rounded to
// bf16 as the BFLOAT16 path rounds p. Products p' m are exact in fp32, so the only rounding
// beyond the cache's own is p's, to bf16.
#define ATTNN_BF16_VBMI __attribute__((target("avx512bf16,avx512vbmi")))

struct Bfp8Bf16Tables {
    uint8_t lo[128], hi[128];  // bf16 bytes of the integer m
    uint8_t order[64];         // vpermb: 4 keys' face rows -> key pairs (4g, 4g+1), (4g+2, 4g+3) by column
};
constexpr Bfp8Bf16Tables make_bfp8_bf16_tables() {
    Bfp8Bf16Tables t{};
    for (int m = 1; m < 128; ++m) {
        int e = 0;
        while ((m >> (e + 1)) != 0) ++e;
        const uint32_t bits = uint32_t(127 + e) << 7 | ((uint32_t(m) << (7 - e)) & 0x7fu);
        t.lo[m] = uint8_t(bits & 0xff), t.hi[m] = uint8_t(bits >> 8);
    }
    // After unpacklo/unpackhi_epi8 of the looked-up bytes, dword c of the first result is
    // (key 0, key 1) of column c and of the second (key 2, key 3): each 128-bit lane L holds
    // columns 4L .. 4L + 3.
    for (int lane = 0; lane < 4; ++lane)
        for (int i = 0; i < 4; ++i)
            for (int key = 0; key < 2; ++key) {
                t.order[16 * lane + 2 * i + key] = uint8_t(16 * key + 4 * lane + i);
                t.order[16 * lane + 8 + 2 * i + key] = uint8_t(32 + 16 * key + 4 * lane + i);
            }
    return t;
}
alignas(64) constexpr Bfp8Bf16Tables bfp8_bf16_tables = make_bfp8_bf16_tables();

// out[h * ldo + c] += sum p'_(h, key) m_key[c] over the bands' keys, segments [s0, s0 + SB).
// pp[b * band_words + s * ldp + h * 16 + k]: p' of band b's keys 2k and 2k + 1 (band positions)
// as bf16.
template <int H, int SB, bool TAIL>
ATTNN_BF16_VBMI void tile_accumulate_bfp8_block(const TileBand* bands, int64_t nb, int64_t s0, int64_t segs,
                                                const uint32_t* pp, int64_t ldp, int64_t band_words, float* out,
                                                int64_t ldo, Prefetcher* pf) {
    const auto& t = bfp8_bf16_tables;
    const __m512i lo0 = _mm512_load_si512(t.lo), lo1 = _mm512_load_si512(t.lo + 64);
    const __m512i hi0 = _mm512_load_si512(t.hi), hi1 = _mm512_load_si512(t.hi + 64);
    const __m512i order = _mm512_load_si512(t.order), sign = _mm512_set1_epi8(char(0x80));
    const int64_t tail = bands[0].dh % 16;  // the last segment's columns past dh: words cleared
    const __mmask32 keep = tail ? __mmask32((1u << (2 * tail)) - 1) : ~__mmask32(0);
    bool last[SB];  // whether a segment ends at dh
    for (int sb = 0; sb < SB; ++sb) last[sb] = tail && s0 + sb == segs - 1;
    __m512 acc[H][SB];
    for (int h = 0; h < H; ++h)
        for (int sb = 0; sb < SB; ++sb) acc[h][sb] = _mm512_loadu_ps(out + h * ldo + (s0 + sb) * 16);
    for (int64_t bi = 0; bi < nb; ++bi) {
        const TileBand& band = bands[bi];
        // Per segment: where its faces' mantissas start, its p' pairs.
        const uint8_t* rows[SB];
        const uint32_t* pairs[SB];
        for (int sb = 0; sb < SB; ++sb) {
            const int64_t s = s0 + sb;
            rows[sb] = band.tiles + (s >> 1) * band.tile_bytes + 64 + (s & 1) * 256;
            pairs[sb] = pp + bi * band_words + s * ldp;
        }
        // Groups of 4 keys holding the run's: group q is rows 4q .. 4q + 3, in face (q / 4) * 2
        // (+1 for odd segments), its p' pairs 2q and 2q + 1.
        for (int64_t q = band.row / 4; q < (band.row + band.n + 3) / 4; ++q) {
            pf[bi].step();
            const int64_t at = q * 64 + (q >> 2) * 256;
#pragma GCC unroll 4
            for (int sb = 0; sb < SB; ++sb) {  // one segment at a time: H x SB accumulators stay in registers
                const __m512i y = _mm512_permutexvar_epi8(order, _mm512_loadu_si512(rows[sb] + at));
                const __m512i lo = _mm512_permutex2var_epi8(lo0, y, lo1);
                const __m512i hi = _mm512_ternarylogic_epi32(_mm512_permutex2var_epi8(hi0, y, hi1), y, sign, 0xf8);
                __m512i a = _mm512_unpacklo_epi8(lo, hi), b = _mm512_unpackhi_epi8(lo, hi);
                if (TAIL && last[sb]) a = _mm512_maskz_mov_epi16(keep, a), b = _mm512_maskz_mov_epi16(keep, b);
                const uint32_t* ps = pairs[sb] + 2 * q;
#pragma GCC unroll 8
                for (int h = 0; h < H; ++h) {
                    acc[h][sb] =
                        _mm512_dpbf16_ps(acc[h][sb], (__m512bh)a, (__m512bh)_mm512_set1_epi32(int(ps[16 * h])));
                    acc[h][sb] =
                        _mm512_dpbf16_ps(acc[h][sb], (__m512bh)b, (__m512bh)_mm512_set1_epi32(int(ps[16 * h + 1])));
                }
            }
        }
    }
    for (int h = 0; h < H; ++h)
        for (int sb = 0; sb < SB; ++sb) _mm512_storeu_ps(out + h * ldo + (s0 + sb) * 16, acc[h][sb]);
}

template <int H>
ATTNN_BF16_VBMI void tile_accumulate_bfp8_heads(const TileBand* bands, int64_t nb, int64_t segs, const uint32_t* pp,
                                                int64_t ldp, int64_t band_words, float* out, int64_t ldo,
                                                Prefetcher* pf) {
    constexpr int SB = int(accumulate_segments(H));
    int64_t s = 0;
    const bool tail = bands[0].dh % 16 != 0;  // the last segment's columns past dh are cleared
    for (; s + SB <= segs; s += SB)
        if (tail && s + SB == segs)
            tile_accumulate_bfp8_block<H, SB, true>(bands, nb, s, segs, pp, ldp, band_words, out, ldo, pf);
        else
            tile_accumulate_bfp8_block<H, SB, false>(bands, nb, s, segs, pp, ldp, band_words, out, ldo, pf);
    for (; s < segs; ++s) tile_accumulate_bfp8_block<H, 1, true>(bands, nb, s, segs, pp, ldp, band_words, out, ldo, pf);
}

template <int H>
struct AccumulateBfp8 {
    static void run(int64_t h0, const TileBand* bands, int64_t nb, int64_t segs, const uint32_t* pp, int64_t ldp,
                    int64_t band_words, float* out, int64_t ldo, Prefetcher* pf) {
        tile_accumulate_bfp8_heads<H>(bands, nb, segs, pp + h0 * 16, ldp, band_words, out + h0 * ldo, ldo, pf);
    }
};

// p' = p 2^(e - 133) for every (face row, head, key of the band), as bf16 pairs, into pp
// (segs x heads x 16 words); keys outside the run get 0. p is rounded to bf16 once per head;
// the exponent then moves by an integer add to its bits (exact: a power of two), which reaches
// zero, never a sign, as p >= 0 is at most 1. A NaN p (from a NaN score) stays a NaN p' (the
// add would make it a number, or a negative one that the max turns to 0), and a run's key whose
// face row is non-finite (e 255) gets a NaN p', so that the row reads as NaN (bfp_steps64).
ATTNN_BF16_VBMI void bfp8_pairs(const TileBand& band, const float* p, int64_t ldp, int64_t heads, uint32_t* pp) {
    const int64_t segs = (band.dh + 15) / 16;
    // p of the run's keys moved to their band positions (0 elsewhere) by lane permutes.
    const __mmask16 first16 = __mmask16(band.n >= 16 ? 0xffff : (1u << band.n) - 1),
                    next16 = __mmask16(band.n > 16 ? (1u << (band.n - 16)) - 1 : 0);
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i from_lo = _mm512_sub_epi32(iota, _mm512_set1_epi32(int(band.row))),
                  from_hi = _mm512_add_epi32(from_lo, _mm512_set1_epi32(16));
    const __mmask16 at_lo = _mm512_cmpge_epi32_mask(from_lo, _mm512_setzero_si512()),
                    at_hi = _mm512_cmpge_epi32_mask(from_hi, _mm512_setzero_si512());
    const __m512i bias = _mm512_set1_epi16(133), zero = _mm512_setzero_si512();
    const __mmask32 run = __mmask32(((uint64_t(1) << band.n) - 1) << band.row);
    const bool nonfinite_rows = has_nonfinite_rows(band);
    const __m512i nonfinite_e = _mm512_set1_epi16(bfp_nonfinite_exponent), nan = _mm512_set1_epi16(0x7fc0);
    for (int64_t h0 = 0; h0 < heads; h0 += 8) {
        const int64_t hn = heads - h0 < 8 ? heads - h0 : 8;
        __m512i pb[8];  // bf16 p of the band's 32 keys, key k in word k
        __mmask32 nonzero[8], nan_p[8];
        bool check = nonfinite_rows;  // whether some p' must be a NaN: the slower stores below
        for (int64_t h = 0; h < hn; ++h) {
            const float* ph = p + (h0 + h) * ldp;
            const __m512 v0 = _mm512_maskz_loadu_ps(first16, ph), v1 = _mm512_maskz_loadu_ps(next16, ph + 16);
            const __m512 lo = _mm512_maskz_permutexvar_ps(at_lo, from_lo, v0);
            const __m512 hi = _mm512_maskz_permutex2var_ps(at_hi, v0, from_hi, v1);
            pb[h] = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
            nonzero[h] = _mm512_test_epi16_mask(pb[h], pb[h]);
            nan_p[h] = _mm512_cmpgt_epu16_mask(_mm512_and_si512(pb[h], _mm512_set1_epi16(0x7fff)),
                                               _mm512_set1_epi16(0x7f80));
            check = check || nan_p[h] != 0;
        }
        for (int64_t s = 0; s < segs; ++s) {
            const uint8_t* tile = band.tiles + (s >> 1) * band.tile_bytes;
            // (e - 133) << 7 per key: the exponent bytes of rows 0-15 and 16-31 of the column.
            const __m256i e8 = _mm256_inserti128_si256(
                _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tile + (s & 1) * 16))),
                _mm_loadu_si128(reinterpret_cast<const __m128i*>(tile + (2 + (s & 1)) * 16)), 1);
            const __m512i e16 = _mm512_cvtepu8_epi16(e8);
            const __m512i shift = _mm512_slli_epi16(_mm512_sub_epi16(e16, bias), 7);
            if (!check) [[likely]] {
                for (int64_t h = 0; h < hn; ++h)
                    _mm512_storeu_si512(
                        pp + (s * heads + h0 + h) * 16,
                        _mm512_max_epi16(_mm512_maskz_add_epi16(nonzero[h], pb[h], shift), zero));
                continue;
            }
            const __mmask32 nonfinite = _mm512_mask_cmpeq_epi16_mask(run, e16, nonfinite_e);
            for (int64_t h = 0; h < hn; ++h)
                _mm512_storeu_si512(
                    pp + (s * heads + h0 + h) * 16,
                    _mm512_mask_mov_epi16(
                        _mm512_max_epi16(_mm512_maskz_add_epi16(nonzero[h], pb[h], shift), zero),
                        nonfinite | nan_p[h], nan));
        }
    }
}

ATTNN_BF16_VBMI void tile_accumulate_bfp8(const TileBand* bands, int64_t nb, const float* p, int64_t ldp,
                                          int64_t heads, float* out, int64_t ldo, float* work) {
    uint32_t* pp = reinterpret_cast<uint32_t*>(work);
    const int64_t segs = (bands[0].dh + 15) / 16, band_words = segs * heads * 16;
    const int64_t blocks = accumulate_blocks(heads, bands[0].dh);
    Prefetcher pf[max_bands];
    for (int64_t b = 0, j = 0; b < nb; j += bands[b].n, ++b) {
        const TileBand& band = bands[b];
        bfp8_pairs(band, p + j, ldp, heads, pp + b * band_words);
        pf[b] = Prefetcher(band, ((band.row + band.n + 3) / 4 - band.row / 4) * blocks);  // a step per 4 keys per block
    }
    for_head_groups<AccumulateBfp8>(heads, bands, nb, segs, static_cast<const uint32_t*>(pp), heads * 16, band_words,
                                    out, ldo, static_cast<Prefetcher*>(pf));
}

ATTNN_BF16_DOT void tile_accumulate_bf16(const TileBand* bands, int64_t nb, const float* p, int64_t ldp,
                                         int64_t heads, float* out, int64_t ldo, float* work) {
    while (nb > max_bands) {  // max_bands at a time, each run's p after the one before
        tile_accumulate_bf16(bands, max_bands, p, ldp, heads, out, ldo, work);
        for (int64_t b = 0; b < max_bands; ++b) p += bands[b].n;
        bands += max_bands, nb -= max_bands;
    }
    if (nb <= 0) return;
    if (bands[0].format == 2) return tile_accumulate_bfp8(bands, nb, p, ldp, heads, out, ldo, work);
    // p rounded to bf16, two keys per 32-bit word, 16 words per head (a band holds 32 keys).
    uint32_t* pp = reinterpret_cast<uint32_t*>(work);
    const int64_t band_words = heads * 16, blocks = accumulate_blocks(heads, bands[0].dh);
    Prefetcher pf[max_bands];
    for (int64_t b = 0, j = 0; b < nb; j += bands[b].n, ++b) {
        const TileBand& band = bands[b];
        const __mmask16 valid = __mmask16((1u << (band.n > 16 ? 16 : band.n)) - 1),
                        valid_hi = __mmask16(band.n > 16 ? (1u << (band.n - 16)) - 1 : 0);
        for (int64_t h = 0; h < heads; ++h) {
            const __m512 lo = _mm512_maskz_loadu_ps(valid, p + h * ldp + j);
            const __m512 hi = _mm512_maskz_loadu_ps(valid_hi, p + h * ldp + j + 16);
            _mm512_storeu_si512(pp + b * band_words + h * 16, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        }
        pf[b] = Prefetcher(band, (band.n + 1) / 2 * blocks);
    }
    for_head_groups<AccumulateBf16>(heads, bands, nb, static_cast<const uint32_t*>(pp), band_words, out, ldo,
                                    static_cast<Prefetcher*>(pf));
}
// ---- BFLOAT8_B rows scored by bf16 rows (AVX512_BF16 + AVX512_VBMI) ----
//
// The GEMV's transposed BFLOAT8_B B ([N, K], scored like K) against rows of A that bf16 holds
// exactly. A 64-byte load holds 4 keys' face rows; their magnitudes become bf16 integers
// exactly (the tables above) and meet the rows' values on bf16 dot products, and each (key,
// face row) sum is scaled by the face row's 2^(e - 133) before the sum over face rows. The
// products are exact and the sums fp32, as tile_scores gives, in about a third of its
// operations (no fp32 decode of each face row).

// q4[h * ldq4 + s * 64 ..]: face row s of row h as bf16, its values 0-7 four times, then 8-15
// four times (one 128-bit lane per key of a 4-key group); zero past dh.
void pack_rows_bf16x4(const float* q, int64_t heads, int64_t ldq, int64_t dh, uint16_t* q4, int64_t ldq4) {
    const int64_t segs = (dh + 15) / 16;
    for (int64_t h = 0; h < heads; ++h)
        for (int64_t s = 0; s < segs; ++s) {
            float row[16] = {};
            for (int64_t i = 0; i < 16 && s * 16 + i < dh; ++i) row[i] = q[h * ldq + s * 16 + i];
            uint16_t b[16];
            f32_to_bf16(row, b, 16);
            uint16_t* dst = q4 + h * ldq4 + s * 64;
            for (int lane = 0; lane < 4; ++lane) {
                std::memcpy(dst + 8 * lane, b, 16);
                std::memcpy(dst + 32 + 8 * lane, b + 8, 16);
            }
        }
}

template <int H>
ATTNN_BF16_VBMI void tile_scores_bfp8_heads(const TileBand& band, const uint16_t* q4, int64_t ldq4, int64_t segs,
                                            float* scores, int64_t lds, const float* steps, Prefetcher& pf) {
    const auto& t = bfp8_bf16_tables;
    const __m512i lo0 = _mm512_load_si512(t.lo), lo1 = _mm512_load_si512(t.lo + 64);
    const __m512i hi0 = _mm512_load_si512(t.hi), hi1 = _mm512_load_si512(t.hi + 64);
    const __m512i sign = _mm512_set1_epi8(char(0x80));
    // Key 4g + L's step (of a face's 16) into lanes 4L .. 4L + 3.
    const __m512i quad = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    const int64_t first = band.row, end = band.row + band.n;
    for (int64_t half = first / 16; half * 16 < end; ++half) {
        __m512 acc[H][4];  // acc[h][g] lanes 4L .. 4L + 3: key 4g + L's partial sums
        for (int h = 0; h < H; ++h)
            for (int g = 0; g < 4; ++g) acc[h][g] = _mm512_setzero_ps();
        for (int64_t s = 0; s < segs; ++s) {
            pf.step();
            const int64_t face = half * 2 + (s & 1);
            const uint8_t* mant = band.tiles + (s >> 1) * band.tile_bytes + 64 + face * 256;
            const __m512 face_steps = _mm512_loadu_ps(steps + (s >> 1) * 64 + face * 16);
#pragma GCC unroll 4
            for (int g = 0; g < 4; ++g) {
                // Keys 4g .. 4g + 3, one per 128-bit lane: words 0-7 of lane L are key L's values
                // 0-7 (a) or 8-15 (b) as bf16, the sign joined to the high byte.
                const __m512i x = _mm512_loadu_si512(mant + g * 64);
                const __m512i lo = _mm512_permutex2var_epi8(lo0, x, lo1);
                const __m512i hi = _mm512_ternarylogic_epi32(_mm512_permutex2var_epi8(hi0, x, hi1), x, sign, 0xf8);
                const __m512bh a = (__m512bh)_mm512_unpacklo_epi8(lo, hi), b = (__m512bh)_mm512_unpackhi_epi8(lo, hi);
                const __m512 step = _mm512_permutexvar_ps(_mm512_add_epi32(quad, _mm512_set1_epi32(4 * g)), face_steps);
                for (int h = 0; h < H; ++h) {
                    const uint16_t* qs = q4 + h * ldq4 + s * 64;
                    __m512 d = _mm512_dpbf16_ps(_mm512_setzero_ps(), a, (__m512bh)_mm512_loadu_si512(qs));
                    d = _mm512_dpbf16_ps(d, b, (__m512bh)_mm512_loadu_si512(qs + 32));
                    acc[h][g] = _mm512_fmadd_ps(d, step, acc[h][g]);
                }
            }
        }
        for (int h = 0; h < H; ++h)
            store_block_scores(scores + h * lds, half, first, end,
                               keys_in_order(fold_pair(fold_pair(acc[h][0], acc[h][1]), fold_pair(acc[h][2], acc[h][3]))));
    }
}

template <int H>
struct ScoresBfp8 {
    static void run(int64_t h0, const TileBand* band, const uint16_t* q4, int64_t ldq4, int64_t segs, float* scores,
                    int64_t lds, const float* steps, Prefetcher* pf) {
        tile_scores_bfp8_heads<H>(*band, q4 + h0 * ldq4, ldq4, segs, scores + h0 * lds, lds, steps, *pf);
    }
};

ATTNN_BF16_VBMI void tile_scores_bfp8(const TileBand& band, const uint16_t* q4, int64_t heads, int64_t ldq4,
                                      float* scores, int64_t lds, float* work) {
    const int64_t segs = (band.dh + 15) / 16;
    const float* steps = band_steps(band, work);
    const int64_t halves = (band.row + band.n + 15) / 16 - band.row / 16;
    Prefetcher pf(band, halves * segs);
    for_head_groups<ScoresBfp8, 4>(heads, &band, q4, ldq4, segs, scores, lds, steps, &pf);
}
#undef ATTNN_BF16_DOT
#undef ATTNN_BF16_VBMI

// ---- flash decode with int8 dot products (AVX512_VNNI) ---------------------------------
//
// A BFLOAT8_B cache holds each face row as 16 sign-magnitude bytes under one exponent, so
// with the query rounded to int8 per face row (quantize_q8) a key's face row meets it as
// stored: vpdpbusd multiplies 64 byte pairs into 16 int32 sums in one instruction. A face's
// 16 rows (256 bytes) are transposed in registers so that each int32 lane is one key: 4
// vpdpbusd per head then give 16 keys' whole face-row dot products, with no reduction across
// lanes, and each lane is scaled by its key's 2^(exponent) and the query's scale before the
// fp32 sum over face rows.
#define ATTNN_INT8_DOT __attribute__((target("avx512vnni")))

// acc + the products of a's unsigned and b's signed bytes, 4 per int32 lane (vpdpbusd). GCC 12
// gives the intrinsic a separate destination and, in a loop over many accumulators, copies
// each one between two registers every iteration; tied to its accumulator it stays one
// instruction.
ATTNN_INT8_DOT inline __m512i dpbusd(__m512i acc, __m512i a, __m512i b) {
    asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
    return acc;
}

// q8 per (head, face row s), q8_block bytes: at 0 the 16 int8 values, at 16 -128 * their sum
// as int32 (the sign fix-up: keys enter vpdpbusd unsigned, biased by 128), at 20 the scale, at
// 24 a flag; where the flag is set, the rounding residual follows on a grid 128 times finer: at
// 32 its 16 int8 values, at 48 their fix-up, at 52 the scale of the pair (hi * 128 + lo).
//
// One int8 grid per face row is as fine as the cache's own rows where the row's values are of
// like size, but a row with one outlier (TT-NN's inputs: N(0, 10) at rate 0.001) puts its other
// 15 values on the outlier's coarse grid, and scores then err by several times what storing K in
// BFLOAT8_B costs. Such a row (largest |q| over 4 times the mean |q| of the row: about 2% of
// N(0, 1) rows, most outlier rows) carries the residual, and its scores cost 4 more vpdpbusd.
// Rows of like values still err where K holds an outlier (their error meets it): HiFi3 / HiFi4
// give every row its residual (every_residual), which makes the scores as exact as fp32
// products and costs 7-17% more decode time.
constexpr int64_t q8_block = 64;
constexpr float q8_outlier_ratio = 4.0f;

void quantize_q8(const float* q, int64_t heads, int64_t ldq, int64_t dh, bool every_residual, uint8_t* q8) {
    const int64_t segs = (dh + 15) / 16;
    const __m512 sign = _mm512_set1_ps(-0.0f), half = _mm512_set1_ps(0.5f);
    // Round half away from zero: |y| + 0.5 truncated, the sign put back.
    auto round_i32 = [&](__m512 y) {
        return _mm512_cvttps_epi32(
            _mm512_or_ps(_mm512_add_ps(_mm512_andnot_ps(sign, y), half), _mm512_and_ps(sign, y)));
    };
    for (int64_t h = 0; h < heads; ++h)
        for (int64_t s = 0; s < segs; ++s) {
            const __m512 x = _mm512_loadu_ps(q + h * ldq + s * 16);
            uint8_t* blk = q8 + (h * segs + s) * q8_block;
            std::memset(blk, 0, q8_block);
            // inf or NaN in the row (fpclass: QNaN, +inf, -inf, SNaN): NaN scores, as fp32 products give.
            const bool finite = _mm512_fpclass_ps_mask(x, 0x99) == 0;
            const __m512 ax = _mm512_andnot_ps(sign, x);
            const float amax = finite ? _mm512_reduce_max_ps(ax) : 0.0f;
            const float inv = amax > 0 ? 127.0f / amax : 0.0f;
            const __m512 y = finite ? _mm512_mul_ps(x, _mm512_set1_ps(inv)) : _mm512_setzero_ps();
            const __m512i qi = round_i32(y);
            const int32_t corr = -128 * _mm512_reduce_add_epi32(qi);
            const float scale = finite ? amax / 127.0f * (1.0f / 64.0f) : __builtin_nanf("");  // 2^-6: the mantissa step
            _mm_storeu_si128(reinterpret_cast<__m128i*>(blk), _mm512_cvtepi32_epi8(qi));
            std::memcpy(blk + 16, &corr, 4);
            std::memcpy(blk + 20, &scale, 4);
            const float scale_lo = scale * (1.0f / 128.0f);  // a row without a residual: lo = 0 on it
            std::memcpy(blk + 52, &scale_lo, 4);
            const float n = float(std::min<int64_t>(16, dh - s * 16));
            if (!every_residual && !(amax > q8_outlier_ratio * _mm512_reduce_add_ps(ax) / n)) continue;
            // The residual y - qi lies in [-0.5, 0.5]: times 128 it rounds into [-64, 64].
            const __m512i lo =
                round_i32(_mm512_mul_ps(_mm512_sub_ps(y, _mm512_cvtepi32_ps(qi)), _mm512_set1_ps(128.0f)));
            const int32_t flag = 1, corr_lo = -128 * _mm512_reduce_add_epi32(lo);
            std::memcpy(blk + 24, &flag, 4);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(blk + 32), _mm512_cvtepi32_epi8(lo));
            std::memcpy(blk + 48, &corr_lo, 4);
        }
}

template <int H, bool NONFINITE>
ATTNN_INT8_DOT void tile_scores_q8_heads(const TileBand& band, const uint8_t* q8, int64_t segs, float* scores,
                                         int64_t lds, Prefetcher& pf) {
    const __m512i c80 = _mm512_set1_epi8(char(0x80));
    // The transpose leaves key 4 r + L in lane 4 L + r; the exponents are put in that order.
    const __m128i transposed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(key_lanes));
    const int64_t first = band.row, end = band.row + band.n;
    for (int64_t half = first / 16; half * 16 < end; ++half) {
        __m512 f[H];
        for (int h = 0; h < H; ++h) f[h] = _mm512_setzero_ps();
        for (int64_t s = 0; s < segs; ++s) {
            pf.step();
            const uint8_t* tile = band.tiles + (s >> 1) * band.tile_bytes;
            const int64_t face = half * 2 + (s & 1);
            const uint8_t* mant = tile + 64 + face * 256;
            // Sign-magnitude -> k + 128: |k| as int8 is 128 - m for k < 0, and m + 128 for
            // k >= 0 once bit 7 is set where the sign is clear.
            __m512i z[4];
            for (int r = 0; r < 4; ++r) {
                const __m512i k = _mm512_loadu_si512(mant + r * 64);
                z[r] = _mm512_ternarylogic_epi32(_mm512_abs_epi8(k), k, c80, 0xd2);  // x ^ (~y & z)
            }
            // Rows 4r .. 4r + 3 (a row per 128-bit lane) -> t[j]: dims 4j .. 4j + 3 of every key.
            const __m512i a0 = _mm512_unpacklo_epi32(z[0], z[1]), a1 = _mm512_unpackhi_epi32(z[0], z[1]);
            const __m512i a2 = _mm512_unpacklo_epi32(z[2], z[3]), a3 = _mm512_unpackhi_epi32(z[2], z[3]);
            const __m512i t[4] = {_mm512_unpacklo_epi64(a0, a2), _mm512_unpackhi_epi64(a0, a2),
                                  _mm512_unpacklo_epi64(a1, a3), _mm512_unpackhi_epi64(a1, a3)};
            const __m128i ex = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tile + face * 16)),
                                                transposed);
            const __m512i e = _mm512_cvtepu8_epi32(ex);
            __m512i step_bits = _mm512_slli_epi32(e, 23);  // 2^(e - 127)
            if constexpr (NONFINITE)                       // NaN for a non-finite row (bfp_steps64)
                step_bits = _mm512_mask_mov_epi32(
                    step_bits, _mm512_cmpeq_epi32_mask(e, _mm512_set1_epi32(bfp_nonfinite_exponent)),
                    _mm512_set1_epi32(0x7fc00000));
            const __m512 step = _mm512_castsi512_ps(step_bits);
            const int32_t* blk[H];
            __m512i dot[H];
            for (int h = 0; h < H; ++h) {
                blk[h] = reinterpret_cast<const int32_t*>(q8 + (h * segs + s) * q8_block);
                dot[h] = _mm512_set1_epi32(blk[h][4]);
            }
            for (int j = 0; j < 4; ++j)
                for (int h = 0; h < H; ++h) dot[h] = dpbusd(dot[h], t[j], _mm512_set1_epi32(blk[h][j]));
            // A face row with a residual in any of the H heads: every head's dot becomes hi * 128
            // + lo (zero residuals where a head has none) on the finer scale. The branch goes the
            // same way for every band of the call.
            int32_t residual = 0;
            for (int h = 0; h < H; ++h) residual |= blk[h][6];
            int scale_at = 5;
            if (residual) {
                __m512i lo[H];
                for (int h = 0; h < H; ++h) lo[h] = _mm512_set1_epi32(blk[h][12]);
                for (int j = 0; j < 4; ++j)
                    for (int h = 0; h < H; ++h) lo[h] = dpbusd(lo[h], t[j], _mm512_set1_epi32(blk[h][8 + j]));
                for (int h = 0; h < H; ++h) dot[h] = _mm512_add_epi32(_mm512_slli_epi32(dot[h], 7), lo[h]);
                scale_at = 13;
            }
            for (int h = 0; h < H; ++h)
                f[h] = _mm512_fmadd_ps(
                    _mm512_cvtepi32_ps(dot[h]),
                    _mm512_mul_ps(step, _mm512_set1_ps(reinterpret_cast<const float*>(blk[h])[scale_at])),
                    f[h]);
        }
        for (int h = 0; h < H; ++h) store_block_scores(scores + h * lds, half, first, end, keys_in_order(f[h]));
    }
}

template <bool NONFINITE>
struct ScoresQ8 {
    template <int H>
    struct Heads {
        static void run(int64_t h0, const TileBand* band, const uint8_t* q8, int64_t segs, float* scores,
                        int64_t lds, Prefetcher* pf) {
            tile_scores_q8_heads<H, NONFINITE>(*band, q8 + h0 * segs * q8_block, segs, scores + h0 * lds, lds,
                                               *pf);
        }
    };
};

ATTNN_INT8_DOT void tile_scores_q8(const TileBand& band, const uint8_t* q8, int64_t heads, float* scores, int64_t lds) {
    const int64_t segs = (band.dh + 15) / 16;
    const int64_t halves = (band.row + band.n + 15) / 16 - band.row / 16;
    Prefetcher pf(band, halves * segs);
    // The NaN for non-finite rows costs two instructions a step: paid only where the band has one.
    if (has_nonfinite_rows(band)) [[unlikely]]
        for_head_groups<ScoresQ8<true>::Heads, 4>(heads, &band, q8, segs, scores, lds, &pf);
    else
        for_head_groups<ScoresQ8<false>::Heads, 4>(heads, &band, q8, segs, scores, lds, &pf);
}
#undef ATTNN_INT8_DOT
#endif

// ---- row math ---------------------------------------------------------------------------

float row_max(const float* x, int64_t n) {
    int64_t i = 0;
    float m = -__builtin_inff();
    if (n >= W) {
        vf mv = load(x);
        for (i = W; i + W <= n; i += W) mv = vmax(mv, load(x + i));
        for (int l = 0; l < W; ++l) m = fmax_scalar(m, mv[l]);
    }
    for (; i < n; ++i) m = fmax_scalar(m, x[i]);
    return m;
}

float exp_sub_sum(float* x, int64_t n, float sub) {
    vf sv = vf{};
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        vf e = vexp(load(x + i) - sub);
        store(x + i, e);
        sv += e;
    }
    float s = hsum(sv);
    for (; i < n; ++i) {
        x[i] = exp_scalar(x[i] - sub);
        s += x[i];
    }
    return s;
}

// exp(x) = 2^(x log2 e); 2^f on [0, 1) by a minimax cubic (relative error 1.64e-4).
inline vf vexp_approx(vf x) {
    const vf lo = splat(-87.0f), hi = splat(88.0f);
    vf xc = x > hi ? hi : x;
    xc = xc < lo ? lo : xc;
    vf t = xc * 1.44269504088896341f;
    vi n = __builtin_convertvector(t, vi);  // truncates toward zero
    vf nf = __builtin_convertvector(n, vf);
    vi fix = nf > t ? vi{} + 1 : vi{};  // floor for negative t
    n -= fix;
    nf = __builtin_convertvector(n, vf);
    vf f = t - nf;
    vf p = splat(0.07805898f);
    p = p * f + 0.22576416f;
    p = p * f + 0.69584875f;
    p = p * f + 1.0f;
    vi e = (n + 127) << 23;
    vf scale;
    std::memcpy(&scale, &e, sizeof scale);
    vf y = p * scale;
    y = x < lo ? splat(0.0f) : y;
    return x != x ? x : y;
}

float exp_sub_sum_approx(float* x, int64_t n, float sub) {
    vf sv = vf{};
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        vf e = vexp_approx(load(x + i) - sub);
        store(x + i, e);
        sv += e;
    }
    float s = hsum(sv);
    for (; i < n; ++i) {
        x[i] = vexp_approx(splat(x[i] - sub))[0];
        s += x[i];
    }
    return s;
}

void softmax_panel(float* s, int64_t kn, float* m, float* l, float* alpha, bool approx) {
    for (int j = 0; j < gemm_nv; ++j) {
        float* col = s + j * W;
        vf mx = splat(-__builtin_inff());
        for (int64_t k = 0; k < kn; ++k) mx = vmax(mx, load(col + k * gemm_nr));
        vf m_old = load(m + j * W);
        vf m_new = vmax(m_old, mx);
        // An all -inf query so far: subtract 0 instead, so exp gives 0 rather than NaN.
        vf m_safe = m_new == -__builtin_inff() ? splat(0.0f) : m_new;
        vf sum = vf{};
        for (int64_t k = 0; k < kn; ++k) {
            vf p = approx ? vexp_approx(load(col + k * gemm_nr) - m_safe)
                          : vexp(load(col + k * gemm_nr) - m_safe);
            store(col + k * gemm_nr, p);
            sum += p;
        }
        vf a = approx ? vexp_approx(m_old - m_safe) : vexp(m_old - m_safe);
        store(alpha + j * W, a);
        store(l + j * W, load(l + j * W) * a + sum);
        store(m + j * W, m_new);
    }
}

void scale(float* x, int64_t n, float s) {
    for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

// All of a chunk's rows in one call: the rows are independent, so one row's reductions (a
// horizontal max, then exps and a sum) overlap the next row's instead of each row waiting for
// the last one's results through separate calls.
void softmax_rows(float* s, int64_t lds, int64_t rows, int64_t n, float s_mul, const float* m, float* m_new,
                  float* sum, bool approx) {
    for (int64_t r = 0; r < rows; ++r) {
        float* x = s + r * lds;
        if (s_mul != 1.0f) scale(x, n, s_mul);
        const float mx = row_max(x, n);
        m_new[r] = m[r] < mx ? mx : m[r];  // a NaN row max leaves m: the NaN then reaches the sum
    }
    for (int64_t r = 0; r < rows; ++r) {
        float* x = s + r * lds;
        if (m_new[r] == -__builtin_inff()) {
            for (int64_t i = 0; i < n; ++i) x[i] = 0.0f;
            sum[r] = 0.0f;
        } else {
            sum[r] = approx ? exp_sub_sum_approx(x, n, m_new[r]) : exp_sub_sum(x, n, m_new[r]);
        }
    }
}

void scale_add(float* x, int64_t n, float s, const float* add) {
    for (int64_t i = 0; i < n; ++i) x[i] = x[i] * s + add[i];
}

void binary(BinaryOp op, const float* a, const float* b, float* out, int64_t n) {
    switch (op) {
        case BinaryOp::add:
            for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
            break;
        case BinaryOp::subtract:
            for (int64_t i = 0; i < n; ++i) out[i] = a[i] - b[i];
            break;
        case BinaryOp::multiply:
            for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
            break;
    }
}

void binary_scalar(BinaryOp op, const float* a, float b, float* out, int64_t n) {
    switch (op) {
        case BinaryOp::add:
            for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b;
            break;
        case BinaryOp::subtract:
            for (int64_t i = 0; i < n; ++i) out[i] = a[i] - b;
            break;
        case BinaryOp::multiply:
            for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b;
            break;
    }
}

template <Activation act>
inline vf activate(vf v) {
    if constexpr (act == Activation::relu) return v < 0 ? splat(0.0f) : v;  // NaN stays NaN
    if constexpr (act == Activation::gelu) return 0.5f * v * (1.0f + verf(v * 0.70710678118654752f));
    if constexpr (act == Activation::silu) return v / (1.0f + vexp(-v));
    return v;
}

template <Activation act>
void bias_activation_impl(float* x, int64_t n, const float* bias) {
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        vf v = load(x + i);
        if (bias) v += load(bias + i);
        store(x + i, activate<act>(v));
    }
    if (i < n) {  // tail through a zero-padded vector
        float tmp[W] = {};
        float btmp[W] = {};
        for (int64_t j = i; j < n; ++j) tmp[j - i] = x[j], btmp[j - i] = bias ? bias[j] : 0.0f;
        vf v = activate<act>(load(tmp) + load(btmp));
        for (int64_t j = i; j < n; ++j) x[j] = v[j - i];
    }
}

void bias_activation(float* x, int64_t n, const float* bias, Activation act) {
    switch (act) {
        case Activation::none:
            if (bias)
                for (int64_t i = 0; i < n; ++i) x[i] += bias[i];
            break;
        case Activation::relu:
            bias_activation_impl<Activation::relu>(x, n, bias);
            break;
        case Activation::gelu:
            bias_activation_impl<Activation::gelu>(x, n, bias);
            break;
        case Activation::silu:
            bias_activation_impl<Activation::silu>(x, n, bias);
            break;
    }
}

}  // namespace

#define ATTNN_STR2(x) #x
#define ATTNN_STR(x) ATTNN_STR2(x)

extern const KernelTable table;
const KernelTable table = {
    this_isa,
    ATTNN_STR(ATTNN_ISA_NS),
    bf16_to_f32,
    f32_to_bf16,
    bfp8_decode16,
    bfp8_encode16,
    bfp4_decode16,
    bfp4_encode16,
    decode_tile_rows,
    encode_tile_rows,
    copy_rows_to_tiles,
    transpose,
    gemm_mr,
    gemm_nr,
    gemm_kernel,
    gemm_kernel_rows,
    gemm_kernel_cols,
    gemm_kernel_rows_half,
    gemm_kernel_cols_half,
    softmax_panel,
    softmax_rows,
    tile_scores,
    tile_accumulate,
    has_nonfinite_rows,
#if defined(__AVX512F__)
    pack_q_bf16,
    tile_scores_bf16,
    tile_accumulate_bf16,
    pack_rows_bf16x4,
    tile_scores_bfp8,
    quantize_q8,
    tile_scores_q8,
#else
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
#endif
    row_max,
    exp_sub_sum,
    exp_sub_sum_approx,
    scale,
    scale_add,
    binary,
    binary_scalar,
    bias_activation,
};

}  // namespace attnn::kernels::ATTNN_ISA_NS
