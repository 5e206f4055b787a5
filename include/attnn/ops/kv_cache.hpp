// KV cache writes. Each encodes into the cache's dtype (FLOAT32, BFLOAT16, BFLOAT8_B) and
// touches only the rows it writes: a cache row is a whole face row of its tiles, so the rest of
// a partly written tile stays as it was.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "attnn/tensor.hpp"

namespace attnn {

// cache [B, nkv, S, dh], input [1, nkv, s, dh] (s <= S): cache[batch_idx, :, 0:s] = input.
void fill_cache(Tensor& cache, const Tensor& input, uint32_t batch_idx);
// cache [B, nkv, S, dh], input [1, nkv, rows, dh] as TT-NN lays it out (each head's users side
// by side, rows >= batch_offset + B, e.g. padded to 32): cache[i, h, update_idx] =
// input[0, h, batch_offset + i] for every user i < B and head h.
void update_cache(Tensor& cache, const Tensor& input, uint32_t update_idx, uint32_t batch_offset = 0);

namespace experimental {

// Paged cache [max_blocks, nkv, block_size, dh]; page_table INT32 [b, blocks_per_user].
// input [1, nkv, s, dh]: positions 0..s-1 of user batch_idx.
void paged_fill_cache(Tensor& cache, const Tensor& input, const Tensor& page_table, uint32_t batch_idx);
// The same with the user read from a one-element INT32 / UINT32 tensor (TT-NN's batch_idx_tensor,
// which a traced prefill refreshes between runs instead of recapturing).
void paged_fill_cache(Tensor& cache, const Tensor& input, const Tensor& page_table,
                      const Tensor& batch_idx_tensor);

struct PagedUpdateOptions {
    std::vector<int32_t> update_idxs;          // position per user; -1 skips the user
    std::optional<Tensor> update_idxs_tensor;  // the same as an INT32 tensor [b]
    std::optional<Tensor> page_table;          // none: a contiguous cache [b, nkv, S, dh]
};
// input [1, b, nkv, dh]: writes each user's new K (or V) row at its position.
void paged_update_cache(Tensor& cache, const Tensor& input, const PagedUpdateOptions& options);

}  // namespace experimental
}  // namespace attnn
