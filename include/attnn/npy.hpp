// .npy files: float32, float64, int32, uint32 and bfloat16 (as ml_dtypes writes it: descr '<V2').
#pragma once
#include <string>

#include "attnn/tensor.hpp"

namespace attnn {

// Loads a C-order .npy file. dtype defaults to the file's (float64 loads as FLOAT32).
Tensor load_npy(const std::string& path, const TensorOptions& options = {});
// Saves the logical values: FLOAT32 as '<f4', BFLOAT16 as '<V2' (view as ml_dtypes.bfloat16),
// INT32 as '<i4', UINT32 as '<u4'; BFLOAT8_B / BFLOAT4_B are decoded and saved as '<f4'.
void save_npy(const std::string& path, const Tensor& tensor);

}  // namespace attnn
