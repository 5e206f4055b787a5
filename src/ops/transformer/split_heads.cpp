// split_query_key_value_and_split_heads: each token's fused row [q heads | k heads | v heads]
// is cut into head rows. Q, V (and K untransposed) rows are one contiguous run of the token's
// row. The transposed K row (b, h, d) runs over tokens, so K is moved in blocks of one tile
// height of tokens: decode a [tokens x head_size] block, transpose it in scratch, and write
// each head_size row's token run; a block owns whole face rows of K, so workers never share one.
#include <algorithm>
#include <mutex>

#include "attnn/ops/transformer.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/common.hpp"

namespace attnn::transformer {

namespace {

using detail::MatrixView;

constexpr int64_t token_block = TILE_HEIGHT;

struct SplitHeadsProgram : detail::Program {
    SplitHeadsProgram(int workers, int64_t head_size) : scratch(workers, 2 * token_block * head_size) {}
    detail::WorkerScratch scratch;  // per worker: a token block and its transpose
};

// x [b, s, ...] -> out [b, heads, s, hd]: head h of token t is x[b, t, first_col + h * hd, + hd].
void copy_heads(detail::DeviceImpl& device, SplitHeadsProgram& program, const MatrixView& x, const MatrixView& out,
                int64_t heads, int64_t first_col) {
    const int64_t head_size = out.cols, tokens = out.rows;
    detail::parallel_rows(device, out.batch * out.rows, head_size, [&](int64_t begin, int64_t end, int worker) {
        float* row = program.scratch.get(worker);
        for (int64_t r = begin; r < end; ++r) {
            const int64_t token = r % tokens, head = r / tokens % heads, batch = r / tokens / heads;
            x.read(batch, token, first_col + head * head_size, head_size, row);
            detail::write_row(out, r, row);
        }
    });
}

// x [b, s, ...] -> out [b, heads, hd, s]: the transposed K heads starting at x column first_col.
void copy_heads_transposed(detail::DeviceImpl& device, SplitHeadsProgram& program, const MatrixView& x,
                           const MatrixView& out, int64_t heads, int64_t first_col) {
    const int64_t head_size = out.rows, tokens = out.cols;
    const int64_t blocks_per_head = (tokens + token_block - 1) / token_block;
    device.pool->parallel_for(out.batch * blocks_per_head, [&](int64_t unit, int worker) {
        const int64_t matrix = unit / blocks_per_head;  // = batch * heads + head
        const int64_t head = matrix % heads, batch = matrix / heads;
        const int64_t t0 = unit % blocks_per_head * token_block, n = std::min(token_block, tokens - t0);
        float* block = program.scratch.get(worker);  // [n][head_size]
        float* transposed = block + token_block * head_size;  // [head_size][n]
        for (int64_t t = 0; t < n; ++t) x.read(batch, t0 + t, first_col + head * head_size, head_size, block + t * head_size);
        for (int64_t t = 0; t < n; ++t)
            for (int64_t d = 0; d < head_size; ++d) transposed[d * n + t] = block[t * head_size + d];
        for (int64_t d = 0; d < head_size; ++d) out.write(matrix, d, t0, n, transposed + d * n);
    });
}

}  // namespace

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
    ATTNN_CHECK(shape.rank() == 3, name, "x.shape=", shape, " must have rank 3: [b, s, (num_heads + 2 * num_kv_heads) * head_size]");
    const uint32_t fused_heads = num_heads + 2 * num_kv_heads;
    ATTNN_CHECK(shape[2] % fused_heads == 0, name, "x.shape[-1]=", shape[2],
                " must be divisible by num_heads + 2 * num_kv_heads = ", num_heads, " + 2 * ", num_kv_heads, " = ",
                fused_heads);
    const uint32_t batch = shape[0], tokens = shape[1], head_size = shape[2] / fused_heads;
    const MemoryConfig config = options.memory_config.value_or(x.memory_config());
    auto allocate = [&](const Shape& s) {
        return detail::allocate_tensor(s, x.dtype(), x.layout(), config, x.device_impl(), name);
    };

    std::lock_guard lock(device.op_mutex);
    auto program = device.program<SplitHeadsProgram>(
        detail::ProgramKey(name).add(x).add(num_heads).add(num_kv_heads).add(options.transpose_key),
        [&] { return std::make_shared<SplitHeadsProgram>(device.pool->size(), head_size); });
    Tensor q = allocate({batch, num_heads, tokens, head_size});
    Tensor k = options.transpose_key ? allocate({batch, num_kv_heads, head_size, tokens})
                                     : allocate({batch, num_kv_heads, tokens, head_size});
    Tensor v = allocate({batch, num_kv_heads, tokens, head_size});
    const MatrixView xv = detail::matrix_view(x, name);
    const int64_t k_col = int64_t(num_heads) * head_size, v_col = k_col + int64_t(num_kv_heads) * head_size;
    copy_heads(device, *program, xv, detail::matrix_view(q, name), num_heads, 0);
    if (options.transpose_key)
        copy_heads_transposed(device, *program, xv, detail::matrix_view(k, name), num_kv_heads, k_col);
    else
        copy_heads(device, *program, xv, detail::matrix_view(k, name), num_kv_heads, k_col);
    copy_heads(device, *program, xv, detail::matrix_view(v, name), num_kv_heads, v_col);
    return {q, k, v};
}

}  // namespace attnn::transformer
