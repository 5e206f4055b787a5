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

}  // namespace attnn::detail
