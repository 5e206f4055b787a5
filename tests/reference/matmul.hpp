#pragma once
#include <string>

#include "reference/reference.hpp"

namespace attnn::reference {

// a [..., M, K] (or [..., K, M] with transpose_a) x b [..., K, N] (or [..., N, K]) with numpy
// batch broadcasting, then + bias [N] and the activation ("", relu, gelu (erf), silu).
Array matmul(const Array& a, const Array& b, bool transpose_a = false, bool transpose_b = false,
             const std::vector<double>* bias = nullptr, const std::string& activation = "");

}  // namespace attnn::reference
