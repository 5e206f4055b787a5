#include "core/buffer.hpp"

#include <pthread.h>
#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>

namespace attnn::detail {

namespace {

constexpr std::size_t huge_page = std::size_t(2) << 20;
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t cache_limit = 0;
#else
constexpr std::size_t cache_limit = std::size_t(512) << 20;
#endif

struct StorageCache {
    std::mutex mutex;
    std::multimap<std::size_t, std::byte*> blocks;  // capacity -> free block
    std::size_t bytes = 0;
};

// Never destroyed: tensors that outlive other statics may still free into it at exit. A fork
// waits until no thread holds its lock (a child would inherit it held by a thread it lacks).
StorageCache& cache() {
    static StorageCache* c = [] {
        auto* made = new StorageCache;
        pthread_atfork([] { cache().mutex.lock(); }, [] { cache().mutex.unlock(); },
                       [] { cache().mutex.unlock(); });
        return made;
    }();
    return *c;
}

}  // namespace

std::byte* allocate_storage(std::size_t bytes, std::size_t& capacity) {
    const bool large = bytes >= huge_page;
    const std::size_t align = large ? huge_page : 64;
    capacity = bytes ? (bytes + align - 1) / align * align : 64;
    if (large) {
        StorageCache& c = cache();
        std::lock_guard lock(c.mutex);
        if (auto it = c.blocks.find(capacity); it != c.blocks.end()) {
            std::byte* data = it->second;
            c.bytes -= capacity;
            c.blocks.erase(it);
            return data;
        }
    }
    auto* data = static_cast<std::byte*>(std::aligned_alloc(align, capacity));
    if (!data) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    if (large) madvise(data, capacity, MADV_HUGEPAGE);  // advice only: failure changes nothing
#endif
    return data;
}

void free_storage(std::byte* data, std::size_t capacity) {
    if (!data) return;
    if (capacity >= huge_page) {
        StorageCache& c = cache();
        std::lock_guard lock(c.mutex);
        if (c.bytes + capacity <= cache_limit) {
            c.blocks.emplace(capacity, data);
            c.bytes += capacity;
            return;
        }
    }
    std::free(data);
}

void trim_storage_cache() {
    StorageCache& c = cache();
    std::lock_guard lock(c.mutex);
    for (auto& [capacity, data] : c.blocks) std::free(data);
    c.blocks.clear();
    c.bytes = 0;
}

Buffer::Buffer(std::size_t bytes, bool zero_fill) : size(bytes) {
    data = allocate_storage(bytes, capacity);
    if (zero_fill) std::memset(data, 0, capacity);
}

}  // namespace attnn::detail
