// nlp_concat_heads_decode: user b's output row is its first num_heads head rows side by side.
// TT-NN pads decode heads up to a tile height (32) so x.shape[2] may exceed num_heads; the
// padding heads are never read.
#include <mutex>

#include "attnn/ops/experimental.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/common.hpp"
#include "ops/transformer/head_rows.hpp"

namespace attnn::experimental {

// x [1, B, nh_padded, dh] -> [1, 1, B, num_heads * dh]
Tensor nlp_concat_heads_decode(const Tensor& x, uint32_t num_heads,
                               std::optional<MemoryConfig> memory_config) {
    const char* name = "nlp_concat_heads_decode";
    detail::DeviceImpl& device = detail::require_device(name, {{&x, "x"}});
    detail::check_floating_point(name, "x", x.dtype());
    const Shape& shape = x.shape();
    ATTNN_CHECK(shape.rank() == 4 && shape[0] == 1, name, "x.shape=", shape,
                " must be [1, B, num_heads, head_dim]");
    ATTNN_CHECK(num_heads > 0 && num_heads <= shape[2], name, "num_heads=", num_heads,
                " must be in [1, x.shape[2]=", shape[2], "]");
    const uint32_t users = shape[1], head_dim = shape[3];
    const uint32_t width = detail::joined_width(name, num_heads, head_dim);
    const MemoryConfig config = memory_config.value_or(x.memory_config());

    auto lock = device.lock(name);
    auto program = device.program<detail::HeadRowsProgram>(
        detail::ProgramKey(name).add(x).add(num_heads).add(config),
        [&] { return std::make_shared<detail::HeadRowsProgram>(device.pool->size(), width); });
    Tensor out =
        detail::allocate_tensor({1, 1, users, width}, x.dtype(), x.layout(), config, x.device_impl(), name);
    // x's view is B matrices of nh_padded rows: user r's head h is row h of matrix r.
    detail::join_head_rows(device, *program, detail::matrix_view(x, name), detail::matrix_view(out, name),
                           num_heads, head_dim, [](int64_t r, int64_t h) {
                               return detail::HeadRowSource{r, h, 0};
                           });
    return out;
}

}  // namespace attnn::experimental
