#include <numeric>
#include <utility>

#include "attnn/ops/data_movement.hpp"
#include "ops/common.hpp"

namespace attnn {

// input [..., d_dim0, ..., d_dim1, ...] -> [..., d_dim1, ..., d_dim0, ...]
Tensor transpose(const Tensor& input, int dim0, int dim1, std::optional<MemoryConfig> memory_config) {
    detail::require_device("transpose", {{&input, "input"}});
    const int rank = input.shape().rank();
    const int a = detail::normalize_dim("transpose", "dim0", dim0, rank);
    const int b = detail::normalize_dim("transpose", "dim1", dim1, rank);
    std::vector<int64_t> dims(rank);
    std::iota(dims.begin(), dims.end(), int64_t(0));
    std::swap(dims[a], dims[b]);
    return permute(input, dims, memory_config);
}

}  // namespace attnn
