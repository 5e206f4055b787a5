// The device's state, shared by every Device handle and device tensor.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "attnn/device.hpp"
#include "attnn/error.hpp"
#include "core/program_cache.hpp"
#include "core/worker_pool.hpp"

namespace attnn::detail {

// The process that runs this code: a forked child has its own id, and none of the worker threads
// of the devices its parent opened.
int process_id();

struct DeviceImpl {
    DeviceImpl(int id, int num_workers)
        : id(id), pid(process_id()), pool(std::make_unique<WorkerPool>(num_workers)) {}
    ~DeviceImpl() {
        if (forked()) (void)pool.release();  // a forked child must not join its parent's threads
    }
    DeviceImpl(const DeviceImpl&) = delete;
    DeviceImpl& operator=(const DeviceImpl&) = delete;

    int id;
    int pid;                       // the process that opened the device (and runs its workers)
    std::atomic<bool> open{true};  // written under op_mutex; read before it for early errors
    std::unique_ptr<WorkerPool> pool;
    ProgramCache cache;
    std::recursive_mutex op_mutex;  // one op at a time per device

    // Whether this process is a fork of the one that opened the device (and runs its workers).
    bool forked() const { return pid != process_id(); }
    // Whether ops can run here: open, and in the process that opened it.
    bool usable() const { return open.load() && !forked(); }
    // Fails for `op` if the device belongs to the process this one forked from: checked before
    // op_mutex, which a thread of that process may have held at the fork (held forever here).
    void require_this_process(std::string_view op) const {
        if (forked())
            fail(ErrorKind::Runtime, op, "device ", id, " was opened by process ", pid,
                 "; this process is a fork of it, without its workers: open a device here");
    }
    // Fails for `op` unless open. Checked under op_mutex, the device cannot close until the lock
    // is released.
    void require_open(std::string_view op) const {
        if (!open.load()) fail(ErrorKind::Runtime, op, "device ", id, " is closed");
    }
    // The op lock, taken for `op` (which fails if the device closed while it waited).
    std::unique_lock<std::recursive_mutex> lock(std::string_view op) {
        require_this_process(op);
        std::unique_lock held(op_mutex);
        require_open(op);
        return held;
    }

    // Returns the cached program for `key`, or builds it with `build()` (and caches it when
    // the program cache is enabled). Called under the op lock.
    template <class P, class Build>
    std::shared_ptr<P> program(const ProgramKey& key, Build&& build) {
        if (cache.enabled) {
            if (auto found = cache.find(key)) {
                ++cache.hits;
                return std::static_pointer_cast<P>(found);
            }
        }
        ++cache.misses;
        std::shared_ptr<P> built;
        try {
            built = build();
        } catch (const std::bad_alloc&) {  // its per-worker scratch, sized by the shapes
            fail_program_memory(key.op());
        } catch (const std::length_error&) {  // a scratch vector past its limit
            fail_program_memory(key.op());
        }
        if (cache.enabled) cache.insert(key, built);
        return built;
    }

  private:
    [[noreturn]] void fail_program_memory(std::string_view op) const {
        fail(ErrorKind::Runtime, op, "cannot allocate its program's working memory (", pool->size(),
             " workers' scratch)");
    }
};

// The op locks of up to two devices (either may be null, or both the same), taken together so
// that two threads locking the same pair in opposite orders cannot deadlock; each device is
// checked usable once locked. An op that reads index tensors (a page table, positions) or writes
// a tensor in place holds them from before the read until it is done, so a concurrent plus_one
// or copy is seen all or not at all.
class DeviceLocks {
  public:
    DeviceLocks(std::string_view op, DeviceImpl* a, DeviceImpl* b = nullptr) {
        if (a == b || !a || !b) {
            if (DeviceImpl* d = a ? a : b) first_ = d->lock(op);
            return;
        }
        a->require_this_process(op);
        b->require_this_process(op);
        std::lock(a->op_mutex, b->op_mutex);
        first_ = std::unique_lock(a->op_mutex, std::adopt_lock);
        second_ = std::unique_lock(b->op_mutex, std::adopt_lock);
        a->require_open(op);
        b->require_open(op);
    }

  private:
    std::unique_lock<std::recursive_mutex> first_, second_;
};

}  // namespace attnn::detail
