#include "attnn/ops/matmul.hpp"

#include <algorithm>

#include "attnn/error.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/matmul/gemm.hpp"

namespace attnn {

namespace {

using detail::GemmProblem;
using detail::GemmProgram;

kernels::Activation parse_activation(const std::string& name, const char* op) {
    if (name.empty()) return kernels::Activation::none;
    if (name == "relu") return kernels::Activation::relu;
    if (name == "gelu") return kernels::Activation::gelu;
    if (name == "silu") return kernels::Activation::silu;
    detail::fail(ErrorKind::InvalidArgument, op, "activation=\"", name,
                 "\" is not one of \"\", \"relu\", \"gelu\", \"silu\"");
}

std::string dims_string(const Shape& s) { return s.to_string(); }

struct MatmulSpec {
    Shape out_shape;
    GemmProblem problem;
    DataType out_dtype;
    Layout out_layout;
    MemoryConfig out_memory;
};

// Validates a [..., M, K] x b [..., K, N] (with transposes) and derives the output and the
// batch broadcasting maps.
MatmulSpec plan(const char* op, const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b,
                std::optional<DataType> dtype, std::optional<MemoryConfig> memory_config,
                std::optional<CoreGrid> core_grid, detail::DeviceImpl& device) {
    ATTNN_CHECK(a.shape().rank() >= 2, op, "a must have rank >= 2, given a.shape=", dims_string(a.shape()));
    ATTNN_CHECK(b.shape().rank() >= 2, op, "b must have rank >= 2, given b.shape=", dims_string(b.shape()));
    ATTNN_CHECK_TYPE(is_floating_point(a.dtype()), op, "a.dtype must be a floating-point type, given ",
                     to_string(a.dtype()));
    ATTNN_CHECK_TYPE(is_floating_point(b.dtype()), op, "b.dtype must be a floating-point type, given ",
                     to_string(b.dtype()));
    const int64_t m = transpose_a ? a.shape()[-1] : a.shape()[-2];
    const int64_t ka = transpose_a ? a.shape()[-2] : a.shape()[-1];
    const int64_t kb = transpose_b ? b.shape()[-1] : b.shape()[-2];
    const int64_t n = transpose_b ? b.shape()[-2] : b.shape()[-1];
    ATTNN_CHECK(ka == kb, op, "inner dims differ: a gives K=", ka,
                transpose_a ? " (a.shape[-2], transpose_a)" : " (a.shape[-1])", " but b gives K=", kb,
                transpose_b ? " (b.shape[-1], transpose_b)" : " (b.shape[-2])",
                "; a.shape=", dims_string(a.shape()), ", b.shape=", dims_string(b.shape()));

    // numpy broadcasting of the leading dims
    const int ra = a.shape().rank() - 2, rb = b.shape().rank() - 2, ro = std::max(ra, rb);
    std::vector<uint32_t> lead(std::size_t(ro), 1);
    for (int i = 0; i < ro; ++i) {
        int ia = i - (ro - ra), ib = i - (ro - rb);
        uint32_t da = ia >= 0 ? a.shape()[ia] : 1, db = ib >= 0 ? b.shape()[ib] : 1;
        ATTNN_CHECK(da == db || da == 1 || db == 1, op,
                    "batch dims do not broadcast: a.shape=", dims_string(a.shape()),
                    ", b.shape=", dims_string(b.shape()));
        lead[std::size_t(i)] = std::max(da, db);
    }
    MatmulSpec spec;
    std::vector<uint32_t> out_dims = lead;
    out_dims.push_back(uint32_t(m));
    out_dims.push_back(uint32_t(n));
    spec.out_shape = Shape(out_dims);
    spec.out_dtype = dtype.value_or(a.dtype());
    spec.out_layout = a.layout();
    spec.out_memory = memory_config.value_or(a.memory_config());
    ATTNN_CHECK_TYPE(is_floating_point(spec.out_dtype), op, "dtype must be a floating-point type, given ",
                     to_string(spec.out_dtype));
    ATTNN_CHECK_TYPE(!is_block_float(spec.out_dtype) || spec.out_layout == Layout::TILE, op,
                     "dtype=", to_string(spec.out_dtype), " needs a TILE-layout output, but a is in ",
                     to_string(a.layout()));

    GemmProblem& prob = spec.problem;
    prob.m = m, prob.n = n, prob.k = ka;
    prob.transpose_a = transpose_a, prob.transpose_b = transpose_b;
    uint64_t batch = 1;
    for (uint32_t d : lead) batch *= d;
    prob.batch = int64_t(batch);
    prob.a_index.resize(batch);
    prob.b_index.resize(batch);
    for (uint64_t o = 0; o < batch; ++o) {
        // unravel o over `lead`, then ravel into a's and b's own (possibly broadcast) dims
        uint64_t rem = o, ai = 0, bi = 0, sa = 1, sb = 1;
        for (int i = ro - 1; i >= 0; --i) {
            uint64_t idx = rem % lead[std::size_t(i)];
            rem /= lead[std::size_t(i)];
            int ia = i - (ro - ra), ib = i - (ro - rb);
            if (ia >= 0) {
                uint32_t d = a.shape()[ia];
                ai += (d == 1 ? 0 : idx) * sa;
                sa *= d;
            }
            if (ib >= 0) {
                uint32_t d = b.shape()[ib];
                bi += (d == 1 ? 0 : idx) * sb;
                sb *= d;
            }
        }
        prob.a_index[o] = int64_t(ai);
        prob.b_index[o] = int64_t(bi);
    }
    const bool a_unbroadcast = a.shape().batch_volume() == batch;
    prob.fold_batch_into_m = !transpose_a && b.shape().batch_volume() == 1 && a_unbroadcast;
    int workers = device.pool->size();
    if (core_grid) {
        ATTNN_CHECK(core_grid->num_cores() >= 1, op,
                    "core_grid must have at least one core, given y=", core_grid->y, " x=", core_grid->x);
        workers = std::min<int>(workers, int(core_grid->num_cores()));
    }
    prob.workers = workers;
    prob.b_tile_format = detail::matrix_view(b, op).tile_format();
    return spec;
}

detail::ProgramKey program_key(const char* op, const Tensor& a, const Tensor& b, const MatmulSpec& spec,
                               const Tensor* bias) {
    detail::ProgramKey key(op);
    key.add(a).add(b).add(spec.problem.transpose_a).add(spec.problem.transpose_b).add(spec.out_dtype);
    key.add(spec.out_memory).add(spec.problem.workers).add(spec.problem.activation);
    key.add(bias != nullptr);
    if (bias) key.add(*bias);
    return key;
}

Tensor run(const char* op, const Tensor& a, const Tensor& b, const Tensor* bias, MatmulSpec spec,
           detail::DeviceImpl& device) {
    auto program = device.program<GemmProgram>(program_key(op, a, b, spec, bias),
                                               [&] { return detail::build_gemm_program(spec.problem); });
    Tensor out = detail::allocate_tensor(spec.out_shape, spec.out_dtype, spec.out_layout, spec.out_memory,
                                         a.device_impl(), op);
    detail::MatrixView bias_view;
    if (bias) bias_view = detail::matrix_view(*bias, op);
    detail::run_gemm(*program, device, detail::matrix_view(a, op), detail::matrix_view(b, op),
                     detail::matrix_view(out, op), bias ? &bias_view : nullptr);
    return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, const MatmulOptions& options) {
    const char* op = "matmul";
    detail::DeviceImpl& device = detail::require_device(op, {{&a, "a"}, {&b, "b"}});
    auto lock = device.lock(op);
    MatmulSpec spec = plan(op, a, b, options.transpose_a, options.transpose_b, options.dtype,
                           options.memory_config, options.core_grid, device);
    return run(op, a, b, nullptr, std::move(spec), device);
}

Tensor linear(const Tensor& a, const Tensor& b, const LinearOptions& options) {
    const char* op = "linear";
    const Tensor* bias = options.bias ? &*options.bias : nullptr;
    detail::DeviceImpl& device = bias ? detail::require_device(op, {{&a, "a"}, {&b, "b"}, {bias, "bias"}})
                                      : detail::require_device(op, {{&a, "a"}, {&b, "b"}});
    auto lock = device.lock(op);
    MatmulSpec spec = plan(op, a, b, options.transpose_a, options.transpose_b, options.dtype,
                           options.memory_config, options.core_grid, device);
    spec.problem.activation = parse_activation(options.activation, op);
    if (bias) {
        const int64_t n = spec.problem.n;
        ATTNN_CHECK_TYPE(is_floating_point(bias->dtype()), op,
                         "bias.dtype must be a floating-point type, given ", to_string(bias->dtype()));
        ATTNN_CHECK(int64_t(bias->shape()[-1]) == n && bias->shape().volume() == uint64_t(n), op,
                    "bias must hold N=", n,
                    " values as [N] or [1, ..., 1, N], given bias.shape=", dims_string(bias->shape()));
    }
    return run(op, a, b, bias, std::move(spec), device);
}

}  // namespace attnn
