// GEMM in the GotoBLAS / BLIS structure (Goto & van de Geijn, "Anatomy of High-Performance
// Matrix Multiplication", 2008), with one twist: packing is where storage formats disappear.
// A blocks and B strips are decoded from any layout (ROW_MAJOR / TILE) and dtype (FLOAT32,
// BFLOAT16, BFLOAT8_B, BFLOAT4_B) straight into fp32 panels, so the microkernel only ever sees
// fp32 and a bf16 or bfp8 weight costs no more than an fp32 one once the GEMM is compute-bound.
//
// Work split: the output is cut into tasks of mc rows x `strip` columns (per batch); each
// worker takes a contiguous run of tasks ordered batch -> strip -> row block, so it packs each
// B strip once and reuses it for all its row blocks. Inside a task:
//   for each 256-column block of the strip      (C block mc x 256 stays in L2)
//     for each kc=256 slice of K                  (A block mc x kc and B block kc x 256 in L2)
//       for each mr-row panel of A                (A micro-panel mr x kc stays in L1)
//         for each nr-column panel of B           -> microkernel, mr x nr accumulators
//     bias + activation + encode the C block into the output while it is hot.
#include "ops/matmul/gemm.hpp"

#include <algorithm>
#include <cstring>

#include "core/device_impl.hpp"

namespace attnn::detail {

namespace {

constexpr int64_t kc_block = 256;    // A micro-panel (14 x 256 fp32 = 14 KiB) fits L1 beside B lines
constexpr int64_t nc_block = 256;    // B block (256 x 256 fp32 = 256 KiB) and C block fit L2 (1-2 MiB)
constexpr int64_t mc_target = 256;   // A block (mc x kc = 256 KiB) fits L2 with the B and C blocks
constexpr int64_t strip_max = 2048;  // packed B strip (k x strip) per worker stays a few MiB for k ~ 1-2K
constexpr int64_t c_ld = nc_block + 16;  // C block row stride, padded so rows do not alias in L1 sets
constexpr int64_t face_align = 32;   // task column boundaries on tile edges: no two tasks share a face row

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

    int64_t m_blocks = ceil_div(p->m_total, mc_max);
    int64_t n_strips = ceil_div(problem.n, strip_max);
    const int64_t max_m_blocks = ceil_div(p->m_total, p->mr);
    const int64_t max_n_strips = ceil_div(problem.n, face_align);
    // Enough tasks for every worker: split N first (B strips are packed per worker anyway),
    // then M.
    while (batches * m_blocks * n_strips < workers && n_strips < max_n_strips) ++n_strips;
    while (batches * m_blocks * n_strips < workers && m_blocks < max_m_blocks) ++m_blocks;
    // Few tasks: make their count a multiple of the workers so none idles at the end.
    int64_t tasks = batches * m_blocks * n_strips;
    if (tasks < 4 * workers && tasks % workers != 0) {
        int64_t want = round_up(tasks, workers) / (batches * n_strips);
        if (want <= max_m_blocks && (batches * want * n_strips) % workers == 0) m_blocks = want;
    }
    p->strip = round_up(ceil_div(problem.n, n_strips), face_align);
    p->n_strips = ceil_div(problem.n, p->strip);
    p->mc = round_up(ceil_div(p->m_total, m_blocks), p->mr);
    p->m_blocks = ceil_div(p->m_total, p->mc);
    p->tasks = batches * p->m_blocks * p->n_strips;
    p->k_padded = problem.k;

    p->scratch.resize(std::size_t(workers));
    const int64_t row_len = std::max({problem.k, problem.n, int64_t(p->strip)}) + 64;
    for (auto& s : p->scratch) {
        s.a_pack.assign(std::size_t(p->mc * problem.k), 0.0f);
        s.b_pack.assign(std::size_t(round_up(p->strip, p->nr) * problem.k), 0.0f);
        s.c_tile.assign(std::size_t(p->mc * c_ld), 0.0f);
        s.row.assign(std::size_t(row_len), 0.0f);
    }
    p->bias.assign(std::size_t(problem.n), 0.0f);
    return p;
}

namespace {

// Rows [m0, m0 + mc) of the logical A (m x k) as mc/mr panels of k x mr values, k-major.
void pack_a(const GemmProgram& p, const MatrixView& a, int64_t a_matrix, int64_t m0, float* dst, float* row) {
    const int mr = p.mr;
    const int64_t k = p.problem.k, m = p.problem.m;
    const int64_t valid = std::min(p.mc, p.m_total - m0);
    if (!p.problem.transpose_a) {
        for (int64_t i = 0; i < p.mc; ++i) {
            float* panel = dst + (i / mr) * k * mr + i % mr;
            if (i < valid) {
                int64_t gm = m0 + i;
                int64_t b = p.problem.fold_batch_into_m ? gm / m : a_matrix;
                a.read(b, p.problem.fold_batch_into_m ? gm % m : gm, 0, k, row);
                for (int64_t kk = 0; kk < k; ++kk) panel[kk * mr] = row[kk];
            } else {
                for (int64_t kk = 0; kk < k; ++kk) panel[kk * mr] = 0.0f;
            }
        }
        return;
    }
    // A stored as [k, m]: stored row kk holds A[:, kk], so each read fills one k step of a panel.
    for (int64_t q = 0; q < p.mc / mr; ++q) {
        float* panel = dst + q * k * mr;
        int64_t first = m0 + q * mr;
        int64_t count = std::clamp<int64_t>(valid - q * mr, 0, mr);
        for (int64_t kk = 0; kk < k; ++kk) {
            float* d = panel + kk * mr;
            if (count > 0) a.read(a_matrix, kk, first, count, d);
            for (int64_t i = count; i < mr; ++i) d[i] = 0.0f;
        }
    }
}

// Columns [n0, n0 + strip) of the logical B (k x n) as panels of k x nr values, k-major.
void pack_b(const GemmProgram& p, const MatrixView& b, int64_t b_matrix, int64_t n0, float* dst, float* row) {
    const int nr = p.nr;
    const int64_t k = p.problem.k;
    const int64_t valid = std::min(p.strip, p.problem.n - n0);
    const int64_t width = round_up(valid, nr);
    if (!p.problem.transpose_b) {
        for (int64_t kk = 0; kk < k; ++kk) {
            b.read(b_matrix, kk, n0, valid, row);
            std::fill(row + valid, row + width, 0.0f);
            for (int64_t q = 0; q < width / nr; ++q) std::memcpy(dst + q * k * nr + kk * nr, row + q * nr, nr * 4);
        }
        return;
    }
    // B stored as [n, k] (a torch Linear weight): stored row j is column j of B.
    for (int64_t j = 0; j < width; ++j) {
        float* panel = dst + (j / nr) * k * nr + j % nr;
        if (j < valid) {
            b.read(b_matrix, n0 + j, 0, k, row);
            for (int64_t kk = 0; kk < k; ++kk) panel[kk * nr] = row[kk];
        } else {
            for (int64_t kk = 0; kk < k; ++kk) panel[kk * nr] = 0.0f;
        }
    }
}

}  // namespace

void run_gemm(GemmProgram& p, DeviceImpl& device, const MatrixView& a, const MatrixView& b, const MatrixView& out,
              const MatrixView* bias) {
    const GemmProblem& prob = p.problem;
    const auto& kt = kernels::table();
    const float* bias_values = nullptr;
    if (bias) {
        bias->read(0, 0, 0, prob.n, p.bias.data());
        bias_values = p.bias.data();
    }
    for (auto& s : p.scratch) s.packed_b_batch = -1;

    const int64_t workers = int64_t(p.scratch.size());
    const int mr = p.mr, nr = p.nr;
    const int64_t k = prob.k;
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
                pack_b(p, b, b_matrix, n0, s.b_pack.data(), s.row.data());
                s.packed_b_batch = b_matrix;
                s.packed_b_strip = strip;
            }
            pack_a(p, a, a_matrix, m0, s.a_pack.data(), s.row.data());
            const int64_t m_panels = round_up(valid_m, mr);
            for (int64_t jc = 0; jc < valid_n; jc += nc_block) {
                const int64_t nb = std::min(nc_block, valid_n - jc);
                const int64_t nb_panels = round_up(nb, nr);
                for (int64_t pc = 0; pc < k; pc += kc_block) {
                    const int64_t kc = std::min(kc_block, k - pc);
                    for (int64_t ir = 0; ir < m_panels; ir += mr) {
                        const float* ap = s.a_pack.data() + (ir / mr) * k * mr + pc * mr;
                        for (int64_t jr = 0; jr < nb_panels; jr += nr) {
                            const float* bp = s.b_pack.data() + ((jc + jr) / nr) * k * nr + pc * nr;
                            kt.gemm_kernel(kc, ap, bp, s.c_tile.data() + ir * c_ld + jr, c_ld, pc > 0);
                        }
                    }
                }
                for (int64_t i = 0; i < valid_m; ++i) {
                    float* c_row = s.c_tile.data() + i * c_ld;
                    if (bias_values || prob.activation != kernels::Activation::none)
                        kt.bias_activation(c_row, nb, bias_values ? bias_values + n0 + jc : nullptr, prob.activation);
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
