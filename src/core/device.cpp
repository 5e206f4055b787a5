#include "attnn/device.hpp"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "core/buffer.hpp"
#include "core/device_impl.hpp"
#include "kernels/kernels.hpp"

namespace attnn {

namespace detail {
namespace {
// getpid() is a system call; the id is read on every op, so it is kept here and renewed in a
// forked child before anything else runs there.
constinit std::atomic<int> current_pid{0};
std::mutex registry_mutex;
std::map<int, std::weak_ptr<DeviceImpl>> open_devices;
}  // namespace

int process_id() {
    static const bool tracked = [] {
        current_pid.store(int(::getpid()));
        // A fork also waits until no thread is opening a device: the child would inherit the
        // registry's lock held by a thread it lacks.
        pthread_atfork([] { registry_mutex.lock(); }, [] { registry_mutex.unlock(); },
                       [] {
                           current_pid.store(int(::getpid()));
                           registry_mutex.unlock();
                       });
        return true;
    }();
    (void)tracked;
    return current_pid.load(std::memory_order_relaxed);
}
}  // namespace detail

namespace {
using detail::open_devices;
using detail::registry_mutex;

detail::DeviceImpl& handle(const std::shared_ptr<detail::DeviceImpl>& impl, const char* what) {
    if (!impl) detail::fail(ErrorKind::Runtime, what, "the Device handle is empty (use open_device)");
    return *impl;
}

// The device of a handle, locked for `what` (which fails if it is closed, or was opened by the
// process this one forked from).
std::unique_lock<std::recursive_mutex> lock_device(const std::shared_ptr<detail::DeviceImpl>& impl,
                                                   const char* what) {
    return handle(impl, what).lock(what);
}

// The CPUs this process may run on (taskset, a cgroup's cpuset), not every CPU of the machine.
int available_cpus() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
    return std::max(1, int(std::thread::hardware_concurrency()));
}
}  // namespace

int get_num_devices() { return 1; }

Device open_device(int device_id, const DeviceOptions& options) {
    if (device_id < 0 || device_id >= get_num_devices())
        detail::fail(ErrorKind::InvalidArgument, "open_device", "device_id=", device_id, " must be in [0, ",
                     get_num_devices(), ")");
    if (options.num_workers < 0)
        detail::fail(ErrorKind::InvalidArgument, "open_device", "num_workers=", options.num_workers,
                     " must be >= 0 (0: one per CPU this process may run on)");
    (void)detail::process_id();  // the fork handlers are in place before the registry is locked
    std::lock_guard registry_lock(registry_mutex);
    // A device its parent opened is no device of a forked child's: the child opens its own.
    if (auto existing = open_devices[device_id].lock(); existing && existing->usable())
        detail::fail(ErrorKind::Runtime, "open_device", "device ", device_id,
                     " is already open; close_device it first or reuse the handle");
    const int workers = options.num_workers ? options.num_workers : available_cpus();
    auto impl = std::make_shared<detail::DeviceImpl>(device_id, workers);
    open_devices[device_id] = impl;
    return Device(impl);
}

void close_device(Device& device) {
    auto impl = device.impl();
    detail::DeviceImpl& d = handle(impl, "close_device");
    if (d.forked()) {
        // A forked child's copy of its parent's device: its workers are not here to join, and its
        // op lock and program cache may be mid-use by a thread the child lacks. Nothing is touched.
        if (!d.open.exchange(false))
            detail::fail(ErrorKind::Runtime, "close_device", "device ", d.id, " is closed");
        (void)d.pool.release();
        return;
    }
    std::lock_guard op_lock(d.op_mutex);  // after any op running on another thread
    d.require_open("close_device");
    d.cache.clear();
    d.cache.enabled = false;
    d.open = false;
    d.pool.reset();
    detail::trim_storage_cache();  // recycled tensor storage goes back to the system with the device
}

// Each accessor holds the op lock: the device cannot close under it, and the program cache
// (which ops read and fill under that lock) is never read or cleared while an op uses it.
int Device::id() const { return handle(impl_, "Device::id").id; }
bool Device::is_open() const { return impl_ && impl_->usable(); }
int Device::num_workers() const {
    auto held = lock_device(impl_, "Device::num_workers");
    return impl_->pool->size();
}
CoreGrid Device::compute_with_storage_grid_size() const { return {1, uint32_t(num_workers())}; }
std::string Device::isa() const {
    auto held = lock_device(impl_, "Device::isa");
    return kernels::table().name;
}

void Device::enable_program_cache() {
    auto held = lock_device(impl_, "enable_program_cache");
    impl_->cache.enabled = true;
}
void Device::disable_and_clear_program_cache() {
    auto held = lock_device(impl_, "disable_and_clear_program_cache");
    impl_->cache.enabled = false;
    impl_->cache.clear();
}
bool Device::program_cache_enabled() const {
    auto held = lock_device(impl_, "program_cache_enabled");
    return impl_->cache.enabled;
}
std::size_t Device::num_program_cache_entries() const {
    auto held = lock_device(impl_, "num_program_cache_entries");
    return impl_->cache.size();
}
std::size_t Device::program_cache_hits() const {
    auto held = lock_device(impl_, "program_cache_hits");
    return impl_->cache.hits;
}
std::size_t Device::program_cache_misses() const {
    auto held = lock_device(impl_, "program_cache_misses");
    return impl_->cache.misses;
}

void enable_program_cache(Device& device) { device.enable_program_cache(); }
void disable_and_clear_program_cache(Device& device) { device.disable_and_clear_program_cache(); }

}  // namespace attnn
