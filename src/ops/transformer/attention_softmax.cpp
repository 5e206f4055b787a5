// attention_softmax: per row of scores, x * scale + mask (one scale_add pass over the decoded
// row), then the stable softmax of ops/softmax, then one encode. The in-place variant writes
// each row back where it was read; rows never share a face row, so workers never collide.
#include <algorithm>
#include <cmath>
#include <mutex>

#include "attnn/ops/transformer.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "kernels/kernels.hpp"
#include "ops/common.hpp"
#include "ops/eltwise/broadcast.hpp"
#include "ops/softmax/softmax_row.hpp"

namespace attnn::transformer {

namespace {

using detail::MatrixView;

struct AttentionSoftmaxProgram : detail::Program {
    AttentionSoftmaxProgram(int workers, int64_t cols) : scratch(workers, 2 * cols) {}
    std::optional<detail::RowBroadcast> mask_rows;
    detail::WorkerScratch scratch;  // per worker: a row of x, a row of the mask
};

void validate(const char* name, const Tensor& x, const AttentionSoftmaxOptions& options) {
    if (options.attention_mask)
        detail::require_device(name, {{&x, "x"}, {&*options.attention_mask, "attention_mask"}});
    else
        detail::require_device(name, {{&x, "x"}});
    detail::check_floating_point(name, "x", x.dtype());
    ATTNN_CHECK(!options.head_size || *options.head_size > 0, name,
                "head_size=", options.head_size.value_or(0), " must be > 0");
    if (const auto& mask = options.attention_mask) {
        detail::check_floating_point(name, "attention_mask", mask->dtype());
        ATTNN_CHECK(
            detail::broadcastable(mask->shape(), x.shape()) &&
                detail::broadcast_shape(name, "x", x.shape(), "attention_mask", mask->shape()) == x.shape(),
            name, "attention_mask.shape=", mask->shape(), " does not broadcast to x.shape=", x.shape());
    }
}

// x [..., sk], mask broadcastable to x -> out [..., sk]; out may be x itself.
void run(detail::DeviceImpl& device, const char* name, const Tensor& x, const Tensor& out,
         const AttentionSoftmaxOptions& options) {
    const int64_t cols = x.shape()[-1];
    detail::ProgramKey key(name);
    key.add(x);
    if (options.attention_mask) key.add(*options.attention_mask);
    auto program = device.program<AttentionSoftmaxProgram>(key, [&] {
        auto p = std::make_shared<AttentionSoftmaxProgram>(device.pool->size(), cols);
        if (options.attention_mask)
            p->mask_rows = detail::row_broadcast(options.attention_mask->shape(), x.shape());
        return p;
    });
    const float scale = options.head_size ? 1.0f / std::sqrt(float(*options.head_size)) : 1.0f;
    const MatrixView in = detail::matrix_view(x, name), ov = detail::matrix_view(out, name);
    MatrixView mv;
    if (options.attention_mask) mv = detail::matrix_view(*options.attention_mask, name);
    const auto& k = kernels::table();
    detail::parallel_rows(device, in.batch * in.rows, cols, [&](int64_t begin, int64_t end, int worker) {
        float* row = program->scratch.get(worker);
        float* mask_row = row + cols;
        for (int64_t r = begin; r < end; ++r) {
            detail::read_row(in, r, row);
            if (program->mask_rows) {
                detail::read_row(mv, program->mask_rows->source_row[r], mask_row);
                if (program->mask_rows->broadcast_cols) std::fill(mask_row + 1, mask_row + cols, mask_row[0]);
                k.scale_add(row, cols, scale, mask_row);
            } else if (scale != 1.0f) {
                k.scale(row, cols, scale);
            }
            detail::softmax_in_place(k, row, cols);
            detail::write_row(ov, r, row);
        }
    });
}

}  // namespace

// x [b, h, sq, sk], attention_mask broadcastable to x -> [b, h, sq, sk]
Tensor attention_softmax(const Tensor& x, const AttentionSoftmaxOptions& options) {
    const char* name = "attention_softmax";
    validate(name, x, options);
    detail::DeviceImpl& device = *x.device_impl();
    auto lock = device.lock(name);
    Tensor out =
        detail::allocate_tensor(x.shape(), x.dtype(), x.layout(),
                                options.memory_config.value_or(x.memory_config()), x.device_impl(), name);
    run(device, name, x, out, options);
    return out;
}

// x [b, h, sq, sk], attention_mask broadcastable to x -> x, overwritten
Tensor attention_softmax_(Tensor& x, const AttentionSoftmaxOptions& options) {
    const char* name = "attention_softmax_";
    validate(name, x, options);
    ATTNN_CHECK(!options.memory_config || *options.memory_config == x.memory_config(), name,
                "memory_config=", to_string(options.memory_config.value_or(x.memory_config())),
                " differs from x's ", to_string(x.memory_config()), "; the in-place op keeps x's storage");
    detail::DeviceImpl& device = *x.device_impl();
    auto lock = device.lock(name);
    run(device, name, x, x, options);
    return x;
}

}  // namespace attnn::transformer
