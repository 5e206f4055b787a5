// split_query_key_value_and_split_heads: each token's fused row [q heads | k heads | v heads]
// is cut into head rows (ops/transformer/head_rows.hpp does the moves).
#include <mutex>

#include "attnn/ops/transformer.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/common.hpp"
#include "ops/transformer/head_rows.hpp"

namespace attnn::transformer {

// x [b, s, (nh + 2 * nkv) * hd] -> q [b, nh, s, hd], k [b, nkv, hd, s] or [b, nkv, s, hd], v [b, nkv, s, hd]
std::tuple<Tensor, Tensor, Tensor> split_query_key_value_and_split_heads(const Tensor& x, uint32_t num_heads,
                                                                         const SplitHeadsOptions& options) {
    const char* name = "split_query_key_value_and_split_heads";
    detail::DeviceImpl& device = detail::require_device(name, {{&x, "x"}});
    detail::check_floating_point(name, "x", x.dtype());
    const uint32_t num_kv_heads = options.num_kv_heads.value_or(num_heads);
    ATTNN_CHECK(num_heads > 0, name, "num_heads=", num_heads, " must be > 0");
    ATTNN_CHECK(num_kv_heads > 0, name, "num_kv_heads=", num_kv_heads, " must be > 0");
    const Shape& shape = x.shape();
    ATTNN_CHECK(shape.rank() == 3, name, "x.shape=", shape,
                " must have rank 3: [b, s, (num_heads + 2 * num_kv_heads) * head_size]");
    const uint32_t fused_heads = num_heads + 2 * num_kv_heads;
    ATTNN_CHECK(shape[2] % fused_heads == 0, name, "x.shape[-1]=", shape[2],
                " must be divisible by num_heads + 2 * num_kv_heads = ", num_heads, " + 2 * ", num_kv_heads,
                " = ", fused_heads);
    const uint32_t batch = shape[0], tokens = shape[1], head_size = shape[2] / fused_heads;
    const MemoryConfig config = options.memory_config.value_or(x.memory_config());
    auto allocate = [&](const Shape& s) {
        return detail::allocate_tensor(s, x.dtype(), x.layout(), config, x.device_impl(), name);
    };

    std::lock_guard lock(device.op_mutex);
    auto program = device.program<detail::HeadRowsProgram>(
        detail::ProgramKey(name).add(x).add(num_heads).add(num_kv_heads).add(options.transpose_key), [&] {
            return std::make_shared<detail::HeadRowsProgram>(device.pool->size(),
                                                             detail::split_scratch(head_size));
        });
    Tensor q = allocate({batch, num_heads, tokens, head_size});
    Tensor k = options.transpose_key ? allocate({batch, num_kv_heads, head_size, tokens})
                                     : allocate({batch, num_kv_heads, tokens, head_size});
    Tensor v = allocate({batch, num_kv_heads, tokens, head_size});
    detail::split_fused_qkv(device, *program, detail::matrix_view(x, name), detail::matrix_view(q, name),
                            detail::matrix_view(k, name), detail::matrix_view(v, name), num_heads,
                            num_kv_heads, head_size, options.transpose_key);
    return {q, k, v};
}

}  // namespace attnn::transformer
