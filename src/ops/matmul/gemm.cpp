// GEMM in the GotoBLAS / BLIS structure (Goto & van de Geijn, "Anatomy of High-Performance
// Matrix Multiplication", 2008), with one twist: packing is where storage formats disappear.
// A blocks and B strips are decoded from any layout (ROW_MAJOR / TILE) and dtype (FLOAT32,
// BFLOAT16, BFLOAT8_B, BFLOAT4_B) straight into fp32 panels, so the microkernel only ever sees
// fp32 and a bf16 or bfp8 weight costs no more than an fp32 one once the GEMM is compute-bound.
//
// Work split: the output is cut into tasks of mc rows x `strip` columns (per batch); each
// worker takes a contiguous run of tasks ordered batch -> strip -> row block, so it packs each
// B strip once and reuses it for all its row blocks. When the workers split one matrix's
// columns, A is packed once, cooperatively, before the strips run (rather than by every worker).
// Inside a task:
//   for each 256-column block of the strip      (C block mc x 256 stays in L2)
//     for each kc=256 slice of K                  (A block mc x kc and B block kc x 256 in L2)
//       for each mr rows of A                     (mr x kc of A stays in L1)
//         for each nr-column panel of B           -> microkernel, mr x nr accumulators
//     bias + activation + encode the C block into the output while it is hot.
#include "ops/matmul/gemm.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/device_impl.hpp"
#include "ops/common.hpp"

namespace attnn::detail {

namespace {

constexpr int64_t kc_block = 256;        // A micro-panel (14 x 256 fp32 = 14 KiB) fits L1 beside B lines
constexpr int64_t nc_block = 256;        // B block (256 x 256 fp32 = 256 KiB) and C block fit L2 (1-2 MiB)
constexpr int64_t mc_target = 256;       // A block (mc x kc = 256 KiB) fits L2 with the B and C blocks
constexpr int64_t strip_max = 2048;      // packed B strip (k x strip) per worker stays a few MiB for k ~ 1-2K
constexpr int64_t c_ld = nc_block + 16;  // C block row stride, padded so rows do not alias in L1 sets
constexpr int64_t gemv_block_bytes = 16 << 10;  // a transposed B's tiles a GEMV scores at a time (L1)
constexpr int64_t gemv_score_rows = 4;           // rows of A per tile_scores call: more spill its sums
constexpr int64_t gemv_bf16_rows = 8;            // rows from which bf16 dot products pay (measured: 6 even, 8 ahead)
constexpr int64_t gemv_bf16_score_rows = 4;      // the same for a transposed BFLOAT16 B (3 even, 4: 1.75x)
constexpr int64_t face_align = 32;  // task column boundaries on tile edges: no two tasks share a face row

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

}  // namespace

std::shared_ptr<GemmProgram> build_gemm_program(const GemmProblem& problem) {
    auto p = std::make_shared<GemmProgram>();
    p->problem = problem;
    const auto& kt = kernels::table();
    p->mr = kt.gemm_mr;
    p->nr = kt.gemm_nr;
    const int64_t workers = std::max(1, problem.workers);
    const int64_t batches = problem.fold_batch_into_m ? 1 : problem.batch;
    p->m_total = problem.fold_batch_into_m ? problem.batch * problem.m : problem.m;
    const int64_t mc_max = std::max<int64_t>(p->mr, mc_target / p->mr * p->mr);
    p->bias.assign(std::size_t(problem.n), 0.0f);

    // A few rows against one TILE B (a decode step's linear): the GEMM would pack all of B for
    // rows that use each value once or a few times, so the rows meet B's tiles as stored
    // instead, through the tile kernels flash decode uses (B [K, N]: its 32-row bands are
    // accumulated like V, weighted by the rows; B^T [N, K]: its bands are scored like K).
    if (batches == 1 && !problem.transpose_a && problem.b_tile_format >= 0 && p->m_total <= gemv_max_rows) {
        p->gemv = true;
        p->gemv_ld_a = round_up(problem.k, TILE_WIDTH) + 16;
        p->gemv_ld_c = round_up(problem.n, TILE_WIDTH) + 16;
        p->gemv_a.assign(std::size_t(p->m_total * p->gemv_ld_a), 0.0f);
        p->gemv_c.assign(std::size_t(p->m_total * p->gemv_ld_c), 0.0f);
        if (problem.transpose_b && problem.b_tile_format == 2 && kernels::has_bf16_dot(2)) {
            p->gemv_ld_qb = ceil_div(problem.k, 16) * 64;
            p->gemv_qb.assign(std::size_t(p->m_total * p->gemv_ld_qb), 0);
        } else if (problem.transpose_b && problem.b_tile_format == 1 && kernels::has_bf16_dot()) {
            p->gemv_qb.assign(std::size_t(p->m_total * ceil_div(problem.k, 16) * 32), 0);
        }
        const int64_t units = ceil_div(problem.n, TILE_WIDTH);
        p->tasks = std::min(workers, units);
        p->scratch.resize(std::size_t(p->tasks));
        const int64_t cols = ceil_div(units, p->tasks) * TILE_WIDTH;  // the most a worker takes
        for (auto& s : p->scratch) {  // 64 floats per tile of a band: the block-float steps
            s.band.assign(std::size_t(64 * ceil_div(std::max(problem.k, problem.n), TILE_WIDTH)), 0.0f);
            s.c_tile.assign(std::size_t(p->m_total * TILE_WIDTH), 0.0f);
            if (!problem.transpose_b && problem.b_tile_format == 1 && p->m_total >= gemv_bf16_rows)
                s.b_pack.assign(std::size_t(kernels::max_bands * 16 * p->m_total * ceil_div(cols, 16)), 0.0f);
        }
        return p;
    }

    int64_t m_blocks = ceil_div(p->m_total, mc_max);
    int64_t n_strips = ceil_div(problem.n, strip_max);
    const int64_t max_m_blocks = ceil_div(p->m_total, p->mr);
    const int64_t max_n_strips = ceil_div(problem.n, face_align);
    // Workers take contiguous runs of tasks ordered batch -> strip -> row block. With fewer
    // batches than workers, give every worker its own B strips (a strip shared by two workers
    // would be packed twice): the strip count becomes a multiple of the workers.
    if (batches % workers != 0 && problem.n >= workers * nc_block)
        n_strips = std::min(round_up(n_strips, workers / std::gcd(batches, workers)), max_n_strips);
    // Enough tasks for every worker: split N, then M.
    while (batches * m_blocks * n_strips < workers && n_strips < max_n_strips) ++n_strips;
    while (batches * m_blocks * n_strips < workers && m_blocks < max_m_blocks) ++m_blocks;
    // Few tasks: make their count a multiple of the workers so none idles at the end.
    for (int64_t extra = 0; extra < workers && (batches * m_blocks * n_strips) % workers != 0 &&
                            batches * m_blocks * n_strips < 16 * workers && m_blocks < max_m_blocks;
         ++extra)
        ++m_blocks;
    p->strip = round_up(ceil_div(problem.n, n_strips), face_align);
    p->n_strips = ceil_div(problem.n, p->strip);
    p->mc = round_up(ceil_div(p->m_total, m_blocks), p->mr);
    p->m_blocks = ceil_div(p->m_total, p->mc);
    p->tasks = batches * p->m_blocks * p->n_strips;
    p->k_padded = problem.k;
    // Covers a stored row of length k in either layout; the extra 16 floats keep the band's rows
    // (read down a column when scattered into panels) out of each other's L1 sets.
    p->band_ld = round_up(problem.k, TILE_WIDTH) + 16;
    // A blocks: row-major (rows a_ld apart, read straight from storage, fed to the row-major
    // microkernel) unless A is transposed, then k-major mr-row panels.
    p->a_ld = problem.transpose_a ? 0 : p->band_ld;
    p->a_block_floats = problem.transpose_a ? p->mc * problem.k : p->mc * p->a_ld;
    p->band_ld_n = round_up(p->strip, TILE_WIDTH) + TILE_WIDTH;  // a strip's columns of B rows

    // Workers splitting one matrix's columns share its packed A, when that fits a modest budget.
    constexpr int64_t shared_a_max_bytes = int64_t(96) << 20;
    p->shared_a = batches == 1 && workers > 1 && p->n_strips > 1 &&
                  p->m_blocks * p->a_block_floats * int64_t(sizeof(float)) <= shared_a_max_bytes;
    if (p->shared_a) p->a_shared.assign(std::size_t(p->m_blocks * p->a_block_floats), 0.0f);

    p->scratch.resize(std::size_t(workers));
    for (auto& s : p->scratch) {
        if (!p->shared_a) s.a_pack.assign(std::size_t(p->a_block_floats), 0.0f);
        s.b_pack.assign(std::size_t(round_up(p->strip, p->nr) * problem.k), 0.0f);
        s.c_tile.assign(std::size_t(p->mc * c_ld), 0.0f);
        s.band.assign(std::size_t(TILE_HEIGHT * std::max(p->band_ld, p->band_ld_n)), 0.0f);
    }
    return p;
}

namespace {

// Packed blocks are laid out kc-slice by kc-slice: slice [pc, pc + kc) of every panel sits
// together, so the A block (mc x kc) and the B block (kc x 256) that the inner loops reuse are
// each one contiguous range. (Panels each holding all of k would put the B block's panels a
// multiple of 128 KiB apart: the same L2 sets, evicting each other.)
inline int64_t slice_len(int64_t pc, int64_t k) { return std::min(kc_block, k - pc); }

// Scatters `run` decoded rows (band, row stride ld) that are rows first .. first + run - 1 of a
// block packed as panels of `width` rows, k-major within each kc slice: row i, step kk of slice
// pc lands at dst[pc * panels * width + (i / width) * kc * width + kk * width + i % width]. The
// loop runs k-major so the stores stream through each panel instead of striding across it.
void scatter_rows(const float* band, int64_t ld, int64_t run, int64_t first, int width, int64_t panels,
                  int64_t k, float* dst) {
    int64_t offset[TILE_HEIGHT];
    for (int64_t pc = 0; pc < k; pc += kc_block) {
        const int64_t kc = slice_len(pc, k);
        for (int64_t r = 0; r < run; ++r) {
            const int64_t i = first + r;
            offset[r] = (i / width) * kc * width + i % width;
        }
        float* slice = dst + pc * panels * width;
        for (int64_t kk = 0; kk < kc; ++kk) {
            const float* column = band + pc + kk;
            float* step = slice + kk * width;
            for (int64_t r = 0; r < run; ++r) step[offset[r]] = column[r * ld];
        }
    }
}

// Rows [m0, m0 + mc) of the logical A (m x k): row-major with row stride a_ld (the row-major
// microkernel reads them in place), or, for a transposed A, mc/mr panels per kc slice, k-major.
void pack_a(const GemmProgram& p, const MatrixView& a, int64_t a_matrix, int64_t m0, float* dst) {
    const int mr = p.mr;
    const int64_t k = p.problem.k, m = p.problem.m;
    const int64_t valid = std::min(p.mc, p.m_total - m0);
    if (!p.problem.transpose_a) {
        // Row-major: whole rows straight from storage (read_rows decodes TILE storage a band at
        // a time); rows past the end of A stay zero.
        const int64_t ld = p.a_ld;
        for (int64_t i0 = 0; i0 < p.mc;) {
            float* rows = dst + i0 * ld;
            if (i0 >= valid) {
                std::fill(rows, dst + p.mc * ld, 0.0f);
                break;
            }
            const int64_t gm = m0 + i0;
            const int64_t b = p.problem.fold_batch_into_m ? gm / m : a_matrix;
            const int64_t r = p.problem.fold_batch_into_m ? gm % m : gm;
            const int64_t run = std::min({int64_t(TILE_HEIGHT), valid - i0, m - r});  // inside one matrix
            a.read_rows(b, r, run, rows, ld);
            i0 += run;
        }
        return;
    }
    // A stored as [k, m]: stored row kk holds A[:, kk], so each read fills one k step of a panel.
    const int64_t panels = p.mc / mr;
    for (int64_t q = 0; q < panels; ++q) {
        int64_t first = m0 + q * mr;
        int64_t count = std::clamp<int64_t>(valid - q * mr, 0, mr);
        for (int64_t pc = 0; pc < k; pc += kc_block) {
            const int64_t kc = slice_len(pc, k);
            float* panel = dst + pc * panels * mr + q * kc * mr;
            for (int64_t kk = 0; kk < kc; ++kk) {
                float* d = panel + kk * mr;
                if (count > 0) a.read(a_matrix, pc + kk, first, count, d);
                for (int64_t i = count; i < mr; ++i) d[i] = 0.0f;
            }
        }
    }
}

// Columns [n0, n0 + strip) of the logical B (k x n) as strip/nr panels per kc slice, k-major.
void pack_b(const GemmProgram& p, const MatrixView& b, int64_t b_matrix, int64_t n0, float* dst,
            float* band) {
    const int nr = p.nr;
    const int64_t k = p.problem.k, panels = round_up(p.strip, nr) / nr;
    const int64_t valid = std::min(p.strip, p.problem.n - n0);
    const int64_t width = panels * nr;
    if (!p.problem.transpose_b) {
        // Rows of B a tile band at a time, only the strip's columns (n0 is a multiple of 32).
        const int64_t ld = p.band_ld_n;
        for (int64_t kk0 = 0; kk0 < k;) {
            const int64_t run = std::min<int64_t>(TILE_HEIGHT - kk0 % TILE_HEIGHT, k - kk0);
            b.read_rows(b_matrix, kk0, run, band, ld, n0, valid);
            for (int64_t kk = kk0; kk < kk0 + run; ++kk) {
                float* r = band + (kk - kk0) * ld;
                std::fill(r + valid, r + width, 0.0f);
                const int64_t pc = kk / kc_block * kc_block, kc = slice_len(pc, k);
                float* base = dst + pc * width + (kk - pc) * nr;
                for (int64_t q = 0; q < panels; ++q) std::memcpy(base + q * kc * nr, r + q * nr, nr * 4);
            }
            kk0 += run;
        }
        return;
    }
    // B stored as [n, k] (a torch Linear weight): stored row j is column j of B. Rows come a
    // tile band at a time.
    const int64_t ld = p.band_ld;
    for (int64_t j0 = 0; j0 < width;) {
        const int64_t run = std::min<int64_t>(TILE_HEIGHT - (n0 + j0) % TILE_HEIGHT, width - j0);
        const int64_t real = std::clamp<int64_t>(valid - j0, 0, run);
        if (real > 0) b.read_rows(b_matrix, n0 + j0, real, band, ld);
        std::fill(band + real * ld, band + run * ld, 0.0f);
        scatter_rows(band, ld, run, j0, nr, panels, k, dst);
        j0 += run;
    }
}

// A block-float band decoded into FLOAT32 tiles in `stage`: a face row holding an Inf or a NaN
// (shared exponent 255) then reads as the codec decodes it (the Inf, the NaN, 0 beside them), as
// the GEMM reads it, where the tile kernels would make the whole row NaN. Rare: checked per band.
kernels::TileBand exact_band(const kernels::TileBand& band, std::vector<float>& stage) {
    const auto& kt = kernels::table();
    const int64_t tiles = ceil_div(band.dh, TILE_WIDTH), tile_floats = TILE_HEIGHT * TILE_WIDTH;
    stage.resize(std::size_t(tiles * tile_floats));
    for (int64_t t = 0; t < tiles; ++t) {
        const uint8_t* tile = band.tiles + t * band.tile_bytes;
        for (int64_t row = 0; row < 64; ++row) {  // face row: face row / 16, row row % 16 of that face
            float* dst = stage.data() + t * tile_floats + row * 16;
            if (band.format == 2)
                kt.bfp8_decode16(tile[row], tile + 64 + row * 16, dst);
            else
                kt.bfp4_decode16(tile[row], tile + 64 + row * 8, dst);
        }
    }
    kernels::TileBand decoded = band;
    decoded.format = 0, decoded.tiles = reinterpret_cast<const uint8_t*>(stage.data());
    decoded.tile_bytes = tile_floats * int64_t(sizeof(float)), decoded.ahead = nullptr;
    return decoded;
}

// C = act(A B + bias) for the program's few rows of A (GemmProgram::gemv). Worker w takes the
// w-th run of C's 32-column tiles: for B [K, N], the same tiles of every 32-row band of B; for a
// transposed B [N, K], whole bands of B (its rows are C's columns). Each worker finishes its
// columns (bias, activation, encoding); runs start on tile edges, so no two share a face row.
void run_gemv(GemmProgram& p, DeviceImpl& device, const MatrixView& a, const MatrixView& b, const MatrixView& out,
              const float* bias) {
    const GemmProblem& prob = p.problem;
    const auto& kt = kernels::table();
    const int64_t rows = p.m_total, k = prob.k, n = prob.n;
    const int64_t lda = p.gemv_ld_a, ldc = p.gemv_ld_c;
    // Row i of the folded A (and C) is row i % m of matrix i / m; unfolded, row i of matrix 0.
    auto matrix_row = [&](int64_t i, int64_t matrix) {
        return prob.fold_batch_into_m ? std::pair{i / prob.m, i % prob.m} : std::pair{matrix, i};
    };
    for (int64_t i = 0; i < rows; ++i) {
        float* row = p.gemv_a.data() + i * lda;
        const auto [matrix, r] = matrix_row(i, prob.a_index[0]);
        a.read(matrix, r, 0, k, row);
        std::fill(row + k, row + lda, 0.0f);  // the kernels read whole face rows
    }
    // Rows that bf16 holds exactly (BFLOAT16 activations) meet B on bf16 dot products where the
    // CPU has them and they pay; the products are exact in fp32 either way (but for subnormals:
    // vdpbf16ps reads subnormal inputs and products as 0, an error below 2^-126 each). A BFLOAT16 B [K, N]
    // from 8 rows (with fewer, B's reads bound the GEMV and the fp32 kernel, one band per call,
    // reads them faster); a transposed BFLOAT16 B from 4 rows (with fewer, as fast); a transposed
    // BFLOAT8_B B at any row count, its face rows' exponents scaling the sums (tile_scores_bfp8),
    // where the fp32 kernel decodes every face row first. A BFLOAT8_B B [K, N] stays on fp32:
    // the bf16 kernel's BFLOAT8_B form moves each face row's exponent onto the weights p, which
    // only attention's p in [0, 1] allows.
    const int format = prob.b_tile_format;
    bool bf16_rows = !prob.transpose_b && format == 1 && rows >= gemv_bf16_rows && kernels::has_bf16_dot();
    bool bfp8_scores = prob.transpose_b && format == 2 && !p.gemv_qb.empty() && kernels::has_bf16_dot(2);
    bool bf16_scores = prob.transpose_b && format == 1 && rows >= gemv_bf16_score_rows && !p.gemv_qb.empty() &&
                       kernels::has_bf16_dot();
    // The rows are scanned for bf16-exactness only where a bf16 kernel could take them.
    if ((bf16_rows || bfp8_scores || bf16_scores) && !bf16_exact(p.gemv_a.data(), rows * lda))
        bf16_rows = bfp8_scores = bf16_scores = false;
    const int64_t tile_bytes = int64_t(tile_size_bytes(b.dtype));
    const bool block_float = format >= 2;
    // A transposed B is scored a block of its tiles at a time (about 16 KiB, staying in L1 while
    // every row passes over it), the blocks' dot products summed.
    const int64_t block = std::max<int64_t>(1, gemv_block_bytes / tile_bytes) * TILE_WIDTH;
    if (bfp8_scores) kt.pack_rows_bf16x4(p.gemv_a.data(), rows, lda, k, p.gemv_qb.data(), p.gemv_ld_qb);
    if (bf16_scores)
        for (int64_t k0 = 0; k0 < k; k0 += block)
            kt.pack_q_bf16(p.gemv_a.data() + k0, rows, lda, std::min(block, k - k0),
                           p.gemv_qb.data() + rows * (k0 / 16) * 32);
    const int64_t b_matrix = prob.fold_batch_into_m ? 0 : prob.b_index[0];
    const int64_t units = ceil_div(n, TILE_WIDTH);
    const uint8_t* b_data = reinterpret_cast<const uint8_t*>(b.band(b_matrix, 0));
    const int64_t band_bytes = ceil_div(b.padded_cols, TILE_WIDTH) * tile_bytes;  // one 32-row band of B
    const int tasks = int(p.tasks);
    device.pool->parallel_for(
        tasks,
        [&](int64_t w, int) {
            float* work = p.scratch[std::size_t(w)].band.data();
            const int64_t u0 = w * units / tasks, u1 = (w + 1) * units / tasks;
            const int64_t c0 = u0 * TILE_WIDTH, cols = std::min(n, u1 * TILE_WIDTH) - c0;
            float* c = p.gemv_c.data() + c0;
            if (!prob.transpose_b) {
                for (int64_t i = 0; i < rows; ++i) std::fill(c + i * ldc, c + i * ldc + round_up(cols, 16), 0.0f);
                if (bf16_rows) {  // max_bands bands per call: the sums stay in registers across them
                    constexpr int64_t span = kernels::max_bands * TILE_HEIGHT;
                    float* pairs = p.scratch[std::size_t(w)].b_pack.data();
                    for (int64_t k0 = 0; k0 < k; k0 += span) {
                        kernels::TileBand bands[kernels::max_bands];
                        int64_t nb = 0;
                        for (int64_t kb = k0; kb < std::min(k, k0 + span); kb += TILE_HEIGHT, ++nb) {
                            const uint8_t* tiles = b_data + (kb / TILE_HEIGHT) * band_bytes + u0 * tile_bytes;
                            bands[nb] = {format, tiles, tile_bytes, cols, 0, std::min<int64_t>(TILE_HEIGHT, k - kb),
                                         kb + span < k ? tiles + kernels::max_bands * band_bytes : nullptr};
                        }
                        kt.tile_accumulate_bf16(bands, nb, p.gemv_a.data() + k0, lda, rows, c, ldc, pairs);
                    }
                } else {
                    for (int64_t k0 = 0; k0 < k; k0 += TILE_HEIGHT) {
                        const uint8_t* tiles = b_data + (k0 / TILE_HEIGHT) * band_bytes + u0 * tile_bytes;
                        const int64_t n_rows = std::min<int64_t>(TILE_HEIGHT, k - k0);
                        const uint8_t* ahead = k0 + TILE_HEIGHT < k ? tiles + band_bytes : nullptr;
                        const kernels::TileBand stored{format, tiles, tile_bytes, cols, 0, n_rows, ahead};
                        const kernels::TileBand band =
                            block_float && kt.has_nonfinite_rows(stored)
                                ? exact_band(stored, p.scratch[std::size_t(w)].stage)
                                : stored;
                        kt.tile_accumulate(band, p.gemv_a.data() + k0, lda, rows, c, ldc, work);
                    }
                }
            } else {
                float* part = p.scratch[std::size_t(w)].c_tile.data();  // rows x 32 partial sums
                for (int64_t u = u0; u < u1; ++u) {
                    const int64_t valid = std::min<int64_t>(TILE_HEIGHT, n - u * TILE_WIDTH);
                    float* cu = c + (u - u0) * TILE_WIDTH;
                    for (int64_t k0 = 0; k0 < k; k0 += block) {
                        const uint8_t* tiles = b_data + u * band_bytes + (k0 / TILE_WIDTH) * tile_bytes;
                        const uint8_t* ahead = k0 + block < k ? tiles + (block / TILE_WIDTH) * tile_bytes
                                               : u + 1 < u1  ? b_data + (u + 1) * band_bytes
                                                             : nullptr;
                        const int64_t width = std::min(block, k - k0);
                        const kernels::TileBand stored{format, tiles, tile_bytes, width, 0, valid, ahead};
                        const bool exact = block_float && kt.has_nonfinite_rows(stored);
                        const kernels::TileBand band =
                            exact ? exact_band(stored, p.scratch[std::size_t(w)].stage) : stored;
                        if (bfp8_scores && !exact)
                            kt.tile_scores_bfp8(band, p.gemv_qb.data() + k0 / 16 * 64, rows, p.gemv_ld_qb,
                                                k0 ? part : cu, k0 ? TILE_WIDTH : ldc, work);
                        else if (bf16_scores)
                            kt.tile_scores_bf16(band, p.gemv_qb.data() + rows * (k0 / 16) * 32, rows,
                                                k0 ? part : cu, k0 ? TILE_WIDTH : ldc);
                        else
                            for (int64_t h = 0; h < rows; h += gemv_score_rows)  // the block stays in L1
                                kt.tile_scores(band, p.gemv_a.data() + h * lda + k0,
                                               std::min(gemv_score_rows, rows - h), lda,
                                               k0 ? part + h * TILE_WIDTH : cu + h * ldc, k0 ? TILE_WIDTH : ldc, work);
                        if (k0)
                            for (int64_t i = 0; i < rows; ++i)
                                for (int64_t j = 0; j < valid; ++j) cu[i * ldc + j] += part[i * TILE_WIDTH + j];
                    }
                }
            }
            for (int64_t i = 0; i < rows; ++i) {
                float* row = c + i * ldc;
                if (bias || prob.activation != kernels::Activation::none)
                    kt.bias_activation(row, cols, bias ? bias + c0 : nullptr, prob.activation);
                const auto [matrix, r] = matrix_row(i, 0);
                out.write(matrix, r, c0, cols, row);
            }
        },
        tasks);
}

}  // namespace

void run_gemm(GemmProgram& p, DeviceImpl& device, const MatrixView& a, const MatrixView& b,
              const MatrixView& out, const MatrixView* bias) {
    const GemmProblem& prob = p.problem;
    const auto& kt = kernels::table();
    const float* bias_values = nullptr;
    if (bias) {
        bias->read(0, 0, 0, prob.n, p.bias.data());
        bias_values = p.bias.data();
    }
    if (p.gemv) return run_gemv(p, device, a, b, out, bias_values);
    for (auto& s : p.scratch) s.packed_b_batch = -1;

    const int64_t workers = int64_t(p.scratch.size());
    const int mr = p.mr, nr = p.nr;
    const int64_t k = prob.k;
    const int64_t b_width = round_up(p.strip, nr);  // packed B strip width (whole panels)
    if (p.shared_a) {
        const int64_t a_matrix = prob.fold_batch_into_m ? 0 : prob.a_index[0];
        device.pool->parallel_for(
            p.m_blocks,
            [&](int64_t mb, int) { pack_a(p, a, a_matrix, mb * p.mc, p.a_shared.data() + mb * p.a_block_floats); },
            int(workers));
    }
    auto run_range = [&](int64_t range, int worker) {
        GemmProgram::Scratch& s = p.scratch[std::size_t(worker)];
        const int64_t first = range * p.tasks / workers, last = (range + 1) * p.tasks / workers;
        for (int64_t t = first; t < last; ++t) {
            const int64_t mb = t % p.m_blocks;
            const int64_t strip = (t / p.m_blocks) % p.n_strips;
            const int64_t ob = t / (p.m_blocks * p.n_strips);  // output matrix (0 when folded)
            const int64_t a_matrix = prob.fold_batch_into_m ? 0 : prob.a_index[std::size_t(ob)];
            const int64_t b_matrix = prob.fold_batch_into_m ? 0 : prob.b_index[std::size_t(ob)];
            const int64_t m0 = mb * p.mc, n0 = strip * p.strip;
            const int64_t valid_m = std::min(p.mc, p.m_total - m0);
            const int64_t valid_n = std::min(p.strip, prob.n - n0);
            if (s.packed_b_batch != b_matrix || s.packed_b_strip != strip) {
                pack_b(p, b, b_matrix, n0, s.b_pack.data(), s.band.data());
                s.packed_b_batch = b_matrix;
                s.packed_b_strip = strip;
            }
            const float* a_block = p.a_shared.data() + mb * p.a_block_floats;
            if (!p.shared_a) {
                pack_a(p, a, a_matrix, m0, s.a_pack.data());
                a_block = s.a_pack.data();
            }
            const int64_t m_panels = round_up(valid_m, mr);
            for (int64_t jc = 0; jc < valid_n; jc += nc_block) {
                const int64_t nb = std::min(nc_block, valid_n - jc);
                const int64_t nb_panels = round_up(nb, nr);
                for (int64_t pc = 0; pc < k; pc += kc_block) {
                    const int64_t kc = std::min(kc_block, k - pc);
                    for (int64_t ir = 0; ir < m_panels; ir += mr) {
                        for (int64_t jr = 0; jr < nb_panels; jr += nr) {
                            const float* bp = s.b_pack.data() + pc * b_width + ((jc + jr) / nr) * kc * nr;
                            float* cp = s.c_tile.data() + ir * c_ld + jr;
                            if (p.a_ld)
                                kt.gemm_kernel_rows(int(std::min<int64_t>(mr, valid_m - ir)), kc, a_block + ir * p.a_ld + pc,
                                                    p.a_ld, bp, cp, c_ld, pc > 0);
                            else
                                kt.gemm_kernel(kc, a_block + pc * p.mc + (ir / mr) * kc * mr, bp, cp, c_ld, pc > 0);
                        }
                    }
                }
                for (int64_t i = 0; i < valid_m; ++i) {
                    float* c_row = s.c_tile.data() + i * c_ld;
                    if (bias_values || prob.activation != kernels::Activation::none)
                        kt.bias_activation(c_row, nb, bias_values ? bias_values + n0 + jc : nullptr,
                                           prob.activation);
                    int64_t gm = m0 + i;
                    int64_t ob_row = prob.fold_batch_into_m ? gm / prob.m : ob;
                    int64_t r = prob.fold_batch_into_m ? gm % prob.m : gm;
                    out.write(ob_row, r, n0 + jc, nb, c_row);
                }
            }
        }
    };
    device.pool->parallel_for(workers, run_range, int(workers));
}

}  // namespace attnn::detail
