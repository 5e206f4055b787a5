// fill_cache, update_cache and the paged variants. Every write is whole cache rows (one
// position of one head), which in TILE layout are whole face rows: re-encoding a BFLOAT8_B row
// never disturbs its neighbours, and rows written by different users never share storage.
// All checks run before the first write, so a rejected call leaves the cache untouched.
#include "attnn/ops/kv_cache.hpp"

#include <vector>

#include "attnn/error.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/kv_cache/kv_layout.hpp"

namespace attnn {

namespace {

using detail::KvLayout;
using detail::MatrixView;

void check_cache_and_input(const char* op, const Tensor& cache, const Tensor& input) {
    // Both on one device before any index tensor is read (its device is checked against the cache's).
    detail::require_device(op, {{&cache, "cache"}, {&input, "input"}});
    ATTNN_CHECK(cache.shape().rank() == 4, op, "cache must be 4-d, given cache.shape=", cache.shape());
    ATTNN_CHECK(input.shape().rank() == 4, op, "input must be 4-d, given input.shape=", input.shape());
    ATTNN_CHECK_TYPE(is_floating_point(cache.dtype()) && is_floating_point(input.dtype()), op,
                     "cache and input must be floating-point, given ", to_string(cache.dtype()), " and ",
                     to_string(input.dtype()));
    ATTNN_CHECK(cache.shape()[3] == input.shape()[3], op,
                "head dim differs: cache.shape[3]=", cache.shape()[3],
                " but input.shape[3]=", input.shape()[3]);
}

// Copies row (in_matrix, in_row) of input to (matrix, row) of the cache through fp32.
struct RowCopier {
    MatrixView in, cache;
    int64_t dh;
    void operator()(int64_t in_matrix, int64_t in_row, std::pair<int64_t, int64_t> to, float* tmp) const {
        in.read(in_matrix, in_row, 0, dh, tmp);
        cache.write(to.first, to.second, 0, dh, tmp);
    }
};

// Writes input [1, nkv, s, dh] as positions 0..s-1 of `user`.
void fill(const char* op, Tensor& cache, const Tensor& input, const KvLayout& layout, uint32_t user) {
    detail::DeviceImpl& device = detail::require_device(op, {{&cache, "cache"}, {&input, "input"}});
    const int64_t heads = input.shape()[1], s = input.shape()[2], dh = input.shape()[3];
    ATTNN_CHECK(input.shape()[0] == 1, op,
                "input must be [1, nkv, s, dh], given input.shape=", input.shape());
    ATTNN_CHECK(heads == layout.heads(), op, "input.shape[1]=", heads, " must equal the cache's KV heads ",
                layout.heads());
    ATTNN_CHECK(user < layout.users(), op, "batch_idx=", user, " is out of range for ", layout.users(),
                " users");
    layout.check_positions(op, "input.shape[2]", user, 0, s - 1);
    auto lock = device.lock(op);
    RowCopier copy{detail::matrix_view(input, op), detail::matrix_view(cache, op), dh};
    std::vector<std::vector<float>> rows(std::size_t(device.pool->size()),
                                         std::vector<float>(std::size_t(dh)));
    device.pool->parallel_for(heads, [&](int64_t h, int worker) {
        for (int64_t pos = 0; pos < s; ++pos)
            copy(h, pos, layout.locate(user, h, pos), rows[std::size_t(worker)].data());
    });
}

// Writes one new row per (user, head) at positions[user] (-1: skipped); the input row of user i,
// head h is (matrix, row) = source(i, h). The input's shape is checked by the caller.
template <class Source>
void update(const char* op, const char* positions_arg, Tensor& cache, const Tensor& input,
            const KvLayout& layout, const std::vector<int32_t>& positions, Source source) {
    detail::DeviceImpl& device = detail::require_device(op, {{&cache, "cache"}, {&input, "input"}});
    const int64_t users = int64_t(positions.size()), heads = layout.heads(), dh = input.shape()[3];
    ATTNN_CHECK(users <= layout.users(), op, "input has b=", users, " users but the ",
                layout.is_paged() ? "page_table addresses " : "cache holds ", layout.users());
    for (int64_t i = 0; i < users; ++i) {
        int32_t pos = positions[std::size_t(i)];
        ATTNN_CHECK(pos >= -1, op, positions_arg, "[", i, "]=", pos,
                    "; expected >= 0, or -1 to skip the user");
        if (pos >= 0) layout.check_positions(op, positions_arg, i, pos, pos);  // the one row written
    }
    auto lock = device.lock(op);
    RowCopier copy{detail::matrix_view(input, op), detail::matrix_view(cache, op), dh};
    // Any batch size: one task per user, each writing only its own rows (TT-NN #52671).
    std::vector<std::vector<float>> rows(std::size_t(device.pool->size()),
                                         std::vector<float>(std::size_t(dh)));
    device.pool->parallel_for(users, [&](int64_t i, int worker) {
        const int32_t pos = positions[std::size_t(i)];
        if (pos < 0) return;
        for (int64_t h = 0; h < heads; ++h) {
            auto [matrix, row] = source(i, h);
            copy(matrix, row, layout.locate(i, h, pos), rows[std::size_t(worker)].data());
        }
    });
}

}  // namespace

void fill_cache(Tensor& cache, const Tensor& input, uint32_t batch_idx) {
    const char* op = "fill_cache";
    check_cache_and_input(op, cache, input);
    fill(op, cache, input, KvLayout::contiguous(cache), batch_idx);
}

void update_cache(Tensor& cache, const Tensor& input, uint32_t update_idx, uint32_t batch_offset) {
    const char* op = "update_cache";
    check_cache_and_input(op, cache, input);
    // TT-NN's layout: input [1, nkv, rows, dh], users side by side in a head's rows (padded to a
    // tile's 32), user i at row batch_offset + i.
    const Shape& in = input.shape();
    const int64_t users = cache.shape()[0];
    ATTNN_CHECK(in[0] == 1 && in[1] == cache.shape()[1], op,
                "input must be [1, nkv, rows, dh] with the cache's nkv=", cache.shape()[1],
                " KV heads, given input.shape=", in);
    ATTNN_CHECK(int64_t(batch_offset) + users <= int64_t(in[2]), op, "input.shape[2]=", in[2],
                " rows must hold the cache's ", users, " users from batch_offset=", batch_offset);
    ATTNN_CHECK(update_idx < cache.shape()[2], op, "update_idx=", update_idx, " is beyond the cache's ",
                cache.shape()[2], " positions");
    update(op, "update_idx", cache, input, KvLayout::contiguous(cache),
           std::vector<int32_t>(std::size_t(users), int32_t(update_idx)), [&](int64_t i, int64_t h) {
               return std::pair<int64_t, int64_t>{h, batch_offset + i};
           });
}

namespace experimental {

void paged_fill_cache(Tensor& cache, const Tensor& input, const Tensor& page_table, uint32_t batch_idx) {
    const char* op = "paged_fill_cache";
    check_cache_and_input(op, cache, input);
    detail::require_allocated(page_table, op, "page_table");
    detail::DeviceLocks lock(op, cache.device_impl().get());  // the page table read as written
    fill(op, cache, input, KvLayout::paged(cache, page_table, op), batch_idx);
}

void paged_fill_cache(Tensor& cache, const Tensor& input, const Tensor& page_table,
                      const Tensor& batch_idx_tensor) {
    const char* op = "paged_fill_cache";
    check_cache_and_input(op, cache, input);
    detail::DeviceLocks lock(op, cache.device_impl().get());  // the index read as written
    const std::vector<int32_t> idx =
        detail::read_index_vector(batch_idx_tensor, op, "batch_idx_tensor", cache.device_impl().get());
    ATTNN_CHECK(
        idx.size() == 1, op,
        "batch_idx_tensor must hold one user index, given batch_idx_tensor.shape=", batch_idx_tensor.shape());
    ATTNN_CHECK(idx[0] >= 0, op, "batch_idx_tensor holds ", idx[0], ", a user index must be >= 0");
    paged_fill_cache(cache, input, page_table, uint32_t(idx[0]));
}

void paged_update_cache(Tensor& cache, const Tensor& input, const PagedUpdateOptions& options) {
    const char* op = "paged_update_cache";
    check_cache_and_input(op, cache, input);
    detail::DeviceLocks lock(op, cache.device_impl().get());  // positions and page table read as written
    std::vector<int32_t> positions = options.update_idxs;
    if (options.update_idxs_tensor) {
        ATTNN_CHECK(options.update_idxs.empty(), op, "give update_idxs or update_idxs_tensor, not both");
        positions = detail::read_index_vector(*options.update_idxs_tensor, op, "update_idxs_tensor",
                                              cache.device_impl().get());
    }
    if (options.page_table) detail::require_allocated(*options.page_table, op, "page_table");
    KvLayout layout =
        options.page_table ? KvLayout::paged(cache, *options.page_table, op) : KvLayout::contiguous(cache);
    // input [1, b, nkv, dh], as nlp_create_qkv_heads_decode gives K and V.
    const Shape& in = input.shape();
    ATTNN_CHECK(in[0] == 1 && in[2] == uint32_t(layout.heads()), op,
                "input must be [1, b, nkv, dh] with the cache's nkv=", layout.heads(),
                " KV heads, given input.shape=", in);
    const char* positions_arg = options.update_idxs_tensor ? "update_idxs_tensor" : "update_idxs";
    ATTNN_CHECK(options.update_idxs_tensor || !positions.empty(), op,
                "needs the users' positions: give update_idxs or update_idxs_tensor");
    ATTNN_CHECK(int64_t(positions.size()) == int64_t(in[1]), op, positions_arg,
                " must hold one position per user: given ", positions.size(), " for input.shape[1]=", in[1],
                " users");
    update(op, positions_arg, cache, input, layout, positions, [](int64_t i, int64_t h) {
        return std::pair<int64_t, int64_t>{i, h};
    });
}

}  // namespace experimental
}  // namespace attnn
