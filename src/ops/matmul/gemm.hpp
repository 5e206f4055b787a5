// The GEMM engine behind matmul and linear: C = act(A B + bias) for operands in any layout
// and dtype, decoded to fp32 while packing (GotoBLAS/BLIS structure; see gemm.cpp).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "core/program_cache.hpp"
#include "core/tensor_access.hpp"
#include "kernels/kernels.hpp"

namespace attnn::detail {

struct DeviceImpl;

// Shapes and options that fix a GEMM program.
struct GemmProblem {
    int64_t batch = 1;  // output matrices
    int64_t m = 0, n = 0, k = 0;
    bool transpose_a = false, transpose_b = false;
    // Output matrix i reads A matrix a_index[i] and B matrix b_index[i] (numpy broadcasting).
    std::vector<int64_t> a_index, b_index;
    bool fold_batch_into_m = false;  // B is one matrix and A row-major: one tall GEMM
    kernels::Activation activation = kernels::Activation::none;
    int workers = 1;
    int b_tile_format = -1;  // MatrixView::tile_format of B: -1 unless B is a floating-point TILE tensor
};

// At most this many rows of A (after folding the batch) against one TILE B run as a GEMV: B is
// read once, straight from its tiles, instead of being packed for the microkernel.
constexpr int64_t gemv_max_rows = 16;

// Blocking and work split, plus per-worker scratch: everything that depends only on the
// problem. Built once and kept in the program cache.
struct GemmProgram : Program {
    GemmProblem problem;
    int mr = 0, nr = 0;
    int64_t m_total = 0;  // rows of the (possibly batch-folded) A
    int64_t mc = 0;       // rows per task (multiple of mr)
    int64_t m_blocks = 0;
    int64_t strip = 0;  // output columns per task (multiple of 32: tasks never share a face row)
    int64_t n_strips = 0;
    int64_t tasks = 0;  // batches x n_strips x m_blocks, in that nesting order
    int64_t k_padded = 0;
    int64_t band_ld = 0;    // row stride of `band` for rows of A or of a transposed B (tile-padded k)
    int64_t band_ld_n = 0;  // row stride of `band` for a strip of rows of B
    int64_t a_ld = 0;       // row stride of a row-major A block; 0: A blocks are k-major panels
    int64_t a_block_floats = 0;
    struct Scratch {
        std::vector<float> a_pack, b_pack, c_tile;
        std::vector<float> band;  // up to 32 decoded rows of A or B, or an edge panel
        std::vector<float> stage;  // GEMV: a block-float band with an Inf or NaN, as FLOAT32 tiles
        int64_t packed_b_batch = -1, packed_b_strip = -1;  // which B strip b_pack holds
    };
    std::vector<Scratch> scratch;  // one per worker
    // One output matrix split into column strips over several workers: every worker would pack
    // all of A for its strips, so A is packed once, cooperatively, into a_shared (block mb at
    // mb * mc * k) before the strips run.
    bool shared_a = false;
    std::vector<float> a_shared;
    std::vector<float> bias;       // decoded bias of the current call, length n
    // GEMV (gemv_max_rows): A's rows and C's rows in fp32, row strides gemv_ld_a / gemv_ld_c;
    // each worker takes a contiguous run of B's 32-column tiles (or, for a transposed B, of its
    // 32-row bands); its `band` scratch holds the tile kernels' block-float steps, `c_tile` a
    // transposed B's partial sums, `b_pack` the bf16 kernel's weighted pairs. gemv_qb: A's rows
    // laid out for the bf16 scoring kernels of a transposed B: for tile_scores_bfp8 (BFLOAT8_B)
    // row h at h * gemv_ld_qb words, for tile_scores_bf16 (BFLOAT16) each block of K's rows
    // together, packed by pack_q_bf16, from rows * (k0 / 16) * 32 words.
    bool gemv = false;
    int64_t gemv_ld_a = 0, gemv_ld_c = 0, gemv_ld_qb = 0;
    std::vector<float> gemv_a, gemv_c;
    std::vector<uint16_t> gemv_qb;
};

std::shared_ptr<GemmProgram> build_gemm_program(const GemmProblem& problem);

// Runs the program: out = act(a @ b + bias). bias may be null.
void run_gemm(GemmProgram& program, DeviceImpl& device, const MatrixView& a, const MatrixView& b,
              const MatrixView& out, const MatrixView* bias);

}  // namespace attnn::detail
