// Element-wise binary ops with numpy broadcasting of the logical shapes.
#pragma once
#include <optional>

#include "attnn/tensor.hpp"

namespace attnn {

struct BinaryOptions {
    std::optional<DataType> dtype;  // default: a's dtype
    std::optional<MemoryConfig> memory_config;
};

Tensor add(const Tensor& a, const Tensor& b, const BinaryOptions& options = {});
Tensor subtract(const Tensor& a, const Tensor& b, const BinaryOptions& options = {});
Tensor multiply(const Tensor& a, const Tensor& b, const BinaryOptions& options = {});
Tensor add(const Tensor& a, float b, const BinaryOptions& options = {});
Tensor subtract(const Tensor& a, float b, const BinaryOptions& options = {});
Tensor multiply(const Tensor& a, float b, const BinaryOptions& options = {});

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, float b);
Tensor operator-(const Tensor& a, float b);
Tensor operator*(const Tensor& a, float b);
Tensor operator*(float a, const Tensor& b);
Tensor& operator+=(Tensor& a, const Tensor& b);
Tensor& operator*=(Tensor& a, float b);

}  // namespace attnn
