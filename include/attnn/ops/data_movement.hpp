#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "attnn/tensor.hpp"

namespace attnn {

// Same values, new logical shape of equal volume. Shares storage where the layout allows; where
// it cannot, a block-float tensor is encoded again (its face rows group new neighbours, so a
// value may move by the format's rounding, as in permute and slice).
Tensor reshape(const Tensor& input, const Shape& shape, std::optional<MemoryConfig> memory_config = {});
// output.shape[i] = input.shape[dims[i]]; dims may be negative.
Tensor permute(const Tensor& input, const std::vector<int64_t>& dims,
               std::optional<MemoryConfig> memory_config = {});
// Swaps dims dim0 and dim1.
Tensor transpose(const Tensor& input, int dim0, int dim1, std::optional<MemoryConfig> memory_config = {});
// TT-NN's slice: output dim d holds input indices begins[d], begins[d] + steps[d], ... below
// ends[d] (0 <= begins[d] < ends[d] <= input dim; steps >= 1, empty: all 1). Same dtype and
// layout; a block-float output is encoded again (its face rows group new neighbours). Python's
// Tensor[...] (negative indices, ints that drop a dim, Ellipsis) is built on it.
Tensor slice(const Tensor& input, const std::vector<int64_t>& begins, const std::vector<int64_t>& ends,
             const std::vector<int64_t>& steps = {}, std::optional<MemoryConfig> memory_config = {});

// TT-NN's get_fallback_function(op): the op run on the host. attnn's ops already run anywhere,
// so the fallback is the op itself; it exists so TT-NN programs read the same.
using ReshapeFn = Tensor (*)(const Tensor&, const Shape&, std::optional<MemoryConfig>);
inline ReshapeFn get_fallback_function(ReshapeFn op) { return op; }

}  // namespace attnn
