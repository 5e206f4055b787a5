// permute: every output row is gathered from the input along the input dim that becomes the
// output's last dim. Floating-point values travel as fp32 (exact for FLOAT32 and BFLOAT16; block
// floats are encoded again, since an output face row groups values that were not neighbours in
// the input); integers move as bytes so they stay exact. When the last two dims swap, as for
// K^T, output rows are built a tile height at a time from 32-wide input column runs, so each
// input face row is decoded once rather than once per value.
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

constexpr int64_t row_block = TILE_HEIGHT;  // output rows per unit of the swapped-last-dims path

// A position, or a step, in the input's (matrix, row, col) coordinates.
struct InputCoord {
    int64_t batch = 0, row = 0, col = 0;
};

struct PermuteProgram : detail::Program {
    PermuteProgram(int workers, int64_t per_worker) : scratch(workers, per_worker) {}
    std::vector<uint32_t> output_row_dims;  // output dims [0, rank - 1)
    std::vector<InputCoord> row_dim_steps;  // the input step of each of those dims
    InputCoord col_step;                    // the input step along the output's last dim
    bool swaps_last_two_dims = false;       // floating point only: the blocked path
    detail::WorkerScratch scratch;          // floating point: one output row, or a block and its transpose
};

std::shared_ptr<PermuteProgram> build_program(const Shape& in_shape, DataType dtype,
                                              const std::vector<int>& dims, int workers) {
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
    const bool swaps =
        is_floating_point(dtype) && rank >= 2 && dims[rank - 1] == rank - 2 && dims[rank - 2] == rank - 1;
    const int64_t out_cols = in_shape[dims[rank - 1]];
    auto program = std::make_shared<PermuteProgram>(workers, swaps ? 2 * row_block * out_cols : out_cols);
    for (int d = 0; d + 1 < rank; ++d) {
        program->output_row_dims.push_back(in_shape[dims[d]]);
        program->row_dim_steps.push_back(input_step[dims[d]]);
    }
    program->col_step = input_step[dims[rank - 1]];
    program->swaps_last_two_dims = swaps;
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

void permute_float_row(const PermuteProgram& p, const MatrixView& in, const MatrixView& out, int64_t row,
                       float* values) {
    const InputCoord at = row_start(p, row), step = p.col_step;
    if (step.col == 1) {
        in.read(at.batch, at.row, at.col, out.cols, values);
    } else {
        for (int64_t c = 0; c < out.cols; ++c)
            in.read(at.batch + c * step.batch, at.row + c * step.row, at.col, 1, values + c);
    }
    detail::write_row(out, row, values);
}

void permute_integer_row(const PermuteProgram& p, const MatrixView& in, const MatrixView& out, int64_t row) {
    const InputCoord at = row_start(p, row), step = p.col_step;
    const int64_t out_batch = row / out.rows, out_row = row % out.rows;
    const std::size_t bytes = in.element_bytes();
    if (step.col == 1 && in.layout == Layout::ROW_MAJOR) {
        std::memcpy(out.element(out_batch, out_row, 0), in.element(at.batch, at.row, at.col),
                    out.cols * bytes);
        return;
    }
    for (int64_t c = 0; c < out.cols; ++c)
        std::memcpy(out.element(out_batch, out_row, c),
                    in.element(at.batch + c * step.batch, at.row + c * step.row, at.col + c * step.col),
                    bytes);
}

// Output rows [r0, r0 + n) of output matrix `matrix` are input columns [r0, r0 + n) of one input
// matrix: read those columns of every input row, transpose in scratch, write whole output rows.
void permute_swapped_block(const PermuteProgram& p, const MatrixView& in, const MatrixView& out,
                           int64_t matrix, int64_t r0, float* scratch) {
    const int64_t n = std::min(row_block, out.rows - r0), in_rows = out.cols;
    const InputCoord at = row_start(p, matrix * out.rows + r0);  // at.col == r0, at.row == 0
    float* block = scratch;                                      // [in_rows][n]
    float* transposed = scratch + row_block * in_rows;           // [n][in_rows]
    for (int64_t r = 0; r < in_rows; ++r) in.read(at.batch, r, at.col, n, block + r * n);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t r = 0; r < in_rows; ++r) transposed[i * in_rows + r] = block[r * n + i];
    for (int64_t i = 0; i < n; ++i) out.write(matrix, r0 + i, 0, in_rows, transposed + i * in_rows);
}

}  // namespace

// input [d0, ..., dn] -> [d_dims[0], ..., d_dims[n]]
Tensor permute(const Tensor& input, const std::vector<int64_t>& dims,
               std::optional<MemoryConfig> memory_config) {
    const char* name = "permute";
    detail::DeviceImpl& device = detail::require_device(name, {{&input, "input"}});
    const int rank = input.shape().rank();
    ATTNN_CHECK(int64_t(dims.size()) == rank, name, "dims=", detail::to_string(dims), " has ", dims.size(),
                " entries, but input.shape=", input.shape(), " has rank ", rank);
    std::vector<int> axes(rank);
    std::vector<bool> seen(rank, false);
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

    auto lock = device.lock(name);
    detail::ProgramKey key(name);
    key.add(input);
    for (int axis : axes) key.add(axis);
    auto program = device.program<PermuteProgram>(
        key, [&] { return build_program(input.shape(), input.dtype(), axes, device.pool->size()); });
    Tensor out =
        detail::allocate_tensor(out_shape, input.dtype(), input.layout(),
                                memory_config.value_or(input.memory_config()), input.device_impl(), name);
    const MatrixView in = detail::matrix_view(input, name), ov = detail::matrix_view(out, name);
    if (program->swaps_last_two_dims) {
        const int64_t blocks_per_matrix = (ov.rows + row_block - 1) / row_block;
        device.pool->parallel_for(ov.batch * blocks_per_matrix, [&](int64_t unit, int worker) {
            permute_swapped_block(*program, in, ov, unit / blocks_per_matrix,
                                  unit % blocks_per_matrix * row_block, program->scratch.get(worker));
        });
    } else if (is_floating_point(input.dtype())) {
        detail::parallel_rows(device, ov.batch * ov.rows, ov.cols,
                              [&](int64_t begin, int64_t end, int worker) {
                                  for (int64_t row = begin; row < end; ++row)
                                      permute_float_row(*program, in, ov, row, program->scratch.get(worker));
                              });
    } else {
        detail::parallel_rows(device, ov.batch * ov.rows, ov.cols, [&](int64_t begin, int64_t end, int) {
            for (int64_t row = begin; row < end; ++row) permute_integer_row(*program, in, ov, row);
        });
    }
    return out;
}

}  // namespace attnn
