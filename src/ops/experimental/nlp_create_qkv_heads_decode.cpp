// nlp_create_qkv_heads_decode: the decode cut of one fused QKV row per user into heads laid out
// [1, B, heads, dh], the layout decode attention and update_cache read: user b's head h is the
// run x[0, 0, b, first_col + h * dh, + dh].
#include <mutex>

#include "attnn/ops/experimental.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/common.hpp"
#include "ops/transformer/head_rows.hpp"

namespace attnn::experimental {

// x [1, 1, B, (nh + 2*nkv) * dh] -> q [1, B, nh, dh], k [1, B, nkv, dh], v [1, B, nkv, dh]
std::tuple<Tensor, Tensor, Tensor> nlp_create_qkv_heads_decode(
    const Tensor& x, uint32_t num_heads, const NlpCreateQkvHeadsDecodeOptions& options) {
    const char* name = "nlp_create_qkv_heads_decode";
    detail::DeviceImpl& device = detail::require_device(name, {{&x, "x"}});
    detail::check_floating_point(name, "x", x.dtype());
    const uint32_t num_kv_heads = options.num_kv_heads.value_or(num_heads);
    const Shape& shape = x.shape();
    ATTNN_CHECK(shape.rank() == 4 && shape[0] == 1 && shape[1] == 1, name, "x.shape=", shape,
                " must be [1, 1, B, (num_heads + 2 * num_kv_heads) * head_dim]");
    const uint32_t head_dim = detail::fused_qkv_head_dim(name, shape[3], num_heads, num_kv_heads);
    ATTNN_CHECK(num_kv_heads <= num_heads, name, "num_kv_heads=", num_kv_heads,
                " must be <= num_heads=", num_heads, " (each KV head serves one or more query heads)");
    const uint32_t users = shape[2];
    const MemoryConfig config = options.memory_config.value_or(x.memory_config());
    auto allocate = [&](uint32_t heads) {
        return detail::allocate_tensor({1, users, heads, head_dim}, x.dtype(), x.layout(), config,
                                       x.device_impl(), name);
    };

    auto lock = device.lock(name);
    auto program = device.program<detail::HeadRowsProgram>(
        detail::ProgramKey(name).add(x).add(num_heads).add(num_kv_heads).add(config),
        [&] { return std::make_shared<detail::HeadRowsProgram>(device.pool->size(), head_dim); });
    Tensor q = allocate(num_heads), k = allocate(num_kv_heads), v = allocate(num_kv_heads);
    const detail::MatrixView xv = detail::matrix_view(x, name);
    // out row r of a [1, B, heads, dh] view is (user r / heads, head r % heads).
    auto cut = [&](const Tensor& out, int64_t heads, int64_t first_col) {
        detail::gather_head_rows(device, *program, xv, detail::matrix_view(out, name), [&](int64_t r) {
            return detail::HeadRowSource{0, r / heads, first_col + r % heads * head_dim};
        });
    };
    const int64_t k_col = int64_t(num_heads) * head_dim, v_col = k_col + int64_t(num_kv_heads) * head_dim;
    cut(q, num_heads, 0);
    cut(k, num_kv_heads, k_col);
    cut(v, num_kv_heads, v_col);
    return {q, k, v};
}

}  // namespace attnn::experimental
