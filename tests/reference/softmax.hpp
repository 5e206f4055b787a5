// fp64 reference softmax.
#pragma once
#include "reference/reference.hpp"

namespace attnn::reference {

// Softmax of each slice along dim (negative from the end): a slice with a NaN is all NaN, a
// slice of only -inf is all zeros.
Array softmax(const Array& x, int dim);

}  // namespace attnn::reference
