// concatenate_heads: output row (b, t) is the concatenation of row t of every head of batch b.
#include <mutex>

#include "attnn/ops/transformer.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/common.hpp"
#include "ops/transformer/head_rows.hpp"

namespace attnn::transformer {

// x [b, nh, s, hd] -> [b, s, nh * hd]
Tensor concatenate_heads(const Tensor& x, std::optional<MemoryConfig> memory_config) {
    const char* name = "concatenate_heads";
    detail::DeviceImpl& device = detail::require_device(name, {{&x, "x"}});
    detail::check_floating_point(name, "x", x.dtype());
    const Shape& shape = x.shape();
    ATTNN_CHECK(shape.rank() == 4, name, "x.shape=", shape,
                " must have rank 4: [b, num_heads, s, head_size]");
    const uint32_t batch = shape[0], heads = shape[1], tokens = shape[2], head_size = shape[3];
    const uint32_t width = detail::joined_width(name, heads, head_size);

    auto lock = device.lock(name);
    auto program = device.program<detail::HeadRowsProgram>(detail::ProgramKey(name).add(x), [&] {
        return std::make_shared<detail::HeadRowsProgram>(device.pool->size(), width);
    });
    Tensor out = detail::allocate_tensor({batch, tokens, width}, x.dtype(), x.layout(),
                                         memory_config.value_or(x.memory_config()), x.device_impl(), name);
    detail::join_head_rows(device, *program, detail::matrix_view(x, name), detail::matrix_view(out, name),
                           heads, head_size, [&](int64_t r, int64_t h) {
                               return detail::HeadRowSource{r / tokens * heads + h, r % tokens, 0};
                           });
    return out;
}

}  // namespace attnn::transformer
