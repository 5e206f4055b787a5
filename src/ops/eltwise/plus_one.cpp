// plus_one: an in-place +1 over an index tensor's logical entries (TT-NN's ttnn.plus_one).
#include <cstring>
#include <mutex>

#include "attnn/ops/eltwise.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"

namespace attnn {

void plus_one(Tensor& input, const PlusOneOptions& options) {
    const char* op = "plus_one";
    detail::require_allocated(input, op, "input_tensor");
    ATTNN_CHECK_TYPE(input.dtype() == DataType::INT32 || input.dtype() == DataType::UINT32, op,
                     "input_tensor.dtype must be INT32 or UINT32, given ", to_string(input.dtype()));
    detail::DeviceLocks lock(op, input.device_impl().get());
    const detail::MatrixView v = detail::matrix_view(input, op);
    const bool skip_negative = options.skip_negative_entries && input.dtype() == DataType::INT32;
    for (int64_t b = 0; b < v.batch; ++b)
        for (int64_t r = 0; r < v.rows; ++r)
            for (int64_t c = 0; c < v.cols; ++c) {
                std::byte* at = v.element(b, r, c);
                uint32_t bits;
                std::memcpy(&bits, at, 4);
                if (skip_negative && int32_t(bits) < 0) continue;
                bits += 1u;  // two's complement: the same add for INT32 and UINT32, wrapping
                std::memcpy(at, &bits, 4);
            }
}

}  // namespace attnn
