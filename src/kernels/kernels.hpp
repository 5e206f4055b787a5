// The SIMD kernels, one table per instruction set, chosen at run time.
//
// isa_kernels.cpp is compiled three times (AVX-512, AVX2+FMA, portable) into separate
// namespaces; dispatch.cpp picks the widest table the CPU supports, or the one named by the
// ATTNN_ISA environment variable (avx512, avx2, portable), or the one a test selects.
#pragma once
#include <cstdint>
#include <vector>

namespace attnn::kernels {

enum class Isa { portable, avx2, avx512 };

enum class BinaryOp : int { add, subtract, multiply };
enum class Activation : int { none, relu, gelu, silu };

// Rows [row, row + n) of one band of 32x32 tiles of a K or V cache (TILE layout), as flash
// decode reads them: `format` as for decode_tile_rows, dh the valid columns (the band holds
// ceil(dh / 32) tiles, tile_bytes apart). `ahead`, if not null, is a band of the same size the
// kernel prefetches while it works (the one it will be given next but one).
struct TileBand {
    int format = 0;
    const uint8_t* tiles = nullptr;
    int64_t tile_bytes = 0, dh = 0, row = 0, n = 0;
    const uint8_t* ahead = nullptr;
};

// The most bands tile_accumulate_bf16 keeps its accumulators in registers across.
constexpr int64_t max_bands = 8;

struct KernelTable {
    Isa isa;
    const char* name;

    // Codecs. bf16 rounds to nearest even; NaN stays NaN.
    void (*bf16_to_f32)(const uint16_t* src, float* dst, int64_t n);
    void (*f32_to_bf16)(const float* src, uint16_t* dst, int64_t n);
    // One 16-value face row of a block-float tile: shared exponent + 16 magnitudes.
    // BFLOAT8_B: 16 bytes of sign+7-bit magnitude; BFLOAT4_B: 8 bytes of sign+3-bit nibbles,
    // element 0 in the low nibble. Encoding follows tt-metal's pack_fp32_vec_as_bfp_tiles.
    void (*bfp8_decode16)(uint8_t exponent, const uint8_t* mantissas, float* dst);
    void (*bfp8_encode16)(const float* src, uint8_t* exponent, uint8_t* mantissas);
    void (*bfp4_decode16)(uint8_t exponent, const uint8_t* mantissas, float* dst);
    void (*bfp4_encode16)(const float* src, uint8_t* exponent, uint8_t* mantissas);

    // Whole rows of a band of 32x32 tiles (TILE layout): rows [i0, i0 + rows) of the band's
    // `tiles` tiles, all 32 * tiles columns, into dst rows of stride ld. `format`: 0 FLOAT32,
    // 1 BFLOAT16, 2 BFLOAT8_B, 3 BFLOAT4_B. Attention decodes its K/V chunks through this.
    void (*decode_tile_rows)(int format, const uint8_t* band, int64_t tile_bytes, int64_t tiles, int64_t i0,
                             int64_t rows, float* dst, int64_t ld);

    // The inverse: rows [i0, i0 + rows) of a band from src rows of stride ld, their columns
    // [0, cols) as given and the band's columns from cols on as zeros.
    void (*encode_tile_rows)(int format, uint8_t* band, int64_t tile_bytes, int64_t tiles, int64_t i0,
                             int64_t rows, const float* src, int64_t ld, int64_t cols);
    // Raw rows of a FLOAT32 (format 0) or BFLOAT16 (1) ROW_MAJOR tensor into rows
    // [i0, i0 + rows) of a band of tiles laid out as TILE storage: src rows of stride ld bytes,
    // `cols` values each, the band's columns from cols to the next multiple of 16 as zeros.
    // Decode reads ROW_MAJOR caches through this.
    void (*copy_rows_to_tiles)(int format, uint8_t* band, int64_t i0, int64_t rows, const uint8_t* src, int64_t ld,
                               int64_t cols);
    // dst[c * ldd + r] = src[r * lds + c] * scale for r < rows, c < cols.
    void (*transpose)(const float* src, int64_t lds, int64_t rows, int64_t cols, float scale, float* dst,
                      int64_t ldd);

    // GEMM microkernel: C[MR x NR] (+)= A[MR x kc] B[kc x NR], A and B packed k-major
    // (a[k * MR + i], b[k * NR + j]); C row-major with row stride ldc.
    int gemm_mr;
    int gemm_nr;
    void (*gemm_kernel)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate);
    // The same for exactly `rows` (1..gemm_mr) rows of A and C, A row-major (a[i * lda + k]) or
    // column-major (a[k * lda + i]): flash attention feeds its K and V chunks to the
    // microkernel as they are, without packing, and a tail of rows costs only what it computes.
    void (*gemm_kernel_rows)(int rows, int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                             int64_t ldc, bool accumulate);
    void (*gemm_kernel_cols)(int rows, int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                             int64_t ldc, bool accumulate);
    // The same on half of B's and C's gemm_nr columns (b and c point at the first of them, B's
    // rows still gemm_nr apart): causal attention's diagonal, where half a query panel sees
    // keys the other half does not.
    void (*gemm_kernel_rows_half)(int rows, int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                                  int64_t ldc, bool accumulate);
    void (*gemm_kernel_cols_half)(int rows, int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                                  int64_t ldc, bool accumulate);
    // Online-softmax step for gemm_nr queries held as the columns of s[kn][gemm_nr] (scores
    // transposed: one key per row): m, l hold the queries' running max and sum; on return s
    // holds exp(s - m_new), alpha = e^(m_old - m_new) rescales what was accumulated before.
    // Queries whose keys are all -inf so far keep m = -inf, l = 0 and get p = 0.
    void (*softmax_panel)(float* s, int64_t kn, float* m, float* l, float* alpha, bool approx);

    // Online-softmax step for `rows` query rows of n scores each (row r at s + r * lds), as
    // decode takes a chunk: each row is multiplied by `scale` (unless 1), m_new[r] = max(m[r],
    // the row's max), and the row becomes exp(s - m_new[r]) with sum[r] its sum; a row whose max
    // is -inf (every key masked so far) is zeroed, sum 0. The caller then rescales by
    // e^(m[r] - m_new[r]).
    void (*softmax_rows)(float* s, int64_t lds, int64_t rows, int64_t n, float scale, const float* m, float* m_new,
                         float* sum, bool approx);

    // Decode attention on a band of the cache's 32x32 tiles (TileBand), `heads` query rows at
    // a time: scores[h * lds + j] = dot(q row h, key j) for the band's run of keys, and
    // out row h += sum_j p[h * ldp + j] value j. q and out rows hold 16 * ceil(dh / 16) floats
    // at strides ldq / ldo, q zero past dh; `work` holds 64 floats per tile (block-float steps).
    void (*tile_scores)(const TileBand& keys, const float* q, int64_t heads, int64_t ldq, float* scores,
                        int64_t lds, float* work);
    void (*tile_accumulate)(const TileBand& values, const float* p, int64_t ldp, int64_t heads, float* out,
                            int64_t ldo, float* work);
    // Whether a block-float band holds a face row whose shared exponent is 255 (an Inf or a NaN
    // in it): the tile kernels read such a row as NaN throughout, as attention wants (a NaN key
    // must not drop out of the softmax); the GEMV decodes such a band exactly instead.
    bool (*has_nonfinite_rows)(const TileBand& band);

    // The same for a BFLOAT16 cache and a bf16 query, with AVX512_BF16 dot products (32 bf16
    // products per instruction, K and V used as stored): pack_q_bf16 lays the query (rows as
    // for tile_scores, values bf16 holds exactly, zero past dh) out once, in
    // qbf16_words(heads, dh) words, for every band tile_scores_bf16 then scores. p is rounded to
    // bf16 before it meets V, as FlashAttention does on GPUs, so the result has bf16 inputs'
    // accuracy. Null in tables without them; call only when has_bf16_dot().
    // tile_accumulate_bf16 takes bands of one format and dh at once (the runs of one chunk: p
    // holds their keys one after another), max_bands at a time, so the accumulators stay in
    // registers across them; work: min(nbands, max_bands) * 16 * heads * ceil(dh / 16) floats. It also takes
    // BFLOAT8_B bands (where has_bf16_dot(2)): their magnitudes become bf16 integers exactly
    // and each face row's exponent moves onto p, so again only p's rounding to bf16 is added.
    void (*pack_q_bf16)(const float* q, int64_t heads, int64_t ldq, int64_t dh, uint16_t* qdup);
    void (*tile_scores_bf16)(const TileBand& keys, const uint16_t* qdup, int64_t heads, float* scores, int64_t lds);
    void (*tile_accumulate_bf16)(const TileBand* values, int64_t nbands, const float* p, int64_t ldp, int64_t heads,
                                 float* out, int64_t ldo, float* work);

    // BFLOAT8_B keys scored by rows that bf16 holds exactly, on bf16 dot products (AVX512_BF16 +
    // AVX512_VBMI, where has_bf16_dot(2)): the GEMV's transposed BFLOAT8_B weights against
    // BFLOAT16 activations. Each face row's magnitudes become bf16 integers exactly and each
    // (key, face row) sum is scaled by the row's 2^exponent before the sum over face rows, so
    // the products are exact and the sums fp32, as tile_scores gives. pack_rows_bf16x4 lays
    // `heads` rows of dh values (stride ldq) out once, each 16-value face row as 64 words, row h
    // at q4 + h * ldq4 (ldq4 >= 64 * ceil(dh / 16)); tile_scores_bfp8 then takes a band of dh
    // columns against them (q4 pointing at the band's first face row); work as for tile_scores.
    void (*pack_rows_bf16x4)(const float* q, int64_t heads, int64_t ldq, int64_t dh, uint16_t* q4, int64_t ldq4);
    void (*tile_scores_bfp8)(const TileBand& keys, const uint16_t* q4, int64_t heads, int64_t ldq4, float* scores,
                             int64_t lds, float* work);

    // BFLOAT8_B keys met by int8 dot products (AVX512_VNNI, 64 products per instruction): the
    // query, 16 * ceil(dh / 16) floats per head at stride ldq (zero past dh), is rounded to int8
    // per 16-value face row with its own scale, as the cache's mantissas are (error below 2^-8
    // of the row's largest value), by quantize_q8 into q8 (q8_bytes(heads, dh) bytes); a row
    // whose largest value passes 4 times its mean magnitude, or every row if every_residual,
    // also carries its rounding residual (error below 2^-15 of the largest value: scores as
    // exact as fp32 products give, for 4 more vpdpbusd per row). tile_scores_q8 then scores a
    // band of K with it, the keys' bytes used as stored.
    // Null in tables without them; call only when has_int8_dot().
    void (*quantize_q8)(const float* q, int64_t heads, int64_t ldq, int64_t dh, bool every_residual,
                        uint8_t* q8);
    void (*tile_scores_q8)(const TileBand& keys, const uint8_t* q8, int64_t heads, float* scores, int64_t lds);

    // Row math.
    float (*row_max)(const float* x, int64_t n);
    // x[i] = exp(x[i] - sub); returns the sum of the new x.
    float (*exp_sub_sum)(float* x, int64_t n, float sub);
    // The same with exp by 2^t, t split into integer and fraction, 2^fraction by a degree-3
    // polynomial: relative error < 1.7e-4, about half the instructions.
    float (*exp_sub_sum_approx)(float* x, int64_t n, float sub);
    void (*scale)(float* x, int64_t n, float s);                        // x *= s
    void (*scale_add)(float* x, int64_t n, float s, const float* add);  // x = x * s + add
    void (*binary)(BinaryOp op, const float* a, const float* b, float* out, int64_t n);
    void (*binary_scalar)(BinaryOp op, const float* a, float b, float* out, int64_t n);
    void (*bias_activation)(float* x, int64_t n, const float* bias, Activation act);  // bias may be null
};

const KernelTable& table();  // the active table
Isa best_isa();              // the widest this CPU runs
std::vector<Isa> supported_isas();
// Words pack_q_bf16 writes for `heads` query rows of dh values.
constexpr int64_t qbf16_words(int64_t heads, int64_t dh) { return heads * ((dh + 15) / 16) * 32; }
// Bytes quantize_q8 writes for `heads` query rows of dh values.
constexpr int64_t q8_bytes(int64_t heads, int64_t dh) { return heads * ((dh + 15) / 16) * 64; }
// Whether the active table has the int8 dot-product kernels and this CPU runs them
// (AVX512_VNNI); ATTNN_INT8_DOT=0 keeps BFLOAT8_B keys on fp32 products.
bool has_int8_dot();
// Whether the active table has the bf16 dot-product kernels and this CPU runs them (AVX512_BF16).
// format 2: tile_accumulate_bf16 on BFLOAT8_B bands, which needs AVX512_VBMI as well.
bool has_bf16_dot(int format = 1);
const char* isa_name(Isa isa);
// Selects the table used from now on; throws attnn::Error if the CPU lacks it.
void set_isa(Isa isa);

}  // namespace attnn::kernels
