// split_query_key_value_and_split_heads: each token's fused row [q heads | k heads | v heads]
// is cut into head rows (ops/transformer/head_rows.hpp does the moves).
#include <mutex>

#include "attnn/ops/transformer.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/common.hpp"
#include "ops/transformer/head_rows.hpp"

namespace attnn::transformer {

// x [b, s, (nh + 2 * nkv) * hd] -> q [b, nh, s, hd], k [b, nkv, hd, s] or [b, nkv, s, hd], v [b, nkv, s, hd];
// with a kv_input_tensor [b, s_kv, 2 * nkv * hd], x [b, s, nh * hd] holds only Q.
std::tuple<Tensor, Tensor, Tensor> split_query_key_value_and_split_heads(const Tensor& x, uint32_t num_heads,
                                                                         const SplitHeadsOptions& options) {
    const char* name = "split_query_key_value_and_split_heads";
    const Tensor* kv_input = options.kv_input_tensor ? &*options.kv_input_tensor : nullptr;
    detail::DeviceImpl& device = kv_input ? detail::require_device(name, {{&x, "x"}, {kv_input, "kv_input_tensor"}})
                                          : detail::require_device(name, {{&x, "x"}});
    detail::check_floating_point(name, "x", x.dtype());
    const uint32_t num_kv_heads = options.num_kv_heads.value_or(num_heads);
    ATTNN_CHECK(num_heads > 0, name, "num_heads=", num_heads, " must be > 0");
    ATTNN_CHECK(num_kv_heads > 0, name, "num_kv_heads=", num_kv_heads, " must be > 0");
    const Shape& shape = x.shape();
    ATTNN_CHECK(shape.rank() == 3, name, "x.shape=", shape, " must have rank 3: ",
                kv_input ? "[b, s, num_heads * head_size] (with kv_input_tensor)"
                         : "[b, s, (num_heads + 2 * num_kv_heads) * head_size]");
    uint32_t head_size = 0, kv_tokens = shape[1];
    if (!kv_input) {
        const uint64_t fused_heads = uint64_t(num_heads) + 2 * uint64_t(num_kv_heads);  // no uint32 wrap
        ATTNN_CHECK(shape[2] % fused_heads == 0, name, "x.shape[-1]=", shape[2],
                    " must be divisible by num_heads + 2 * num_kv_heads = ", num_heads, " + 2 * ", num_kv_heads,
                    " = ", fused_heads);
        head_size = uint32_t(shape[2] / fused_heads);
    } else {
        detail::check_floating_point(name, "kv_input_tensor", kv_input->dtype());
        ATTNN_CHECK(shape[2] % num_heads == 0, name, "x.shape[-1]=", shape[2], " must be divisible by num_heads=",
                    num_heads, " (with kv_input_tensor, x holds only the Q heads)");
        head_size = shape[2] / num_heads;
        const Shape& kv = kv_input->shape();
        const uint64_t kv_width = 2 * uint64_t(num_kv_heads) * head_size;
        ATTNN_CHECK(kv.rank() == 3 && kv[0] == shape[0] && kv[2] == kv_width, name,
                    "kv_input_tensor.shape=", kv, " must be [b, s_kv, 2 * num_kv_heads * head_size] = [",
                    shape[0], ", s_kv, ", kv_width, "] for x.shape=", shape, ", num_heads=", num_heads,
                    ", num_kv_heads=", num_kv_heads);
        kv_tokens = kv[1];
    }
    const uint32_t batch = shape[0], tokens = shape[1];
    const Tensor& kv_source = kv_input ? *kv_input : x;
    const MemoryConfig config = options.memory_config.value_or(x.memory_config());
    auto allocate = [&](const Shape& s, const Tensor& like) {
        return detail::allocate_tensor(s, like.dtype(), like.layout(), config, x.device_impl(), name);
    };

    auto lock = device.lock(name);
    detail::ProgramKey key(name);
    key.add(x).add(num_heads).add(num_kv_heads).add(options.transpose_key).add(kv_input != nullptr);
    if (kv_input) key.add(*kv_input);
    auto program = device.program<detail::HeadRowsProgram>(key, [&] {
        return std::make_shared<detail::HeadRowsProgram>(device.pool->size(), detail::split_scratch(head_size));
    });
    Tensor q = allocate({batch, num_heads, tokens, head_size}, x);
    Tensor k = options.transpose_key ? allocate({batch, num_kv_heads, head_size, kv_tokens}, kv_source)
                                     : allocate({batch, num_kv_heads, kv_tokens, head_size}, kv_source);
    Tensor v = allocate({batch, num_kv_heads, kv_tokens, head_size}, kv_source);
    const detail::MatrixView xv = detail::matrix_view(x, name), qv = detail::matrix_view(q, name),
                             kview = detail::matrix_view(k, name), vview = detail::matrix_view(v, name);
    if (!kv_input) {
        detail::split_fused_qkv(device, *program, xv, qv, kview, vview, num_heads, num_kv_heads, head_size,
                                options.transpose_key);
    } else {
        const detail::MatrixView kvv = detail::matrix_view(*kv_input, name);
        detail::copy_heads(device, *program, xv, qv, num_heads, 0);
        if (options.transpose_key)
            detail::copy_heads_transposed(device, *program, kvv, kview, num_kv_heads, 0);
        else
            detail::copy_heads(device, *program, kvv, kview, num_kv_heads, 0);
        detail::copy_heads(device, *program, kvv, vview, num_kv_heads, int64_t(num_kv_heads) * head_size);
    }
    return {q, k, v};
}

}  // namespace attnn::transformer
