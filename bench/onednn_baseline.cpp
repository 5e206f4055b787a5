#include "onednn_baseline.hpp"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include "attnn/error.hpp"

namespace attnn::bench {

namespace {
// Deterministic values in [-1, 1): a 32-bit LCG, so runs compare the same data.
void fill_uniform(std::vector<float>& v, uint32_t seed) {
    uint32_t state = seed;
    for (float& x : v) {
        state = state * 1664525u + 1013904223u;
        x = float(state >> 8) * (2.0f / 16777216.0f) - 1.0f;
    }
}
}  // namespace

OnednnSgemm::OnednnSgemm(int64_t m, int64_t n, int64_t k, bool transpose_b, int threads)
    : m_(m), n_(n), k_(k), transpose_b_(transpose_b), threads_(threads) {
    if (m <= 0 || n <= 0 || k <= 0)
        detail::fail(ErrorKind::InvalidArgument, "OnednnSgemm", "M=", m, ", N=", n, ", K=", k,
                     " must all be > 0");
    if (threads <= 0)
        detail::fail(ErrorKind::InvalidArgument, "OnednnSgemm", "threads=", threads, " must be > 0");
    a_.resize(std::size_t(m * k));
    b_.resize(std::size_t(k * n));
    c_.resize(std::size_t(m * n));
    fill_uniform(a_, 1);
    fill_uniform(b_, 2);
}

void OnednnSgemm::run() {
    omp_set_num_threads(threads_);
    const dnnl_dim_t ldb = transpose_b_ ? k_ : n_;
    dnnl_status_t status = dnnl_sgemm('N', transpose_b_ ? 'T' : 'N', m_, n_, k_, 1.0f, a_.data(), k_,
                                      b_.data(), ldb, 0.0f, c_.data(), n_);
    if (status != dnnl_success)
        detail::fail(ErrorKind::Runtime, "dnnl_sgemm", "failed with status ", int(status), " for M=", m_,
                     " N=", n_, " K=", k_);
}

std::string onednn_version() {
    const dnnl_version_t* v = dnnl_version();
    return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

Stats onednn_sgemm_seconds(int64_t m, int64_t n, int64_t k, bool transpose_b, int threads, int repeat) {
    OnednnSgemm gemm(m, n, k, transpose_b, threads);
    return time_it([&] { gemm.run(); }, 1, repeat);
}

double onednn_sgemm_gflops(int64_t m, int64_t n, int64_t k, int threads) {
    Stats s = onednn_sgemm_seconds(m, n, k, false, threads);
    return 2.0 * double(m) * double(n) * double(k) / s.median * 1e-9;
}

}  // namespace attnn::bench
