// nlp_create_qkv_heads: the prefill cut of a fused QKV projection into Q, K and V heads. The
// input is 4-D with a unit second dim ([B, 1, S, fused]), so its view is the same [B][S] rows as
// split_query_key_value_and_split_heads' [B, S, fused], and the moves are shared
// (ops/transformer/head_rows.hpp). With input_kv, Q comes from x and K, V from input_kv, in
// input_kv's dtype and layout.
#include <mutex>

#include "attnn/ops/experimental.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/common.hpp"
#include "ops/transformer/head_rows.hpp"

namespace attnn::experimental {

// x [B, 1, S, (nh + 2*nkv) * dh] (or [B, 1, S, nh * dh] with input_kv [B, 1, S, 2*nkv * dh])
//   -> q [B, nh, S, dh], k [B, nkv, dh, S] or [B, nkv, S, dh], v [B, nkv, S, dh]
std::tuple<Tensor, Tensor, Tensor> nlp_create_qkv_heads(const Tensor& x, uint32_t num_heads,
                                                        const NlpCreateQkvHeadsOptions& options) {
    const char* name = "nlp_create_qkv_heads";
    const Tensor* input_kv = options.input_kv ? &*options.input_kv : nullptr;
    detail::DeviceImpl& device = input_kv ? detail::require_device(name, {{&x, "x"}, {input_kv, "input_kv"}})
                                          : detail::require_device(name, {{&x, "x"}});
    detail::check_floating_point(name, "x", x.dtype());
    const uint32_t num_kv_heads = options.num_kv_heads.value_or(num_heads);
    const Shape& shape = x.shape();
    uint32_t head_dim = 0;
    if (input_kv) {
        ATTNN_CHECK(shape.rank() == 4 && shape[1] == 1, name, "x.shape=", shape,
                    " must be [B, 1, S, num_heads * head_dim] when input_kv is given");
        detail::check_head_counts(name, num_heads, num_kv_heads);
        ATTNN_CHECK(shape[3] % num_heads == 0, name, "x.shape[-1]=", shape[3],
                    " must equal num_heads * head_dim for num_heads=", num_heads, " when input_kv is given");
        head_dim = shape[3] / num_heads;
        detail::check_floating_point(name, "input_kv", input_kv->dtype());
        const uint64_t kv_width = 2 * uint64_t(num_kv_heads) * head_dim;  // no uint32 wrap
        const Shape& kv = input_kv->shape();
        ATTNN_CHECK(
            kv.rank() == 4 && kv[0] == shape[0] && kv[1] == 1 && kv[2] == shape[2] && kv[3] == kv_width, name,
            "input_kv.shape=", kv, " must be [", shape[0], ", 1, ", shape[2], ", ", kv_width,
            "]: [B, 1, S, 2 * num_kv_heads * head_dim] for num_kv_heads=", num_kv_heads,
            ", head_dim=", head_dim);
    } else {
        ATTNN_CHECK(shape.rank() == 4 && shape[1] == 1, name, "x.shape=", shape,
                    " must be [B, 1, S, (num_heads + 2 * num_kv_heads) * head_dim]");
        head_dim = detail::fused_qkv_head_dim(name, shape[3], num_heads, num_kv_heads);
    }
    const uint32_t batch = shape[0], tokens = shape[2];
    const MemoryConfig config = options.memory_config.value_or(x.memory_config());
    // K and V take input_kv's dtype and layout, as in split_query_key_value_and_split_heads (TT-NN
    // refuses an input_kv whose dtype differs from x's; attnn converts nothing silently instead).
    const Tensor& kv_source = input_kv ? *input_kv : x;
    auto allocate = [&](const Shape& s, const Tensor& like) {
        return detail::allocate_tensor(s, like.dtype(), like.layout(), config, x.device_impl(), name);
    };

    auto lock = device.lock(name);
    detail::ProgramKey key(name);
    key.add(x)
        .add(num_heads)
        .add(num_kv_heads)
        .add(options.transpose_k_heads)
        .add(config)
        .add(bool(input_kv));
    if (input_kv) key.add(*input_kv);
    auto program = device.program<detail::HeadRowsProgram>(key, [&] {
        return std::make_shared<detail::HeadRowsProgram>(device.pool->size(),
                                                         detail::split_scratch(head_dim));
    });
    Tensor q = allocate({batch, num_heads, tokens, head_dim}, x);
    Tensor k = options.transpose_k_heads ? allocate({batch, num_kv_heads, head_dim, tokens}, kv_source)
                                         : allocate({batch, num_kv_heads, tokens, head_dim}, kv_source);
    Tensor v = allocate({batch, num_kv_heads, tokens, head_dim}, kv_source);
    const detail::MatrixView xv = detail::matrix_view(x, name), qv = detail::matrix_view(q, name),
                             kv = detail::matrix_view(k, name), vv = detail::matrix_view(v, name);
    if (!input_kv) {
        detail::split_fused_qkv(device, *program, xv, qv, kv, vv, num_heads, num_kv_heads, head_dim,
                                options.transpose_k_heads);
        return {q, k, v};
    }
    const detail::MatrixView kv_in = detail::matrix_view(*input_kv, name);
    const int64_t v_col = int64_t(num_kv_heads) * head_dim;
    detail::copy_heads(device, *program, xv, qv, num_heads, 0);
    if (options.transpose_k_heads)
        detail::copy_heads_transposed(device, *program, kv_in, kv, num_kv_heads, 0);
    else
        detail::copy_heads(device, *program, kv_in, kv, num_kv_heads, 0);
    detail::copy_heads(device, *program, kv_in, vv, num_kv_heads, v_col);
    return {q, k, v};
}

}  // namespace attnn::experimental
