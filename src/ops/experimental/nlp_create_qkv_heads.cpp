// nlp_create_qkv_heads: the prefill cut of a fused QKV projection into Q, K and V heads. The
// input is 4-D with a unit second dim ([B, 1, S, fused]), so its view is the same [B][S] rows as
// split_query_key_value_and_split_heads' [B, S, fused], and the moves are shared
// (ops/transformer/head_rows.hpp).
#include <mutex>

#include "attnn/ops/experimental.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/common.hpp"
#include "ops/transformer/head_rows.hpp"

namespace attnn::experimental {

// x [B, 1, S, (nh + 2*nkv) * dh] -> q [B, nh, S, dh], k [B, nkv, S, dh] or [B, nkv, dh, S], v [B, nkv, S, dh]
std::tuple<Tensor, Tensor, Tensor> nlp_create_qkv_heads(const Tensor& x, uint32_t num_heads,
                                                        const NlpCreateQkvHeadsOptions& options) {
    const char* name = "nlp_create_qkv_heads";
    detail::DeviceImpl& device = detail::require_device(name, {{&x, "x"}});
    detail::check_floating_point(name, "x", x.dtype());
    const uint32_t num_kv_heads = options.num_kv_heads.value_or(num_heads);
    const Shape& shape = x.shape();
    ATTNN_CHECK(shape.rank() == 4 && shape[1] == 1, name, "x.shape=", shape,
                " must be [B, 1, S, (num_heads + 2 * num_kv_heads) * head_dim]");
    const uint32_t head_dim = detail::fused_qkv_head_dim(name, shape[3], num_heads, num_kv_heads);
    const uint32_t batch = shape[0], tokens = shape[2];
    const MemoryConfig config = options.memory_config.value_or(x.memory_config());
    auto allocate = [&](const Shape& s) {
        return detail::allocate_tensor(s, x.dtype(), x.layout(), config, x.device_impl(), name);
    };

    std::lock_guard lock(device.op_mutex);
    auto program =
        device.program<detail::HeadRowsProgram>(detail::ProgramKey(name)
                                                    .add(x)
                                                    .add(num_heads)
                                                    .add(num_kv_heads)
                                                    .add(options.transpose_k_heads)
                                                    .add(config),
                                                [&] {
                                                    return std::make_shared<detail::HeadRowsProgram>(
                                                        device.pool->size(), detail::split_scratch(head_dim));
                                                });
    Tensor q = allocate({batch, num_heads, tokens, head_dim});
    Tensor k = options.transpose_k_heads ? allocate({batch, num_kv_heads, head_dim, tokens})
                                         : allocate({batch, num_kv_heads, tokens, head_dim});
    Tensor v = allocate({batch, num_kv_heads, tokens, head_dim});
    detail::split_fused_qkv(device, *program, detail::matrix_view(x, name), detail::matrix_view(q, name),
                            detail::matrix_view(k, name), detail::matrix_view(v, name), num_heads,
                            num_kv_heads, head_dim, options.transpose_k_heads);
    return {q, k, v};
}

}  // namespace attnn::experimental
