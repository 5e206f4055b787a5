// fp64 references for the data movement ops.
#pragma once
#include <optional>

#include "reference/reference.hpp"

namespace attnn::reference {

// out.shape[i] = x.shape[dims[i]] (dims non-negative).
Array permute(const Array& x, const std::vector<int>& dims);
Array transpose(const Array& x, int dim0, int dim1);
// Dim d keeps indices begins[d], begins[d] + steps[d], ... below ends[d].
Array slice(const Array& x, const std::vector<int64_t>& begins, const std::vector<int64_t>& ends,
            const std::vector<int64_t>& steps);
// Rows of `table` [rows, dim] gathered by `indices` (out_dims.volume() of them):
// [out_dims..., dim]; an index equal to padding_idx (if given) gives a row of zeros.
Array embedding(const std::vector<int64_t>& indices, std::vector<uint32_t> out_dims, const Array& table,
                std::optional<int64_t> padding_idx = {});

}  // namespace attnn::reference
