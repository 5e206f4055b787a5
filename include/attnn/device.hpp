// The CPU device: a persistent pool of workers, a core grid, and the program cache.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "attnn/types.hpp"

namespace attnn {

namespace detail {
struct DeviceImpl;
}

struct DeviceOptions {
    int num_workers = 0;  // 0: one per CPU this process may run on
    // TT-NN's open_device takes L1/trace sizes for its SRAM; the CPU device has none to size.
    std::size_t l1_small_size = 0;
    std::size_t trace_region_size = 0;
};

// A handle to an open device; copies refer to the same device.
class Device {
  public:
    Device() = default;
    int id() const;
    bool is_open() const;
    int num_workers() const;
    // The grid of workers, as TT-NN's compute_with_storage_grid_size: y=1, x=num_workers.
    CoreGrid compute_with_storage_grid_size() const;
    // The SIMD path the kernels run: "avx512", "avx2" or "portable".
    std::string isa() const;

    void enable_program_cache();
    void disable_and_clear_program_cache();
    bool program_cache_enabled() const;
    std::size_t num_program_cache_entries() const;
    // Lookups since the device opened: a disabled cache misses every time, and
    // disable_and_clear_program_cache resets neither count (attnn's own; TT-NN has no such counters).
    std::size_t program_cache_hits() const;
    std::size_t program_cache_misses() const;

    friend bool operator==(const Device& a, const Device& b) { return a.impl_ == b.impl_; }
    std::shared_ptr<detail::DeviceImpl> impl() const { return impl_; }
    explicit Device(std::shared_ptr<detail::DeviceImpl> impl) : impl_(std::move(impl)) {}

  private:
    std::shared_ptr<detail::DeviceImpl> impl_;
};

// Opens device `device_id` (the CPU is device 0). Opening a device that is already open throws.
Device open_device(int device_id = 0, const DeviceOptions& options = {});
// Stops the workers and clears the program cache; tensors left on the device become unusable.
void close_device(Device& device);
int get_num_devices();

void enable_program_cache(Device& device);
void disable_and_clear_program_cache(Device& device);

}  // namespace attnn
