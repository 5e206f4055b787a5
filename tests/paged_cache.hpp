// Builds paged KV caches for tests: a logical cache scattered into blocks by a shuffled page table.
#pragma once
#include <algorithm>
#include <numeric>
#include <random>

#include "reference/reference.hpp"
#include "test_util.hpp"

namespace attnn::testing {

// Scatters the logical cache [b, nkv, S, dh] into blocks by a shuffled page table.
struct PagedCache {
    Tensor k, v, page_table;
};
inline PagedCache page(const reference::Array& k, const reference::Array& v, uint32_t block_size,
                       DataType dtype, uint32_t seed, Layout layout = Layout::TILE) {
    const uint32_t b = k.shape[0], nkv = k.shape[1], S = k.shape[2], dh = k.shape[3],
                   per_user = S / block_size;
    const uint32_t blocks = b * per_user + 3;  // spare blocks that nothing maps to
    std::vector<int32_t> order(blocks);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937(seed));
    std::vector<float> pk(std::size_t(blocks) * nkv * block_size * dh, 99.0f), pv = pk;
    std::vector<int32_t> table(std::size_t(b) * per_user);
    for (uint32_t i = 0; i < b; ++i)
        for (uint32_t j = 0; j < per_user; ++j) {
            int32_t blk = order[i * per_user + j];
            table[i * per_user + j] = blk;
            for (uint32_t h = 0; h < nkv; ++h)
                for (uint32_t r = 0; r < block_size; ++r)
                    for (uint32_t d = 0; d < dh; ++d) {
                        std::size_t src = ((std::size_t(i) * nkv + h) * S + j * block_size + r) * dh + d;
                        std::size_t dst = ((std::size_t(blk) * nkv + h) * block_size + r) * dh + d;
                        pk[dst] = float(k.values[src]);
                        pv[dst] = float(v.values[src]);
                    }
        }
    const TensorOptions o{.dtype = dtype, .layout = layout, .device = test_device()};
    Shape cs{blocks, nkv, block_size, dh};
    return {from_host(std::span<const float>(pk), cs, o), from_host(std::span<const float>(pv), cs, o),
            from_host(std::span<const int32_t>(table), Shape{b, per_user}, {.device = test_device()})};
}

}  // namespace attnn::testing
