// What the seed programs share: PyTorch-style printing, timing, an fp64 reference, PCC.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "attnn/attnn.hpp"

namespace attnn::examples {

// Formats values as PyTorch prints a float tensor with 4 decimals: "tensor([[0.9995, 0.9544], ...])".
std::string torch_format(const std::vector<float>& values, const std::vector<uint32_t>& shape,
                         const std::string& prefix = "tensor(", const std::string& suffix = ")");

// Wall-clock milliseconds of fn().
template <class F>
double time_ms(F&& fn) {
    auto start = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Plain fp64 building blocks for the reference results (row-major, batched by the caller).
// c[m x n] = a[m x k] * b[k x n], or * b^T with b [n x k] when transpose_b.
void matmul_f64(const double* a, const double* b, double* c, int64_t m, int64_t n, int64_t k,
                bool transpose_b);
void softmax_rows_f64(double* x, int64_t rows, int64_t cols);
std::vector<double> widen(const std::vector<float>& v);

// Progress on stderr for long runs: "label [i/n]" rewritten in place.
void progress(const std::string& label, int64_t done, int64_t total);

}  // namespace attnn::examples
