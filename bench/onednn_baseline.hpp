// oneDNN's sgemm as the baseline of every GEMM figure: the same shapes, the same number of
// threads as the attnn device, run side by side in the same process.
#pragma once
#include <cstdint>
#include <vector>

#include "limits.hpp"

namespace attnn::bench {

// C [M, N] = A [M, K] @ B, B [K, N] or (transpose_b) [N, K]; fp32, row-major, through
// dnnl_sgemm. oneDNN from Debian threads with OpenMP: run() sets the OpenMP thread count to
// `threads` first, so oneDNN uses as many cores as the attnn device's workers.
class OnednnSgemm {
  public:
    // Fills A and B with deterministic values in [-1, 1).
    OnednnSgemm(int64_t m, int64_t n, int64_t k, bool transpose_b, int threads);
    void run();

    int64_t m() const { return m_; }
    int64_t n() const { return n_; }
    int64_t k() const { return k_; }
    bool transpose_b() const { return transpose_b_; }
    std::vector<float>& a() { return a_; }
    std::vector<float>& b() { return b_; }
    const std::vector<float>& c() const { return c_; }

  private:
    int64_t m_, n_, k_;
    bool transpose_b_;
    int threads_;
    std::vector<float> a_, b_, c_;
};

// The oneDNN version string, e.g. "2.6.3".
std::string onednn_version();

// Times sgemm of the given shape on `threads` threads: warm-up, then `repeat` timed runs.
Stats onednn_sgemm_seconds(int64_t m, int64_t n, int64_t k, bool transpose_b, int threads, int repeat = 5);
// 2 M N K / median seconds, in GFLOP/s.
double onednn_sgemm_gflops(int64_t m, int64_t n, int64_t k, int threads);

}  // namespace attnn::bench
