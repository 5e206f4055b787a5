#include <cmath>
#include <string>
#include <tuple>

#include "core/buffer.hpp"
#include "test_util.hpp"

namespace attnn {
namespace {

using testing::expect_error;
using testing::random_values;
using testing::test_device;

Tensor make(const std::vector<uint32_t>& dims, DataType dtype, uint32_t seed) {
    Shape shape(dims);
    auto v = random_values(shape.volume(), seed, -2.0f, 2.0f);
    return from_host(std::span<const float>(v), shape,
                     {.dtype = dtype, .layout = Layout::TILE, .device = test_device()});
}

std::vector<uint8_t> bytes(const Tensor& t) {
    auto* p = reinterpret_cast<const uint8_t*>(t.buffer()->data);
    return {p, p + t.buffer()->size};
}

class CacheDtypes : public ::testing::TestWithParam<DataType> {};

TEST_P(CacheDtypes, FillCacheWritesOneUserAndLeavesTheRest) {
    const DataType dtype = GetParam();
    const uint32_t B = 3, nkv = 2, S = 70, dh = 48, s = 37;
    Tensor cache = make({B, nkv, S, dh}, dtype, 1);
    auto before = to_host<float>(cache);
    Tensor input = make({1, nkv, s, dh}, DataType::FLOAT32, 2);
    fill_cache(cache, input, 1);
    auto after = to_host<float>(cache);
    // What the cache holds for the input is the input encoded in the cache's dtype.
    auto encoded = to_host<float>(typecast(input, dtype));
    for (uint32_t i = 0; i < B; ++i)
        for (uint32_t h = 0; h < nkv; ++h)
            for (uint32_t p = 0; p < S; ++p)
                for (uint32_t d = 0; d < dh; ++d) {
                    std::size_t at = ((std::size_t(i) * nkv + h) * S + p) * dh + d;
                    float want = (i == 1 && p < s) ? encoded[(std::size_t(h) * s + p) * dh + d] : before[at];
                    ASSERT_EQ(after[at], want) << i << " " << h << " " << p << " " << d;
                }
}

// update_cache takes TT-NN's layout, input [1, nkv, rows, dh]: user i of head h is row
// batch_offset + i (rows padded past the users, as a tile's 32 are).
TEST_P(CacheDtypes, UpdateCacheWritesOneRowPerUser) {
    const DataType dtype = GetParam();
    for (auto [B, rows, offset] : {std::tuple<uint32_t, uint32_t, uint32_t>{33, 33, 0},  // batch over 32
                                   {3, 32, 5},
                                   {2, 2, 0}}) {  // users at an offset in 32 padded rows; b == nkv
        SCOPED_TRACE("B " + std::to_string(B) + ", rows " + std::to_string(rows) + ", offset " +
                     std::to_string(offset));
        const uint32_t nkv = 2, S = 40, dh = 32, pos = 17;
        Tensor cache = make({B, nkv, S, dh}, dtype, 3);
        auto before = to_host<float>(cache);
        Tensor input = make({1, nkv, rows, dh}, DataType::BFLOAT16, 4);
        update_cache(cache, input, pos, offset);
        auto after = to_host<float>(cache);
        auto encoded = to_host<float>(typecast(typecast(input, DataType::FLOAT32), dtype));
        for (uint32_t i = 0; i < B; ++i)
            for (uint32_t h = 0; h < nkv; ++h)
                for (uint32_t p = 0; p < S; ++p)
                    for (uint32_t d = 0; d < dh; ++d) {
                        std::size_t at = ((std::size_t(i) * nkv + h) * S + p) * dh + d;
                        float want =
                            p == pos ? encoded[(std::size_t(h) * rows + offset + i) * dh + d] : before[at];
                        ASSERT_EQ(after[at], want) << i << " " << h << " " << p << " " << d;
                    }
    }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CacheDtypes,
                         ::testing::Values(DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B));

TEST(PagedCache, UpdateAndFillFollowThePageTable) {
    const uint32_t blocks = 6, nkv = 1, bs = 16, dh = 32, users = 2;
    Tensor cache = make({blocks, nkv, bs, dh}, DataType::BFLOAT16, 5);
    std::vector<int32_t> table = {4, 1, 0, 5};  // user 0: blocks 4, 1; user 1: blocks 0, 5
    Tensor pt = from_host(std::span<const int32_t>(table), Shape{users, 2}, {.device = test_device()});
    Tensor row = make({1, users, nkv, dh}, DataType::FLOAT32, 6);
    std::vector<int32_t> idx = {17, -1};  // user 0 position 17 -> block 1 row 1; user 1 skipped
    auto before = to_host<float>(cache);
    experimental::paged_update_cache(cache, row, {.update_idxs = idx, .page_table = pt});
    auto after = to_host<float>(cache);
    auto rv = to_host<float>(typecast(row, DataType::BFLOAT16));
    for (std::size_t e = 0; e < after.size(); ++e) {
        std::size_t block = e / (bs * dh), r = (e / dh) % bs, d = e % dh;
        float want = (block == 1 && r == 1) ? rv[d] : before[e];
        ASSERT_EQ(after[e], want) << e;
    }
    // The tensor form of the indices writes the same.
    Tensor cache2 = make({blocks, nkv, bs, dh}, DataType::BFLOAT16, 5);
    Tensor idx_t = from_host(std::span<const int32_t>(idx), Shape{users}, {.device = test_device()});
    experimental::paged_update_cache(cache2, row, {.update_idxs_tensor = idx_t, .page_table = pt});
    EXPECT_EQ(to_host<float>(cache2), after);
    // Fill user 1's first 20 positions: block 0 rows 0..15, block 5 rows 0..3.
    Tensor seq = make({1, nkv, 20, dh}, DataType::BFLOAT16, 7);
    experimental::paged_fill_cache(cache, seq, pt, 1);
    auto filled = to_host<float>(cache), sv = to_host<float>(seq);
    for (uint32_t p = 0; p < 20; ++p)
        for (uint32_t d = 0; d < dh; ++d) {
            std::size_t block = p < 16 ? 0 : 5, r = p % 16;
            ASSERT_EQ(filled[(block * bs + r) * dh + d], sv[p * dh + d]);
        }
    // The user as a one-element tensor (TT-NN's batch_idx_tensor), INT32 or UINT32, writes the same.
    for (DataType dt : {DataType::INT32, DataType::UINT32}) {
        Tensor cache3 = make({blocks, nkv, bs, dh}, DataType::BFLOAT16, 5);
        experimental::paged_update_cache(cache3, row, {.update_idxs = idx, .page_table = pt});
        std::vector<int32_t> one = {1};
        Tensor user = dt == DataType::INT32
                          ? from_host(std::span<const int32_t>(one), Shape{1}, {.device = test_device()})
                          : from_host(std::span<const uint32_t>(std::vector<uint32_t>{1u}), Shape{1},
                                      {.device = test_device()});
        ASSERT_EQ(user.dtype(), dt);
        experimental::paged_fill_cache(cache3, seq, pt, user);
        EXPECT_EQ(to_host<float>(cache3), filled) << to_string(dt);
    }
}

TEST(PagedCache, RejectedCallsLeaveTheCacheUntouched) {
    Tensor cache = make({4, 2, 16, 32}, DataType::BFLOAT8_B, 8);
    auto before = bytes(cache);
    std::vector<int32_t> table = {0, 9};
    Tensor pt = from_host(std::span<const int32_t>(table), Shape{1, 2}, {.device = test_device()});
    Tensor row = make({1, 1, 2, 32}, DataType::FLOAT32, 9);
    expect_error(
        [&] { experimental::paged_update_cache(cache, row, {.update_idxs = {20}, .page_table = pt}); },
        {"paged_update_cache", "page_table[0][1]=9", "out of range"});
    expect_error(
        [&] { experimental::paged_update_cache(cache, row, {.update_idxs = {40}, .page_table = pt}); },
        {"position 40", "beyond"});
    Tensor wrong_heads = make({1, 1, 3, 32}, DataType::FLOAT32, 10);
    expect_error(
        [&] { experimental::paged_update_cache(cache, wrong_heads, {.update_idxs = {1}, .page_table = pt}); },
        {"KV heads"});
    Tensor long_seq = make({1, 2, 40, 32}, DataType::FLOAT32, 11);
    expect_error([&] { experimental::paged_fill_cache(cache, long_seq, pt, 0); },
                 {"paged_fill_cache", "beyond"});
    Tensor contiguous = make({2, 2, 16, 32}, DataType::BFLOAT16, 12);
    auto contiguous_before = bytes(contiguous);
    expect_error([&] { fill_cache(contiguous, long_seq, 0); }, {"fill_cache", "beyond"});
    // update_cache: an index past the cache (also one that would wrap to -1 or below as int32),
    // too few rows for the users from batch_offset, a head count that differs.
    Tensor rows = make({1, 2, 32, 32}, DataType::FLOAT32, 14);
    for (uint32_t idx : {16u, 0x80000000u, 0xFFFFFFFFu}) {
        const std::string named = "update_idx=" + std::to_string(idx);
        expect_error([&] { update_cache(contiguous, rows, idx); },
                     {"update_cache", named.c_str(), "beyond the cache's 16 positions"});
    }
    expect_error([&] { update_cache(contiguous, rows, 3, 31); },
                 {"update_cache", "input.shape[2]=32", "2 users from batch_offset=31"});
    expect_error(
        [&] {
            update_cache(contiguous, make({1, 3, 32, 32}, DataType::FLOAT32, 15), 3);
        },
        {"update_cache", "nkv=2 KV heads", "Shape([1, 3, 32, 32])"});
    EXPECT_EQ(bytes(contiguous), contiguous_before);
    expect_error(
        [&] {
            fill_cache(contiguous, make({1, 2, 4, 32}, DataType::FLOAT32, 13), 2);
        },
        {"batch_idx=2"});
    // batch_idx_tensor: one element, a user the page table has, an index dtype.
    const Tensor seq = make({1, 2, 8, 32}, DataType::FLOAT32, 16);
    auto index = [](std::vector<int32_t> v) {
        return from_host(std::span<const int32_t>(v), Shape{uint32_t(v.size())}, {.device = test_device()});
    };
    expect_error(
        [&] {
            experimental::paged_fill_cache(cache, seq, pt, index({0, 0}));
        },
        {"paged_fill_cache", "batch_idx_tensor must hold one user index", "Shape([2])"});
    // Index lists are 1-D, as TT-NN takes them: a [1, 1] or [2, 2] tensor is not read as a list.
    expect_error(
        [&] {
            experimental::paged_fill_cache(cache, seq, pt, reshape(index({0}), Shape{1, 1}));
        },
        {"paged_fill_cache", "batch_idx_tensor must be 1-D", "Shape([1, 1])"});
    expect_error(
        [&] {
            experimental::paged_update_cache(
                cache, row, {.update_idxs_tensor = reshape(index({1}), Shape{1, 1}), .page_table = pt});
        },
        {"paged_update_cache", "update_idxs_tensor must be 1-D", "Shape([1, 1])"});
    expect_error([&] { experimental::paged_fill_cache(cache, seq, pt, index({-1})); },
                 {"paged_fill_cache", "batch_idx_tensor holds -1"});
    expect_error([&] { experimental::paged_fill_cache(cache, seq, pt, index({1})); },
                 {"paged_fill_cache", "batch_idx=1", "out of range for 1 users"});
    expect_error(
        [&] {
            experimental::paged_fill_cache(cache, seq, pt,
                                           from_host(std::span<const float>(std::vector<float>{0.0f}),
                                                     Shape{1}, {.device = test_device()}));
        },
        {"paged_fill_cache", "batch_idx_tensor.dtype must be INT32 or UINT32, given DataType::FLOAT32"});
    Tensor float_table = make({1, 2}, DataType::FLOAT32, 18);
    expect_error([&] { experimental::paged_fill_cache(cache, seq, float_table, 0); },
                 {"paged_fill_cache", "page_table.dtype must be INT32 or UINT32, given DataType::FLOAT32"});
    // UINT32 index tensors: a value past INT32 is named as given, not as a negative number
    // (which would read as -1, a skip), in the page table, the user and the positions.
    auto uindex = [](std::vector<uint32_t> v, Shape shape) {
        return from_host(std::span<const uint32_t>(v), shape, {.device = test_device()});
    };
    expect_error([&] { experimental::paged_fill_cache(cache, seq, pt, uindex({0x80000001u}, Shape{1})); },
                 {"paged_fill_cache", "batch_idx_tensor[0]=2147483649 is out of range"});
    expect_error(
        [&] {
            experimental::paged_fill_cache(cache, seq, uindex({0u, 0xFFFFFFF0u}, Shape{1, 2}), 0);
        },
        {"paged_fill_cache", "page_table[0][1]=4294967280 is out of range"});
    expect_error(
        [&] {
            experimental::paged_update_cache(
                cache, row, {.update_idxs_tensor = uindex({0xFFFFFFFFu}, Shape{1}), .page_table = pt});
        },
        {"paged_update_cache", "update_idxs_tensor[0]=4294967295 is out of range"});
    // The positions' count names the argument that gave them; none at all is named as such.
    expect_error(
        [&] {
            experimental::paged_update_cache(cache, row,
                                             {.update_idxs_tensor = index({1, 2}), .page_table = pt});
        },
        {"paged_update_cache",
         "update_idxs_tensor must hold one position per user: given 2 for input.shape[1]=1"});
    expect_error(
        [&] {
            experimental::paged_update_cache(cache, row, {.update_idxs = {1, 2}, .page_table = pt});
        },
        {"paged_update_cache", "update_idxs must hold one position per user"});
    expect_error([&] { experimental::paged_update_cache(cache, row, {.page_table = pt}); },
                 {"paged_update_cache", "give update_idxs or update_idxs_tensor"});
    // A tensor with no storage is named as such, before its shape is looked at.
    expect_error([&] { experimental::paged_fill_cache(cache, Tensor{}, pt, 0); },
                 {"paged_fill_cache", "input is an empty tensor"});
    expect_error([&] { fill_cache(contiguous, Tensor{}, 0); }, {"fill_cache", "input is an empty tensor"});
    // A cache that is empty or on the host is named as such before any index tensor is read
    // (not as "an index tensor on a different device").
    Tensor empty_cache;
    expect_error([&] { experimental::paged_fill_cache(empty_cache, seq, pt, index({0})); },
                 {"paged_fill_cache", "cache is an empty tensor"});
    Tensor host_cache = from_device(cache);
    expect_error([&] { experimental::paged_fill_cache(host_cache, seq, pt, index({0})); },
                 {"paged_fill_cache", "cache is a host tensor"});
    expect_error([&] { experimental::paged_fill_cache(host_cache, seq, pt, 0); },
                 {"paged_fill_cache", "cache is a host tensor"});
    expect_error(
        [&] {
            experimental::paged_update_cache(host_cache, row,
                                             {.update_idxs_tensor = index({1}), .page_table = pt});
        },
        {"paged_update_cache", "cache is a host tensor"});
    EXPECT_EQ(bytes(cache), before);
}

}  // namespace
}  // namespace attnn
