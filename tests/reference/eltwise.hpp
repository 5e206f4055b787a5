// fp64 references for the element-wise binary ops, with numpy broadcasting.
#pragma once
#include "reference/reference.hpp"

namespace attnn::reference {

std::vector<uint32_t> broadcast_shape(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b);
// The value of `x` at the index `index` of a shape x broadcasts to (index aligned from the right).
double broadcast_at(const Array& x, const std::vector<uint32_t>& index);
std::vector<uint32_t> unravel(uint64_t flat, const std::vector<uint32_t>& shape);

Array add(const Array& a, const Array& b);
Array subtract(const Array& a, const Array& b);
Array multiply(const Array& a, const Array& b);
Array add(const Array& a, double b);
Array subtract(const Array& a, double b);
Array multiply(const Array& a, double b);

}  // namespace attnn::reference
