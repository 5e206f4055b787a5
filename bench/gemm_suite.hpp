// The GEMM benchmark shared by attnn_bench (Google Benchmark) and `attnn bench gemm`: attnn's
// matmul / linear against oneDNN's sgemm on the same shapes, threads and data, side by side.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "attnn/ops/matmul.hpp"
#include "limits.hpp"
#include "onednn_baseline.hpp"

namespace attnn::bench {

// One GEMM: C [M, N] = A [M, K] @ B. With fp32 weights and !linear it is matmul(a, b) with
// b [K, N]; otherwise it is linear(a, w, {.transpose_b = true}) with weights w [N, K] stored
// in weight_dtype, as torch's Linear keeps them. A is FLOAT32, or BFLOAT16 for a case with few
// rows (a GEMV: a decode step's activations, BFLOAT16 in TT-NN's models); every tensor is in TILE
// layout.
struct GemmCase {
    int64_t m = 0, n = 0, k = 0;
    DataType weight_dtype = DataType::FLOAT32;
    bool linear = false;

    double flops() const { return 2.0 * double(m) * double(n) * double(k); }
    std::string op_name() const { return linear ? "linear" : "matmul"; }
    std::string shape_name() const;  // "2048x2048x2048" (M x N x K)
    std::string dtype_name() const;  // "float32", "bfloat16", "bfloat8_b", "bfloat4_b"
    double weight_bytes() const;     // B as stored: TILE layout in weight_dtype
};

// The cases of docs/performance.md for each shape: matmul fp32, then linear with each weight
// dtype.
std::vector<GemmCase> gemm_cases(const std::vector<std::array<int64_t, 3>>& shapes,
                                 const std::vector<DataType>& weight_dtypes);
// 2048x2048x2048, M=1024, N=6144, K=2048, and a decode step's M=1, N=6144, K=4096.
std::vector<std::array<int64_t, 3>> default_gemm_shapes();
std::vector<DataType> default_weight_dtypes();  // FLOAT32, BFLOAT16, BFLOAT8_B

// attnn's side of one case on `device`. The operands come from the oneDNN baseline of the same
// case, so both compute on the same numbers; the weights are then replaced in the baseline by
// their decoded values (BFLOAT16 / BFLOAT8_B round them), so outputs compare to fp32 rounding.
// A case with few rows (a GEMV: B read once per call) cycles through copies of B that
// together exceed twice the L3 (gemv_weight_copies), so each call reads its B from memory, as a
// model's layers each read their own weights; otherwise a B that fits the L3 would be timed
// from cache.
int gemv_weight_copies(const GemmCase& gemm);
class AttnnGemm {
  public:
    AttnnGemm(Device& device, const GemmCase& gemm, OnednnSgemm& baseline);
    void run();
    std::vector<float> output() const;
    int b_copies() const { return int(bs_.size()); }

  private:
    GemmCase gemm_;
    Tensor a_, c_;
    std::vector<Tensor> bs_;
    std::size_t next_ = 0, last_ = 0;
};

struct GemmResult {
    GemmCase gemm;
    Stats attnn_seconds;
    Stats onednn_seconds;
    Rate attnn_gflops;
    Rate onednn_gflops;
    double attnn_of_peak = 0;  // attnn median GFLOP/s / measured FP32 peak (median)
    double onednn_of_peak = 0;
    double ratio = 0;          // attnn median GFLOP/s / oneDNN median GFLOP/s
    // B's stored bytes (TILE layout, weight dtype) over attnn's median time, and that over the
    // measured stream bandwidth: what a GEMV-shaped case (few rows) is limited by.
    double weight_gbps = 0;
    double stream_gbps = 0;  // the stream bandwidth it is compared with: probed around the case
                             // when it has few rows (a GEMV), else the run's first probe
    double weight_of_stream = 0;
    double max_rel_error = 0;  // max |attnn - oneDNN| / max |oneDNN| over C
};

// Bytes a case holds at its peak: oneDNN's fp32 A, B and C, attnn's A, B (and its GEMV copies)
// and C, the fp32 copies read back to compare them, and the stream probe's buffer for a case with
// few rows (probed around it).
double footprint_bytes(const GemmCase& gemm, int64_t stream_bytes);
// Refuses (attnn::Error, naming the case, what it needs and what is available) cases that would
// not fit in 90% of `available` bytes; nothing where available <= 0.
void require_fits(const std::vector<GemmCase>& cases, int64_t stream_bytes, int64_t available);

struct GemmSuiteOptions {
    std::vector<GemmCase> cases;
    int repeat = 5;
    std::function<void(const std::string&)> progress;
};

GemmResult run_gemm_case(Device& device, const MachineLimits& limits, const GemmCase& gemm, int repeat);
std::vector<GemmResult> run_gemm_suite(Device& device, const MachineLimits& limits,
                                       const GemmSuiteOptions& options);

// Parses "float32" / "bfloat16" / "bfloat8_b" / "bfloat4_b" (case-insensitive, "fp32", "bf16",
// "bfp8", "bfp4" too); throws attnn::Error otherwise.
DataType parse_weight_dtype(const std::string& name);

}  // namespace attnn::bench
