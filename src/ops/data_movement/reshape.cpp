// reshape: a new handle on the same storage when the stored bytes already mean the new shape
// (ROW_MAJOR always; TILE when the last two dims stay, since tiles tile only those), otherwise
// a copy that re-tiles the values in logical row-major order.
#include <algorithm>
#include <cstring>
#include <mutex>

#include "attnn/ops/data_movement.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/common.hpp"

namespace attnn {

namespace {

using detail::MatrixView;

struct ReshapeProgram : detail::Program {
    ReshapeProgram(int workers, int64_t cols) : scratch(workers, cols) {}
    detail::WorkerScratch scratch;  // floating point: one output row per worker
};

// Rows of the matrix view: rank 1 is one row.
uint32_t matrix_rows(const Shape& s) { return s.rank() >= 2 ? s[-2] : 1u; }

bool storage_means_shape(const Tensor& input, const Shape& shape) {
    return input.layout() == Layout::ROW_MAJOR ||
           (input.shape()[-1] == shape[-1] && matrix_rows(input.shape()) == matrix_rows(shape));
}

// Output row `row` holds the flat values [row * cols, (row + 1) * cols), which cross input rows.
// Floating-point values travel as fp32 runs (exact for FLOAT32 and BFLOAT16), integers as bytes.
void copy_row(const MatrixView& in, const MatrixView& out, int64_t row, float* values) {
    const int64_t out_batch = row / out.rows, out_row = row % out.rows;
    const bool as_float = is_floating_point(in.dtype);
    int64_t flat = row * out.cols;
    for (int64_t c = 0; c < out.cols;) {
        const int64_t in_row = flat / in.cols, in_col = flat % in.cols;
        const int64_t run = std::min(in.cols - in_col, out.cols - c);
        const int64_t in_batch = in_row / in.rows, in_r = in_row % in.rows;
        if (as_float) {
            in.read(in_batch, in_r, in_col, run, values + c);
        } else {
            for (int64_t i = 0; i < run; ++i)
                std::memcpy(out.element(out_batch, out_row, c + i), in.element(in_batch, in_r, in_col + i),
                            in.element_bytes());
        }
        c += run;
        flat += run;
    }
    if (as_float) out.write(out_batch, out_row, 0, out.cols, values);
}

}  // namespace

// input [...] -> shape, same values in row-major order
Tensor reshape(const Tensor& input, const Shape& shape, std::optional<MemoryConfig> memory_config) {
    const char* name = "reshape";
    detail::require_allocated(input, name, "input");
    ATTNN_CHECK(shape.rank() >= 1, name, "shape must have rank >= 1, given ", shape);
    ATTNN_CHECK(shape.volume() == input.volume(), name, "shape=", shape, " has volume ", shape.volume(),
                ", but input.shape=", input.shape(), " has volume ", input.volume());
    const MemoryConfig config = memory_config.value_or(input.memory_config());
    if (storage_means_shape(input, shape))
        return Tensor(input.buffer(), shape, detail::padded_shape_for(shape, input.layout()), input.dtype(),
                      input.layout(), config, input.device_impl());

    Tensor out =
        detail::allocate_tensor(shape, input.dtype(), input.layout(), config, input.device_impl(), name);
    const MatrixView in = detail::matrix_view(input, name), ov = detail::matrix_view(out, name);
    const int64_t num_rows = ov.batch * ov.rows;
    if (!input.device_impl()) {  // a host tensor: no workers, no program cache
        ReshapeProgram program(1, ov.cols);
        for (int64_t row = 0; row < num_rows; ++row) copy_row(in, ov, row, program.scratch.get(0));
        return out;
    }
    detail::DeviceImpl& device = *input.device_impl();
    auto lock = device.lock(name);
    auto program = device.program<ReshapeProgram>(detail::ProgramKey(name).add(input).add(shape), [&] {
        return std::make_shared<ReshapeProgram>(device.pool->size(), ov.cols);
    });
    detail::parallel_rows(device, num_rows, ov.cols, [&](int64_t begin, int64_t end, int worker) {
        for (int64_t row = begin; row < end; ++row) copy_row(in, ov, row, program->scratch.get(worker));
    });
    return out;
}

}  // namespace attnn
