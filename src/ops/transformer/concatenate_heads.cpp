// concatenate_heads: output row (b, t) is the concatenation of row t of every head of batch b.
#include <mutex>

#include "attnn/ops/transformer.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/common.hpp"

namespace attnn::transformer {

namespace {
struct ConcatenateHeadsProgram : detail::Program {
    ConcatenateHeadsProgram(int workers, int64_t row_values) : scratch(workers, row_values) {}
    detail::WorkerScratch scratch;  // one output row per worker
};
}  // namespace

// x [b, nh, s, hd] -> [b, s, nh * hd]
Tensor concatenate_heads(const Tensor& x, std::optional<MemoryConfig> memory_config) {
    const char* name = "concatenate_heads";
    detail::DeviceImpl& device = detail::require_device(name, {{&x, "x"}});
    detail::check_floating_point(name, "x", x.dtype());
    const Shape& shape = x.shape();
    ATTNN_CHECK(shape.rank() == 4, name, "x.shape=", shape, " must have rank 4: [b, num_heads, s, head_size]");
    const uint32_t batch = shape[0], heads = shape[1], tokens = shape[2], head_size = shape[3];

    std::lock_guard lock(device.op_mutex);
    auto program = device.program<ConcatenateHeadsProgram>(detail::ProgramKey(name).add(x), [&] {
        return std::make_shared<ConcatenateHeadsProgram>(device.pool->size(), int64_t(heads) * head_size);
    });
    Tensor out = detail::allocate_tensor({batch, tokens, heads * head_size}, x.dtype(), x.layout(),
                                         memory_config.value_or(x.memory_config()), x.device_impl(), name);
    const detail::MatrixView in = detail::matrix_view(x, name), ov = detail::matrix_view(out, name);
    detail::parallel_rows(device, ov.batch * ov.rows, ov.cols, [&](int64_t begin, int64_t end, int worker) {
        float* row = program->scratch.get(worker);
        for (int64_t r = begin; r < end; ++r) {
            const int64_t b = r / tokens, t = r % tokens;
            for (int64_t h = 0; h < heads; ++h) in.read(b * heads + h, t, 0, head_size, row + h * head_size);
            detail::write_row(ov, r, row);
        }
    });
    return out;
}

}  // namespace attnn::transformer
