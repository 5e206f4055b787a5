// softmax along any dim. The last dim is the row-wise fast path; any other dim gathers, per
// work unit, the `dim_size` rows that one strided slice crosses, restricted to a block of
// columns, transposes them into per-worker scratch so every slice is contiguous, runs the row
// kernels and scatters the result back.
#include "attnn/ops/softmax.hpp"

#include <algorithm>
#include <mutex>

#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "kernels/kernels.hpp"
#include "ops/common.hpp"
#include "ops/softmax/softmax_row.hpp"

namespace attnn {

namespace {

using detail::MatrixView;

// Per-worker scratch for a strided slice block: dim_size x column_block floats plus one row
// segment. 64K floats (256 KiB) per worker stays inside the L2 of one core.
constexpr int64_t strided_block_floats = 64 * 1024;
// Column blocks start on face rows, so block floats re-encode whole face rows and no two work
// units write the same one.
constexpr int64_t face_width = FACE_WIDTH;

struct SoftmaxProgram : detail::Program {
    SoftmaxProgram(int workers, int64_t per_worker) : scratch(workers, per_worker) {}
    // Strided dims only: the input seen as [outer, dim_size, inner_rows] rows of `cols` values.
    int64_t outer = 1, dim_size = 1, inner_rows = 1, column_block = 1, column_blocks = 1;
    int workers = 1;  // the workers the strided loop runs on: one scratch slab each
    detail::WorkerScratch scratch;
};

std::shared_ptr<SoftmaxProgram> build_program(const Shape& shape, int dim, int workers) {
    const int rank = shape.rank();
    const int64_t cols = shape[-1];
    if (dim == rank - 1) return std::make_shared<SoftmaxProgram>(workers, cols);
    int64_t outer = 1, inner_rows = 1;
    for (int d = 0; d < dim; ++d) outer *= shape[d];
    for (int d = dim + 1; d < rank - 1; ++d) inner_rows *= shape[d];
    const int64_t dim_size = shape[dim];
    int64_t column_block =
        std::max<int64_t>(face_width, strided_block_floats / dim_size / face_width * face_width);
    column_block = std::min(column_block, cols);
    const int64_t column_blocks = (cols + column_block - 1) / column_block;
    // A slab of dim_size x column_block values per worker that has a unit to run, not per worker
    // of the pool: a long dim with few columns can be one unit (and megabytes) in all.
    const int64_t units = outer * inner_rows * column_blocks;
    const int slots = int(std::min<int64_t>(workers, units));
    auto program = std::make_shared<SoftmaxProgram>(slots, dim_size * column_block + column_block);
    program->outer = outer;
    program->dim_size = dim_size;
    program->inner_rows = inner_rows;
    program->column_block = column_block;
    program->column_blocks = column_blocks;
    program->workers = slots;
    return program;
}

// input [..., n, ...] -> [..., n, ...], softmax over the last dim.
void softmax_last_dim(detail::DeviceImpl& device, SoftmaxProgram& program, const MatrixView& in,
                      const MatrixView& out) {
    const auto& k = kernels::table();
    detail::parallel_rows(device, in.batch * in.rows, in.cols, [&](int64_t begin, int64_t end, int worker) {
        float* row = program.scratch.get(worker);
        for (int64_t r = begin; r < end; ++r) {
            detail::read_row(in, r, row);
            detail::softmax_in_place(k, row, in.cols);
            detail::write_row(out, r, row);
        }
    });
}

// input [outer, n, inner_rows, cols] (as rows) -> same, softmax over n.
void softmax_strided(detail::DeviceImpl& device, SoftmaxProgram& p, const MatrixView& in,
                     const MatrixView& out) {
    const auto& k = kernels::table();
    const int64_t units = p.outer * p.inner_rows * p.column_blocks;
    device.pool->parallel_for(
        units,
        [&](int64_t unit, int worker) {
            const int64_t column_block_index = unit % p.column_blocks;
            const int64_t inner = unit / p.column_blocks % p.inner_rows;
            const int64_t outer = unit / p.column_blocks / p.inner_rows;
            const int64_t c0 = column_block_index * p.column_block;
            const int64_t width = std::min(p.column_block, in.cols - c0);
            float* slices = p.scratch.get(worker);  // [width][dim_size]: one contiguous slice per column
            float* segment = slices + p.dim_size * p.column_block;
            auto row_of = [&](int64_t i) { return (outer * p.dim_size + i) * p.inner_rows + inner; };
            for (int64_t i = 0; i < p.dim_size; ++i) {
                const int64_t row = row_of(i);
                in.read(row / in.rows, row % in.rows, c0, width, segment);
                for (int64_t c = 0; c < width; ++c) slices[c * p.dim_size + i] = segment[c];
            }
            for (int64_t c = 0; c < width; ++c)
                detail::softmax_in_place(k, slices + c * p.dim_size, p.dim_size);
            for (int64_t i = 0; i < p.dim_size; ++i) {
                const int64_t row = row_of(i);
                for (int64_t c = 0; c < width; ++c) segment[c] = slices[c * p.dim_size + i];
                out.write(row / out.rows, row % out.rows, c0, width, segment);
            }
        },
        p.workers);
}

}  // namespace

// input [...] -> [...], softmax over `dim`.
Tensor softmax(const Tensor& input, int dim, std::optional<MemoryConfig> memory_config) {
    const char* name = "softmax";
    detail::DeviceImpl& device = detail::require_device(name, {{&input, "input"}});
    detail::check_floating_point(name, "input", input.dtype());
    const int axis = detail::normalize_dim(name, "dim", dim, input.shape().rank());

    auto lock = device.lock(name);
    auto program = device.program<SoftmaxProgram>(detail::ProgramKey(name).add(input).add(axis), [&] {
        return build_program(input.shape(), axis, device.pool->size());
    });
    Tensor out =
        detail::allocate_tensor(input.shape(), input.dtype(), input.layout(),
                                memory_config.value_or(input.memory_config()), input.device_impl(), name);
    const MatrixView in = detail::matrix_view(input, name), ov = detail::matrix_view(out, name);
    if (axis == input.shape().rank() - 1)
        softmax_last_dim(device, *program, in, ov);
    else
        softmax_strided(device, *program, in, ov);
    return out;
}

}  // namespace attnn
