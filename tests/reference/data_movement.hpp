// fp64 references for the data movement ops.
#pragma once
#include "reference/reference.hpp"

namespace attnn::reference {

// out.shape[i] = x.shape[dims[i]] (dims non-negative).
Array permute(const Array& x, const std::vector<int>& dims);
Array transpose(const Array& x, int dim0, int dim1);

}  // namespace attnn::reference
