// Plain fp64 reference implementations: simple loops over logical row-major values, no
// blocking, no SIMD, no tricks. Every op's test compares against these.
#pragma once
#include <cstdint>
#include <vector>

#include "attnn/attnn.hpp"

namespace attnn::reference {

// A row-major fp64 array with a shape.
struct Array {
    std::vector<uint32_t> shape;
    std::vector<double> values;
    uint64_t volume() const {
        uint64_t v = 1;
        for (auto d : shape) v *= d;
        return v;
    }
};

Array from_tensor(const Tensor& t);  // decodes the tensor's logical values

// Pearson correlation of two flattened arrays, as TT-NN's comp_pcc (NaN/inf zeroed).
double pcc(const std::vector<double>& golden, const std::vector<double>& calculated);
double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b);
double rmse(const std::vector<double>& a, const std::vector<double>& b);

// Values rounded through a storage dtype, as the device would hold them (for tight checks).
std::vector<double> round_to_dtype(const std::vector<double>& values, DataType dtype);

}  // namespace attnn::reference
