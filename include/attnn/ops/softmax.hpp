#pragma once
#include <optional>

#include "attnn/tensor.hpp"

namespace attnn {

// Numerically stable softmax along `dim` (negative counts from the end). A slice whose
// values are all -inf gives zeros.
Tensor softmax(const Tensor& input, int dim = -1, std::optional<MemoryConfig> memory_config = {});

}  // namespace attnn
