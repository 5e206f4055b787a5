// matmul and linear: fp32 compute with fp32 accumulation for every storage dtype.
#pragma once
#include <optional>
#include <string>

#include "attnn/tensor.hpp"

namespace attnn {

struct MatmulOptions {
    bool transpose_a = false;
    bool transpose_b = false;
    std::optional<MemoryConfig> memory_config;
    std::optional<DataType> dtype;      // default: a's dtype
    std::optional<CoreGrid> core_grid;  // at most y*x workers
};

// a [..., M, K], b [..., K, N] -> [..., M, N]; leading dims broadcast as in numpy.
// transpose_a / transpose_b read a as [..., K, M] / b as [..., N, K].
Tensor matmul(const Tensor& a, const Tensor& b, const MatmulOptions& options = {});

struct LinearOptions {
    std::optional<Tensor> bias;  // [N], [1, N] or [1, ..., 1, N]
    bool transpose_a = false;
    bool transpose_b = false;
    std::string activation;  // "", "relu", "gelu" (erf form), "silu"
    std::optional<MemoryConfig> memory_config;
    std::optional<DataType> dtype;
    std::optional<CoreGrid> core_grid;
};

// a [..., M, K], weight b [K, N] (or [N, K] with transpose_b) -> activation(a @ b + bias) [..., M, N].
Tensor linear(const Tensor& a, const Tensor& b, const LinearOptions& options = {});

}  // namespace attnn
