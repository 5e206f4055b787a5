#include "ops/kv_cache/kv_layout.hpp"

#include <algorithm>

#include "attnn/error.hpp"
#include "core/tensor_access.hpp"
#include "kernels/kernels.hpp"

namespace attnn::detail {

KvLayout KvLayout::contiguous(const Tensor& cache) {
    KvLayout l;
    l.users_ = cache.shape()[0];
    l.heads_ = cache.shape()[1];
    l.capacity_ = cache.shape()[2];
    return l;
}

KvLayout KvLayout::paged(const Tensor& cache, const Tensor& page_table, std::string_view op) {
    require_device(op, {{&cache, "cache"}});  // before the table is read against the cache's device
    ATTNN_CHECK(page_table.shape().rank() == 2, op, "page_table must be 2-d [b, blocks_per_user], given ",
                page_table.shape());
    ATTNN_CHECK_TYPE(page_table.dtype() == DataType::INT32 || page_table.dtype() == DataType::UINT32, op,
                     "page_table.dtype must be INT32 or UINT32, given ", to_string(page_table.dtype()));
    KvLayout l;
    l.max_blocks_ = cache.shape()[0];
    l.heads_ = cache.shape()[1];
    l.block_size_ = cache.shape()[2];
    l.users_ = page_table.shape()[0];
    l.blocks_per_user_ = page_table.shape()[1];
    l.capacity_ = l.blocks_per_user_ * l.block_size_;
    l.table_ = read_index_tensor(page_table, op, "page_table", cache.device_impl().get());
    return l;
}

void KvLayout::read(const MatrixView& cache, int64_t user, int64_t head, int64_t first, int64_t n, float* dst,
                    int64_t ld) const {
    for (int64_t j = 0; j < n;) {
        auto [matrix, row] = locate(user, head, first + j);
        const int64_t run = block_size_ ? std::min(n - j, block_size_ - row) : n - j;
        cache.read_rows(matrix, row, run, dst + j * ld, ld);
        j += run;
    }
}

KvLayout::BandRun KvLayout::band_run(const MatrixView& cache, int64_t user, int64_t head, int64_t first,
                                     int64_t n) const {
    auto [matrix, row] = locate(user, head, first);
    int64_t take = std::min<int64_t>(n, TILE_HEIGHT - row % TILE_HEIGHT);
    if (block_size_) take = std::min(take, block_size_ - row);
    return {reinterpret_cast<const uint8_t*>(cache.band(matrix, row)), row % TILE_HEIGHT, take};
}

void KvLayout::stage_tiles(const MatrixView& cache, int64_t user, int64_t head, int64_t first, int64_t n,
                           uint8_t* dst) const {
    const auto& k = kernels::table();
    const int format = kernel_format(cache.dtype);
    const int64_t ld = cache.padded_cols * int64_t(cache.element_bytes());
    const int64_t band = (cache.cols + TILE_WIDTH - 1) / TILE_WIDTH * int64_t(tile_size_bytes(cache.dtype));
    for (int64_t j = 0; j < n;) {
        auto [matrix, row] = locate(user, head, first + j);
        int64_t run = std::min<int64_t>(n - j, TILE_HEIGHT - j % TILE_HEIGHT);
        if (block_size_) run = std::min(run, block_size_ - row);
        k.copy_rows_to_tiles(format, dst + j / TILE_HEIGHT * band, j % TILE_HEIGHT, run,
                             reinterpret_cast<const uint8_t*>(cache.element(matrix, row, 0)), ld, cache.cols);
        j += run;
    }
}

void KvLayout::prefetch(const MatrixView& cache, int64_t user, int64_t head, int64_t first, int64_t n) const {
    for (int64_t j = 0; j < n;) {
        auto [matrix, row] = locate(user, head, first + j);
        const int64_t run = block_size_ ? std::min(n - j, block_size_ - row) : n - j;
        cache.prefetch_rows(matrix, row, run);
        j += run;
    }
}

void KvLayout::check_positions(std::string_view op, std::string_view arg, int64_t user, int64_t first,
                               int64_t last) const {
    ATTNN_CHECK(last < capacity_, op, arg, ": position ", last, " of user ", user, " is beyond the cache (",
                capacity_, " positions per user)");
    if (block_size_ == 0) return;
    for (int64_t j = first / block_size_; j <= last / block_size_; ++j) {
        int32_t block = table_[std::size_t(user * blocks_per_user_ + j)];
        ATTNN_CHECK(block >= 0 && block < max_blocks_, op, "page_table[", user, "][", j, "]=", block,
                    " is out of range: the cache has ", max_blocks_, " blocks");
    }
}

std::vector<int32_t> read_index_tensor(const Tensor& t, std::string_view op, std::string_view arg,
                                       const DeviceImpl* op_device) {
    require_allocated(t, op, arg);
    ATTNN_CHECK_TYPE(t.dtype() == DataType::INT32 || t.dtype() == DataType::UINT32, op, arg,
                     ".dtype must be INT32 or UINT32, given ", to_string(t.dtype()));
    // On the op's device, whose lock the op holds, so an in-place update such as plus_one is
    // seen all or not at all. Another device's tensor could change mid-read under its own lock,
    // so it is refused. A host tensor has no lock to take: it is read as it stands, and like any
    // host buffer it must not be written by another thread while an op reads it.
    if (t.device_impl() && t.device_impl().get() != op_device)
        fail(ErrorKind::InvalidArgument, op, arg, " is on a different device than the op's other tensors");
    if (t.dtype() == DataType::INT32) return to_host<int32_t>(t);
    // UINT32: every value an index or position can take fits INT32; a larger one is named as
    // given (not as the negative number its bits make in INT32, which would read as -1: skip).
    const std::vector<uint32_t> u = to_host<uint32_t>(t);
    for (std::size_t i = 0; i < u.size(); ++i)
        if (u[i] > uint32_t(INT32_MAX))
            fail(ErrorKind::InvalidArgument, op, arg, element_index(t.shape(), int64_t(i)), "=", u[i],
                 " is out of range: indices and positions are below 2^31");
    return {u.begin(), u.end()};
}

std::vector<int32_t> read_index_vector(const Tensor& t, std::string_view op, std::string_view arg,
                                       const DeviceImpl* op_device) {
    ATTNN_CHECK(t.shape().rank() == 1, op, arg, " must be 1-D (one index per user), given shape ", t.shape());
    return read_index_tensor(t, op, arg, op_device);
}

}  // namespace attnn::detail
