// The device's state, shared by every Device handle and device tensor.
#pragma once
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>

#include "attnn/device.hpp"
#include "attnn/error.hpp"
#include "core/program_cache.hpp"
#include "core/worker_pool.hpp"

namespace attnn::detail {

struct DeviceImpl {
    DeviceImpl(int id, int num_workers) : id(id), pool(std::make_unique<WorkerPool>(num_workers)) {}
    int id;
    bool open = true;
    std::unique_ptr<WorkerPool> pool;
    ProgramCache cache;
    std::recursive_mutex op_mutex;  // one op at a time per device

    // Returns the cached program for `key`, or builds it with `build()` (and caches it when
    // the program cache is enabled).
    template <class P, class Build>
    std::shared_ptr<P> program(const ProgramKey& key, Build&& build) {
        if (cache.enabled) {
            if (auto found = cache.find(key)) {
                ++cache.hits;
                return std::static_pointer_cast<P>(found);
            }
        }
        ++cache.misses;
        std::shared_ptr<P> built = build();
        if (cache.enabled) cache.insert(key, built);
        return built;
    }
};

// The op lock of the device a tensor lives on (none for a host tensor). An op that reads index
// tensors (a page table, positions) or writes a tensor in place holds it from before the read
// until it is done, so a concurrent plus_one or copy is seen all or not at all.
inline std::unique_lock<std::recursive_mutex> lock_device_of(const std::shared_ptr<DeviceImpl>& device) {
    return device ? std::unique_lock(device->op_mutex) : std::unique_lock<std::recursive_mutex>();
}

}  // namespace attnn::detail
