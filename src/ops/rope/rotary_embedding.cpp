// rotary_embedding: TT-NN's older RoPE op, with the rotate-half pairing (k, k + dh/2) that
// Hugging Face Llama checkpoints use: out = x * cos + rotate_half(x) * sin, where
// rotate_half(x) = cat(-x[dh/2:], x[:dh/2]). Row t of x (its index along dim -2) takes position t
// of the caches, or every row takes token_index when given (tt-metal
// ttnn/cpp/ttnn/operations/experimental/transformer/rotary_embedding).
#include <mutex>

#include "attnn/ops/experimental.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/common.hpp"
#include "ops/rope/rope_rows.hpp"

namespace attnn::experimental {

// x [..., s, dh], cos_cache/sin_cache [1, 1, max_seq, dh] -> [..., s, dh]
Tensor rotary_embedding(const Tensor& x, const Tensor& cos_cache, const Tensor& sin_cache,
                        const RotaryEmbeddingOptions& options) {
    const char* name = "rotary_embedding";
    detail::DeviceImpl& device =
        detail::check_rope_inputs(name, x, cos_cache, sin_cache, "cos_cache", "sin_cache");
    const Shape& shape = x.shape();
    const Shape& cs = cos_cache.shape();
    const uint32_t head_dim = shape[-1], tokens = shape[-2], max_seq = cs[2];
    ATTNN_CHECK(cs[0] == 1 && cs[1] == 1, name, "cos_cache.shape=", cs,
                " must be [1, 1, max_seq, head_dim=", head_dim, "]");
    if (options.token_index)
        ATTNN_CHECK(*options.token_index < max_seq, name, "token_index=", *options.token_index,
                    " must be < cos_cache.shape[2]=", max_seq);
    else
        ATTNN_CHECK(tokens <= max_seq, name, "x.shape[-2]=", tokens,
                    " (positions 0..s-1) must be <= cos_cache.shape[2]=", max_seq);
    const MemoryConfig config = options.memory_config.value_or(x.memory_config());

    auto lock = device.lock(name);
    auto program = device.program<detail::RopeProgram>(
        detail::ProgramKey(name)
            .add(x)
            .add(cos_cache)
            .add(sin_cache)
            .add(options.token_index.has_value())
            .add(config),
        [&] { return std::make_shared<detail::RopeProgram>(device.pool->size(), head_dim); });
    Tensor out = detail::allocate_tensor(shape, x.dtype(), x.layout(), config, x.device_impl(), name);

    const detail::MatrixView xv = detail::matrix_view(x, name);
    const int64_t half = head_dim / 2, x_rows = xv.rows;
    const std::optional<uint32_t> token_index = options.token_index;
    auto cos_row = [&](int64_t r) -> std::pair<int64_t, int64_t> {
        return {0, token_index ? int64_t(*token_index) : r % x_rows};
    };
    auto rotate_half = [&](const float* src, float* dst) {
        for (int64_t k = 0; k < half; ++k) {
            dst[k] = -src[k + half];
            dst[k + half] = src[k];
        }
    };
    // Without token_index every matrix's row t takes position t; with it every row takes one.
    const detail::RopeRowOrder order{xv.batch, xv.rows, !token_index};
    detail::apply_rope_rows(device, *program, xv, detail::matrix_view(cos_cache, name),
                            detail::matrix_view(sin_cache, name), detail::matrix_view(out, name), order,
                            cos_row, rotate_half);
    return out;
}

}  // namespace attnn::experimental
