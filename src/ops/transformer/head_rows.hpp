// The row moves shared by the ops that cut fused QKV rows into heads and join heads again
// (split_query_key_value_and_split_heads, concatenate_heads and TT-NN's nlp_* variants). They
// differ only in which source row and column feeds each output row, so each op passes that map.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string_view>

#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/common.hpp"

namespace attnn::detail {

// Where a head row starts in the source view.
struct HeadRowSource {
    int64_t matrix, row, col;
};

// The transposed-K path moves one tile height of tokens at a time.
constexpr int64_t head_token_block = TILE_HEIGHT;

// What every head op caches: per-worker scratch, sized by the op (one output row to gather or
// join; split_scratch for cutting fused rows).
struct HeadRowsProgram : Program {
    HeadRowsProgram(int workers, int64_t per_worker) : scratch(workers, per_worker) {}
    WorkerScratch scratch;
};

// Scratch for split_fused_qkv: a token block of one head and its transpose.
constexpr int64_t split_scratch(int64_t head_size) { return 2 * head_token_block * head_size; }

// out row r (flat over out's rows) = x values [source(r).col, + out.cols) of source(r)'s row.
template <class Source>
void gather_head_rows(DeviceImpl& device, HeadRowsProgram& program, const MatrixView& x,
                      const MatrixView& out, Source&& source) {
    parallel_rows(device, out.batch * out.rows, out.cols, [&](int64_t begin, int64_t end, int worker) {
        float* row = program.scratch.get(worker);
        for (int64_t r = begin; r < end; ++r) {
            const HeadRowSource s = source(r);
            x.read(s.matrix, s.row, s.col, out.cols, row);
            write_row(out, r, row);
        }
    });
}

// out row r = the `heads` head rows source(r, h) of x, each head_size wide, side by side.
template <class Source>
void join_head_rows(DeviceImpl& device, HeadRowsProgram& program, const MatrixView& x, const MatrixView& out,
                    int64_t heads, int64_t head_size, Source&& source) {
    parallel_rows(device, out.batch * out.rows, out.cols, [&](int64_t begin, int64_t end, int worker) {
        float* row = program.scratch.get(worker);
        for (int64_t r = begin; r < end; ++r) {
            for (int64_t h = 0; h < heads; ++h) {
                const HeadRowSource s = source(r, h);
                x.read(s.matrix, s.row, s.col, head_size, row + h * head_size);
            }
            write_row(out, r, row);
        }
    });
}

// x [b, s, ...] -> out [b, heads, s, hd]: head h of token t is x[b, t, first_col + h * hd, + hd].
inline void copy_heads(DeviceImpl& device, HeadRowsProgram& program, const MatrixView& x,
                       const MatrixView& out, int64_t heads, int64_t first_col) {
    const int64_t head_size = out.cols, tokens = out.rows;
    gather_head_rows(device, program, x, out, [&](int64_t r) {
        const int64_t token = r % tokens, head = r / tokens % heads, batch = r / tokens / heads;
        return HeadRowSource{batch, token, first_col + head * head_size};
    });
}

// x [b, s, ...] -> out [b, heads, hd, s]: the transposed K heads starting at x column first_col.
// The transposed row (b, h, d) runs over tokens, so K moves in blocks of one tile height of
// tokens: decode a [tokens x hd] block, transpose it in scratch, and write each hd row's token
// run; a block owns whole face rows of out, so workers never share one.
inline void copy_heads_transposed(DeviceImpl& device, HeadRowsProgram& program, const MatrixView& x,
                                  const MatrixView& out, int64_t heads, int64_t first_col) {
    const int64_t head_size = out.rows, tokens = out.cols;
    const int64_t blocks_per_head = (tokens + head_token_block - 1) / head_token_block;
    device.pool->parallel_for(out.batch * blocks_per_head, [&](int64_t unit, int worker) {
        const int64_t matrix = unit / blocks_per_head;  // = batch * heads + head
        const int64_t head = matrix % heads, batch = matrix / heads;
        const int64_t t0 = unit % blocks_per_head * head_token_block,
                      n = std::min(head_token_block, tokens - t0);
        float* block = program.scratch.get(worker);                // [n][head_size]
        float* transposed = block + head_token_block * head_size;  // [head_size][n]
        for (int64_t t = 0; t < n; ++t)
            x.read(batch, t0 + t, first_col + head * head_size, head_size, block + t * head_size);
        for (int64_t t = 0; t < n; ++t)
            for (int64_t d = 0; d < head_size; ++d) transposed[d * n + t] = block[t * head_size + d];
        for (int64_t d = 0; d < head_size; ++d) out.write(matrix, d, t0, n, transposed + d * n);
    });
}

// x [b, s, (nh + 2*nkv) * hd] (any leading dims folded into b) -> q, k, v head views, with k
// transposed or not.
inline void split_fused_qkv(DeviceImpl& device, HeadRowsProgram& program, const MatrixView& x,
                            const MatrixView& q, const MatrixView& k, const MatrixView& v, int64_t num_heads,
                            int64_t num_kv_heads, int64_t head_size, bool transpose_k) {
    const int64_t k_col = num_heads * head_size, v_col = k_col + num_kv_heads * head_size;
    copy_heads(device, program, x, q, num_heads, 0);
    if (transpose_k)
        copy_heads_transposed(device, program, x, k, num_kv_heads, k_col);
    else
        copy_heads(device, program, x, k, num_kv_heads, k_col);
    copy_heads(device, program, x, v, num_kv_heads, v_col);
}

inline void check_head_counts(std::string_view op, uint32_t num_heads, uint32_t num_kv_heads) {
    ATTNN_CHECK(num_heads > 0, op, "num_heads=", num_heads, " must be > 0");
    ATTNN_CHECK(num_kv_heads > 0, op, "num_kv_heads=", num_kv_heads, " must be > 0");
}

// The width of heads x head_dim joined side by side, checked to fit a 32-bit dim (the product
// would wrap in uint32 and cut every output row short).
inline uint32_t joined_width(std::string_view op, uint32_t heads, uint32_t head_dim) {
    const uint64_t width = uint64_t(heads) * head_dim;
    ATTNN_CHECK(width <= UINT32_MAX, op, "num_heads * head_dim=", heads, " * ", head_dim, " = ", width,
                " must fit a 32-bit dim (<= ", UINT32_MAX, ")");
    return uint32_t(width);
}

// The head size of a fused QKV row of `width` values, checked: width = (nh + 2*nkv) * head_dim.
inline uint32_t fused_qkv_head_dim(std::string_view op, uint32_t width, uint32_t num_heads,
                                   uint32_t num_kv_heads) {
    check_head_counts(op, num_heads, num_kv_heads);
    const uint64_t fused_heads = uint64_t(num_heads) + 2 * uint64_t(num_kv_heads);  // no uint32 wrap
    ATTNN_CHECK(width % fused_heads == 0, op, "x.shape[-1]=", width,
                " must equal (num_heads + 2 * num_kv_heads) * head_dim for num_heads=", num_heads,
                ", num_kv_heads=", num_kv_heads, " (a multiple of ", fused_heads, ")");
    return uint32_t(width / fused_heads);
}

}  // namespace attnn::detail
