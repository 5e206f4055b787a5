#include "attnn/device.hpp"

#include <map>
#include <mutex>
#include <thread>

#include "core/buffer.hpp"
#include "core/device_impl.hpp"
#include "kernels/kernels.hpp"

namespace attnn {

namespace {
std::mutex registry_mutex;
std::map<int, std::weak_ptr<detail::DeviceImpl>> open_devices;

detail::DeviceImpl& live(const std::shared_ptr<detail::DeviceImpl>& impl, const char* what) {
    if (!impl) detail::fail(ErrorKind::Runtime, what, "the Device handle is empty (use open_device)");
    if (!impl->open) detail::fail(ErrorKind::Runtime, what, "device ", impl->id, " is closed");
    return *impl;
}
}  // namespace

int get_num_devices() { return 1; }

Device open_device(int device_id, const DeviceOptions& options) {
    if (device_id < 0 || device_id >= get_num_devices())
        detail::fail(ErrorKind::InvalidArgument, "open_device", "device_id=", device_id, " must be in [0, ",
                     get_num_devices(), ")");
    if (options.num_workers < 0)
        detail::fail(ErrorKind::InvalidArgument, "open_device", "num_workers=", options.num_workers,
                     " must be >= 0 (0: one per hardware thread)");
    std::lock_guard lock(registry_mutex);
    if (auto existing = open_devices[device_id].lock(); existing && existing->open)
        detail::fail(ErrorKind::Runtime, "open_device", "device ", device_id,
                     " is already open; close_device it first or reuse the handle");
    int workers = options.num_workers ? options.num_workers : int(std::thread::hardware_concurrency());
    auto impl = std::make_shared<detail::DeviceImpl>(device_id, workers > 0 ? workers : 1);
    open_devices[device_id] = impl;
    return Device(impl);
}

void close_device(Device& device) {
    auto impl = device.impl();
    detail::DeviceImpl& d = live(impl, "close_device");
    std::lock_guard op_lock(d.op_mutex);
    d.cache.clear();
    d.cache.enabled = false;
    d.open = false;
    d.pool.reset();
    detail::trim_storage_cache();  // recycled tensor storage goes back to the system with the device
}

int Device::id() const { return live(impl_, "Device::id").id; }
bool Device::is_open() const { return impl_ && impl_->open; }
int Device::num_workers() const { return live(impl_, "Device::num_workers").pool->size(); }
CoreGrid Device::compute_with_storage_grid_size() const { return {1, uint32_t(num_workers())}; }
std::string Device::isa() const {
    live(impl_, "Device::isa");
    return kernels::table().name;
}

void Device::enable_program_cache() { live(impl_, "enable_program_cache").cache.enabled = true; }
void Device::disable_and_clear_program_cache() {
    auto& d = live(impl_, "disable_and_clear_program_cache");
    d.cache.enabled = false;
    d.cache.clear();
}
bool Device::program_cache_enabled() const { return live(impl_, "program_cache_enabled").cache.enabled; }
std::size_t Device::num_program_cache_entries() const {
    return live(impl_, "num_program_cache_entries").cache.size();
}
std::size_t Device::program_cache_hits() const { return live(impl_, "program_cache_hits").cache.hits; }
std::size_t Device::program_cache_misses() const { return live(impl_, "program_cache_misses").cache.misses; }

void enable_program_cache(Device& device) { device.enable_program_cache(); }
void disable_and_clear_program_cache(Device& device) { device.disable_and_clear_program_cache(); }

}  // namespace attnn
