// slice: output element (i_0, ..., i_n) is input element (b_0 + i_0 s_0, ..., b_n + i_n s_n).
// Every output row is one input row's columns [b_n, e_n) taken every s_n: floating-point values
// travel as fp32 (exact for FLOAT32 and BFLOAT16; block floats are encoded again, since an output
// face row groups values that were not neighbours in the input), integers as bytes.
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

// The input (matrix, row) of output row `row`: the output's row index split into its dims
// [0, rank - 1), each mapped through begin + i * step, and joined again in the input's shape.
struct RowMap {
    std::vector<int64_t> out_dims, in_dims, begins, steps;  // dims [0, rank - 1)
    int64_t in_rows = 1;                                   // the input's dim rank - 2 (1 for rank 1)

    std::pair<int64_t, int64_t> input_row(int64_t row) const {
        int64_t flat = 0, scale = 1;
        for (int64_t d = int64_t(out_dims.size()) - 1; d >= 0; --d) {
            const int64_t i = row % out_dims[std::size_t(d)];
            row /= out_dims[std::size_t(d)];
            flat += (begins[std::size_t(d)] + i * steps[std::size_t(d)]) * scale;
            scale *= in_dims[std::size_t(d)];
        }
        return {flat / in_rows, flat % in_rows};
    }
};

}  // namespace

Tensor slice(const Tensor& input, const std::vector<int64_t>& begins, const std::vector<int64_t>& ends,
             const std::vector<int64_t>& steps, std::optional<MemoryConfig> memory_config) {
    const char* name = "slice";
    detail::DeviceImpl& device = detail::require_device(name, {{&input, "input"}});
    const int rank = input.shape().rank();
    ATTNN_CHECK(int(begins.size()) == rank && int(ends.size()) == rank, name, "slice_start=",
                detail::to_string(begins), " and slice_end=", detail::to_string(ends), " must have ", rank,
                " entries each (input.shape=", input.shape(), ")");
    ATTNN_CHECK(steps.empty() || int(steps.size()) == rank, name, "slice_step=", detail::to_string(steps),
                " must be empty or have ", rank, " entries (input.shape=", input.shape(), ")");
    std::vector<uint32_t> out_dims(static_cast<std::size_t>(rank));
    for (int d = 0; d < rank; ++d) {
        const int64_t dim = input.shape()[d], b = begins[std::size_t(d)], e = ends[std::size_t(d)];
        const int64_t s = steps.empty() ? 1 : steps[std::size_t(d)];
        ATTNN_CHECK(s >= 1, name, "slice_step[", d, "]=", s, " must be >= 1");
        ATTNN_CHECK(0 <= b && b < e && e <= dim, name, "dim ", d, ": expected 0 <= start < end <= ", dim,
                    " (input.shape=", input.shape(), "), given start=", b, " end=", e,
                    " (an empty slice has no tensor: attnn has no zero-sized dims)");
        out_dims[std::size_t(d)] = uint32_t((e - b + s - 1) / s);
    }
    RowMap map;
    for (int d = 0; d + 1 < rank; ++d) {
        map.out_dims.push_back(out_dims[std::size_t(d)]);
        map.in_dims.push_back(input.shape()[d]);
        map.begins.push_back(begins[std::size_t(d)]);
        map.steps.push_back(steps.empty() ? 1 : steps[std::size_t(d)]);
    }
    map.in_rows = rank >= 2 ? input.shape()[-2] : 1;
    const int64_t col0 = begins.back(), col_step = steps.empty() ? 1 : steps.back();

    auto lock = device.lock(name);
    Tensor out = detail::allocate_tensor(Shape(out_dims), input.dtype(), input.layout(),
                                         memory_config.value_or(input.memory_config()), input.device_impl(), name);
    const MatrixView in = detail::matrix_view(input, name), ov = detail::matrix_view(out, name);
    const int64_t span = (ov.cols - 1) * col_step + 1;  // input columns a row's values lie in
    if (is_floating_point(input.dtype())) {
        detail::WorkerScratch scratch(device.pool->size(), span + ov.cols);
        detail::parallel_rows(device, ov.batch * ov.rows, span, [&](int64_t begin, int64_t end, int worker) {
            float* buf = scratch.get(worker);
            float* row_out = buf + span;
            for (int64_t row = begin; row < end; ++row) {
                const auto [matrix, r] = map.input_row(row);
                in.read(matrix, r, col0, span, buf);
                for (int64_t c = 0; c < ov.cols; ++c) row_out[c] = buf[c * col_step];
                detail::write_row(ov, row, row_out);
            }
        });
    } else {
        const std::size_t bytes = in.element_bytes();
        detail::parallel_rows(device, ov.batch * ov.rows, ov.cols, [&](int64_t begin, int64_t end, int) {
            for (int64_t row = begin; row < end; ++row) {
                const auto [matrix, r] = map.input_row(row);
                for (int64_t c = 0; c < ov.cols; ++c)
                    std::memcpy(ov.element(row / ov.rows, row % ov.rows, c), in.element(matrix, r, col0 + c * col_step),
                                bytes);
            }
        });
    }
    return out;
}

}  // namespace attnn
