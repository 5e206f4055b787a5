// Where a cached position lives: a contiguous cache [b, nkv, S, dh], or a paged cache
// [max_blocks, nkv, block_size, dh] whose page table maps user i's j-th block to a cache block
// (vLLM's block-table indirection).
#pragma once
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "attnn/tensor.hpp"
#include "core/tensor_access.hpp"

namespace attnn::detail {

class KvLayout {
  public:
    // A contiguous cache: user i is cache[i].
    static KvLayout contiguous(const Tensor& cache);
    // A paged cache; `op` names the caller in errors.
    static KvLayout paged(const Tensor& cache, const Tensor& page_table, std::string_view op);

    int64_t users() const { return users_; }        // users the layout addresses
    int64_t capacity() const { return capacity_; }  // positions per user
    int64_t heads() const { return heads_; }
    bool is_paged() const { return block_size_ > 0; }
    int64_t block_size() const { return block_size_; }

    // (matrix, row) of the cache's MatrixView holding (user, KV head, position).
    std::pair<int64_t, int64_t> locate(int64_t user, int64_t head, int64_t position) const {
        if (block_size_ == 0) return {user * heads_ + head, position};
        int64_t block = table_[std::size_t(user * blocks_per_user_ + position / block_size_)];
        return {block * heads_ + head, position % block_size_};
    }
    // Decodes positions [first, first + n) of (user, head) from `cache` into rows of dst (stride
    // ld >= the cache's padded row), a contiguous run of rows at a time.
    void read(const MatrixView& cache, int64_t user, int64_t head, int64_t first, int64_t n, float* dst,
              int64_t ld) const;
    // The run of positions [first, first + run.n) that one band of 32x32 tiles holds (TILE
    // caches), 1 <= run.n <= n: the band's first tile and the run's first row in it. Flash
    // decode reads K and V through these, straight from the tiles.
    struct BandRun {
        const uint8_t* band;
        int64_t row, n;
    };
    BandRun band_run(const MatrixView& cache, int64_t user, int64_t head, int64_t first, int64_t n) const;
    // A ROW_MAJOR FLOAT32 or BFLOAT16 cache's positions [first, first + n) of (user, head)
    // copied into tile bands at dst as TILE storage lays them out (band j holds positions
    // first + 32 j .., each band ceil(dh / 32) tiles), so the kernels read them as they read a
    // TILE cache's bands. Columns past dh are zeros; rows past n keep what they held (the
    // kernels use a band's run of rows only, as they do in a TILE cache).
    void stage_tiles(const MatrixView& cache, int64_t user, int64_t head, int64_t first, int64_t n,
                     uint8_t* dst) const;
    // Starts loading positions [first, first + n) of (user, head) into the caches (see
    // MatrixView::prefetch_rows).
    void prefetch(const MatrixView& cache, int64_t user, int64_t head, int64_t first, int64_t n) const;
    // Checks that positions [first, last] of `user` (those an op reads or writes) lie in the
    // cache and map to existing blocks; blocks outside them may be unmapped (a sliding window's
    // released blocks).
    void check_positions(std::string_view op, std::string_view arg, int64_t user, int64_t first,
                         int64_t last) const;

  private:
    int64_t users_ = 0, capacity_ = 0, heads_ = 0, block_size_ = 0, blocks_per_user_ = 0, max_blocks_ = 0;
    std::vector<int32_t> table_;
};

// Host copy of an INT32 or UINT32 index tensor (cur_pos_tensor, update_idxs_tensor, a page
// table), which must live on op_device (whose op lock the caller holds) or on the host (read
// unlocked: the caller must not write it meanwhile); UINT32 values past INT32 are errors naming
// them as given.
std::vector<int32_t> read_index_tensor(const Tensor& t, std::string_view op, std::string_view arg,
                                       const DeviceImpl* op_device);
// The same for a list of indices (cur_pos_tensor, update_idxs_tensor, batch_idx_tensor), which
// TT-NN takes 1-D: [b], or [1] for one user.
std::vector<int32_t> read_index_vector(const Tensor& t, std::string_view op, std::string_view arg,
                                       const DeviceImpl* op_device);

}  // namespace attnn::detail
