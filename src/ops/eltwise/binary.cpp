// add, subtract, multiply: each output row is computed from one decoded row of a and of b (or
// a broadcast value) by the fp32 row kernels, then encoded into the output's dtype and layout.
#include <algorithm>
#include <mutex>

#include "attnn/ops/eltwise.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "kernels/kernels.hpp"
#include "ops/common.hpp"
#include "ops/eltwise/broadcast.hpp"

namespace attnn {

namespace {

using detail::MatrixView;
using detail::RowBroadcast;
using kernels::BinaryOp;

const char* op_name(BinaryOp op) {
    switch (op) {
        case BinaryOp::add:
            return "add";
        case BinaryOp::subtract:
            return "subtract";
        case BinaryOp::multiply:
            return "multiply";
    }
    return "binary";
}

struct BinaryProgram : detail::Program {
    BinaryProgram(RowBroadcast a, RowBroadcast b, int workers, int64_t cols)
        : a_rows(std::move(a)), b_rows(std::move(b)), scratch(workers, 3 * cols) {}
    RowBroadcast a_rows, b_rows;
    detail::WorkerScratch scratch;  // per worker: a row, b row, output row
};

struct ScalarProgram : detail::Program {
    ScalarProgram(int workers, int64_t cols) : scratch(workers, 2 * cols) {}
    detail::WorkerScratch scratch;  // per worker: a row, output row
};

DataType output_dtype(const char* op, const Tensor& a, const BinaryOptions& options) {
    DataType dtype = options.dtype.value_or(a.dtype());
    ATTNN_CHECK_TYPE(is_floating_point(dtype), op, "dtype=", dtype,
                     " is not a floating-point dtype (expected FLOAT32, BFLOAT16, BFLOAT8_B or BFLOAT4_B)");
    ATTNN_CHECK_TYPE(!is_block_float(dtype) || a.layout() == Layout::TILE, op, "dtype=", dtype,
                     " exists only in Layout::TILE, but the output takes a's layout ", a.layout());
    return dtype;
}

// Decodes the row of `input` that feeds output row `row` into dst (cols values).
void load_row(const MatrixView& input, const RowBroadcast& map, int64_t row, int64_t cols, float* dst) {
    detail::read_row(input, map.source_row[row], dst);
    if (map.broadcast_cols) std::fill(dst + 1, dst + cols, dst[0]);
}

// a, b broadcast to [...] -> [...]
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const BinaryOptions& options) {
    const char* name = op_name(op);
    detail::DeviceImpl& device = detail::require_device(name, {{&a, "a"}, {&b, "b"}});
    detail::check_floating_point(name, "a", a.dtype());
    detail::check_floating_point(name, "b", b.dtype());
    const Shape out_shape = detail::broadcast_shape(name, "a", a.shape(), "b", b.shape());
    const DataType dtype = output_dtype(name, a, options);

    auto lock = device.lock(name);
    const int64_t cols = out_shape[-1];
    auto program = device.program<BinaryProgram>(detail::ProgramKey(name).add(a).add(b).add(dtype), [&] {
        return std::make_shared<BinaryProgram>(detail::row_broadcast(a.shape(), out_shape),
                                               detail::row_broadcast(b.shape(), out_shape),
                                               device.pool->size(), cols);
    });
    Tensor out =
        detail::allocate_tensor(out_shape, dtype, a.layout(),
                                options.memory_config.value_or(a.memory_config()), a.device_impl(), name);
    const MatrixView av = detail::matrix_view(a, name), bv = detail::matrix_view(b, name),
                     ov = detail::matrix_view(out, name);
    const auto& k = kernels::table();
    const int64_t num_rows = ov.batch * ov.rows;
    detail::parallel_rows(device, num_rows, cols, [&](int64_t begin, int64_t end, int worker) {
        float* a_row = program->scratch.get(worker);
        float* b_row = a_row + cols;
        float* out_row = b_row + cols;
        for (int64_t row = begin; row < end; ++row) {
            load_row(av, program->a_rows, row, cols, a_row);
            load_row(bv, program->b_rows, row, cols, b_row);
            k.binary(op, a_row, b_row, out_row, cols);
            detail::write_row(ov, row, out_row);
        }
    });
    return out;
}

// a [...], scalar b -> [...]
Tensor binary(BinaryOp op, const Tensor& a, float b, const BinaryOptions& options) {
    const char* name = op_name(op);
    detail::DeviceImpl& device = detail::require_device(name, {{&a, "a"}});
    detail::check_floating_point(name, "a", a.dtype());
    const DataType dtype = output_dtype(name, a, options);

    auto lock = device.lock(name);
    const int64_t cols = a.shape()[-1];
    auto program = device.program<ScalarProgram>(
        detail::ProgramKey(name).add("scalar").add(a).add(dtype),
        [&] { return std::make_shared<ScalarProgram>(device.pool->size(), cols); });
    Tensor out =
        detail::allocate_tensor(a.shape(), dtype, a.layout(),
                                options.memory_config.value_or(a.memory_config()), a.device_impl(), name);
    const MatrixView av = detail::matrix_view(a, name), ov = detail::matrix_view(out, name);
    const auto& k = kernels::table();
    detail::parallel_rows(device, av.batch * av.rows, cols, [&](int64_t begin, int64_t end, int worker) {
        float* a_row = program->scratch.get(worker);
        float* out_row = a_row + cols;
        for (int64_t row = begin; row < end; ++row) {
            detail::read_row(av, row, a_row);
            k.binary_scalar(op, a_row, b, out_row, cols);
            detail::write_row(ov, row, out_row);
        }
    });
    return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b, const BinaryOptions& options) {
    return binary(BinaryOp::add, a, b, options);
}
Tensor subtract(const Tensor& a, const Tensor& b, const BinaryOptions& options) {
    return binary(BinaryOp::subtract, a, b, options);
}
Tensor multiply(const Tensor& a, const Tensor& b, const BinaryOptions& options) {
    return binary(BinaryOp::multiply, a, b, options);
}
Tensor add(const Tensor& a, float b, const BinaryOptions& options) {
    return binary(BinaryOp::add, a, b, options);
}
Tensor subtract(const Tensor& a, float b, const BinaryOptions& options) {
    return binary(BinaryOp::subtract, a, b, options);
}
Tensor multiply(const Tensor& a, float b, const BinaryOptions& options) {
    return binary(BinaryOp::multiply, a, b, options);
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return subtract(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return multiply(a, b); }
Tensor operator+(const Tensor& a, float b) { return add(a, b); }
Tensor operator-(const Tensor& a, float b) { return subtract(a, b); }
Tensor operator*(const Tensor& a, float b) { return multiply(a, b); }
Tensor operator*(float a, const Tensor& b) { return multiply(b, a); }

// Rebinds `a` to the result, as Python's `a += b` does for TT-NN tensors; other handles to the
// old storage keep the old values. The result must keep a's shape.
Tensor& operator+=(Tensor& a, const Tensor& b) {
    const Shape shape = detail::broadcast_shape("operator+=", "a", a.shape(), "b", b.shape());
    ATTNN_CHECK(shape == a.shape(), "operator+=", "b.shape=", b.shape(),
                " would broadcast a.shape=", a.shape(), " to ", shape, "; an in-place op keeps a's shape");
    a = add(a, b);
    return a;
}
Tensor& operator*=(Tensor& a, float b) {
    a = multiply(a, b);
    return a;
}

}  // namespace attnn
