// permute: every output row is gathered from the input along the input dim that becomes the
// output's last dim. 2- and 4-byte dtypes move bytes (exact, integers included); block floats
// are decoded and the output row is encoded again, since its 16-value face rows share an
// exponent with values that were not neighbours in the input.
#include <cstring>
#include <mutex>

#include "attnn/ops/data_movement.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/common.hpp"

namespace attnn {

namespace {

using detail::MatrixView;

// A position, or a step, in the input's (matrix, row, col) coordinates.
struct InputCoord {
    int64_t batch = 0, row = 0, col = 0;
};

struct PermuteProgram : detail::Program {
    PermuteProgram(int workers, int64_t cols) : scratch(workers, cols) {}
    std::vector<uint32_t> output_row_dims;  // output dims [0, rank - 1)
    std::vector<InputCoord> row_dim_steps;  // the input step of each of those dims
    InputCoord col_step;                    // the input step along the output's last dim
    detail::WorkerScratch scratch;          // block floats: one output row per worker
};

std::shared_ptr<PermuteProgram> build_program(const Shape& in_shape, const std::vector<int>& dims, int workers) {
    const int rank = in_shape.rank();
    // The step in (matrix, row, col) for one step along input dim i.
    std::vector<InputCoord> input_step(rank);
    int64_t matrix_stride = 1;
    for (int i = rank - 1; i >= 0; --i) {
        if (i == rank - 1) {
            input_step[i].col = 1;
        } else if (i == rank - 2) {
            input_step[i].row = 1;
        } else {
            input_step[i].batch = matrix_stride;
            matrix_stride *= in_shape[i];
        }
    }
    auto program = std::make_shared<PermuteProgram>(workers, in_shape[dims[rank - 1]]);
    for (int d = 0; d + 1 < rank; ++d) {
        program->output_row_dims.push_back(in_shape[dims[d]]);
        program->row_dim_steps.push_back(input_step[dims[d]]);
    }
    program->col_step = input_step[dims[rank - 1]];
    return program;
}

// Where output row `row` starts in the input.
InputCoord row_start(const PermuteProgram& p, int64_t row) {
    InputCoord at;
    for (int64_t d = int64_t(p.output_row_dims.size()) - 1; d >= 0; --d) {
        const int64_t index = row % p.output_row_dims[d];
        row /= p.output_row_dims[d];
        at.batch += index * p.row_dim_steps[d].batch;
        at.row += index * p.row_dim_steps[d].row;
        at.col += index * p.row_dim_steps[d].col;
    }
    return at;
}

void permute_row(const PermuteProgram& p, const MatrixView& in, const MatrixView& out, int64_t row, float* scratch) {
    const InputCoord at = row_start(p, row), step = p.col_step;
    const int64_t out_batch = row / out.rows, out_row = row % out.rows, cols = out.cols;
    if (is_block_float(in.dtype)) {
        if (step.col == 1) {
            in.read(at.batch, at.row, at.col, cols, scratch);
        } else {
            for (int64_t c = 0; c < cols; ++c)
                in.read(at.batch + c * step.batch, at.row + c * step.row, at.col, 1, scratch + c);
        }
        out.write(out_batch, out_row, 0, cols, scratch);
        return;
    }
    const std::size_t bytes = in.element_bytes();
    if (step.col == 1 && in.layout == Layout::ROW_MAJOR && out.layout == Layout::ROW_MAJOR) {
        std::memcpy(out.element(out_batch, out_row, 0), in.element(at.batch, at.row, at.col), cols * bytes);
        return;
    }
    for (int64_t c = 0; c < cols; ++c)
        std::memcpy(out.element(out_batch, out_row, c),
                    in.element(at.batch + c * step.batch, at.row + c * step.row, at.col + c * step.col), bytes);
}

}  // namespace

// input [d0, ..., dn] -> [d_dims[0], ..., d_dims[n]]
Tensor permute(const Tensor& input, const std::vector<int64_t>& dims, std::optional<MemoryConfig> memory_config) {
    const char* name = "permute";
    detail::DeviceImpl& device = detail::require_device(name, {{&input, "input"}});
    const int rank = input.shape().rank();
    ATTNN_CHECK(int64_t(dims.size()) == rank, name, "dims=", detail::to_string(dims), " has ", dims.size(),
                " entries, but input.shape=", input.shape(), " has rank ", rank);
    std::vector<int> axes(rank);
    std::vector<bool> seen(std::size_t(rank), false);
    for (int d = 0; d < rank; ++d) {
        ATTNN_CHECK(dims[d] >= -rank && dims[d] < rank, name, "dims=", detail::to_string(dims), " has entry ",
                    dims[d], " out of range for rank ", rank, " (expected [", -rank, ", ", rank - 1, "])");
        axes[d] = int(dims[d] < 0 ? dims[d] + rank : dims[d]);
        ATTNN_CHECK(!seen[axes[d]], name, "dims=", detail::to_string(dims), " is not a permutation of 0..",
                    rank - 1);
        seen[axes[d]] = true;
    }
    std::vector<uint32_t> out_dims(rank);
    for (int d = 0; d < rank; ++d) out_dims[d] = input.shape()[axes[d]];
    const Shape out_shape(out_dims);

    std::lock_guard lock(device.op_mutex);
    detail::ProgramKey key(name);
    key.add(input);
    for (int axis : axes) key.add(axis);
    auto program = device.program<PermuteProgram>(
        key, [&] { return build_program(input.shape(), axes, device.pool->size()); });
    Tensor out = detail::allocate_tensor(out_shape, input.dtype(), input.layout(),
                                         memory_config.value_or(input.memory_config()), input.device_impl(), name);
    const MatrixView in = detail::matrix_view(input, name), ov = detail::matrix_view(out, name);
    detail::parallel_rows(device, ov.batch * ov.rows, ov.cols, [&](int64_t begin, int64_t end, int worker) {
        float* scratch = program->scratch.get(worker);
        for (int64_t row = begin; row < end; ++row) permute_row(*program, in, ov, row, scratch);
    });
    return out;
}

}  // namespace attnn
