// nlp_concat_heads: output row (b, t) is row t of every head of batch b side by side; the same
// join as concatenate_heads with TT-NN's 4-D output.
#include <mutex>

#include "attnn/ops/experimental.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/common.hpp"
#include "ops/transformer/head_rows.hpp"

namespace attnn::experimental {

// x [B, nh, S, dh] -> [B, 1, S, nh * dh]
Tensor nlp_concat_heads(const Tensor& x, std::optional<MemoryConfig> memory_config) {
    const char* name = "nlp_concat_heads";
    detail::DeviceImpl& device = detail::require_device(name, {{&x, "x"}});
    detail::check_floating_point(name, "x", x.dtype());
    const Shape& shape = x.shape();
    ATTNN_CHECK(shape.rank() == 4, name, "x.shape=", shape, " must have rank 4: [B, num_heads, S, head_dim]");
    const uint32_t batch = shape[0], heads = shape[1], tokens = shape[2], head_dim = shape[3];
    const uint32_t width = detail::joined_width(name, heads, head_dim);
    const MemoryConfig config = memory_config.value_or(x.memory_config());

    auto lock = device.lock(name);
    auto program = device.program<detail::HeadRowsProgram>(detail::ProgramKey(name).add(x).add(config), [&] {
        return std::make_shared<detail::HeadRowsProgram>(device.pool->size(), width);
    });
    Tensor out = detail::allocate_tensor({batch, 1, tokens, width}, x.dtype(), x.layout(), config,
                                         x.device_impl(), name);
    detail::join_head_rows(device, *program, detail::matrix_view(x, name), detail::matrix_view(out, name),
                           heads, head_dim, [&](int64_t r, int64_t h) {
                               return detail::HeadRowSource{r / tokens * heads + h, r % tokens, 0};
                           });
    return out;
}

}  // namespace attnn::experimental
