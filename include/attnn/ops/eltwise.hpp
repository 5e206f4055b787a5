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

struct PlusOneOptions {
    bool skip_negative_entries = false;  // INT32 entries below 0 (users a decode skips) stay
};
// TT-NN's plus_one: adds 1 to every entry of an INT32 or UINT32 tensor in its own storage, as a
// decode loop advances cur_pos and the RoPE positions between steps. Wraps around at the type's
// largest value, as the device's integer add does.
void plus_one(Tensor& input, const PlusOneOptions& options = {});

}  // namespace attnn
