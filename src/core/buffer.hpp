// Tensor storage: one aligned allocation shared by every handle of a tensor.
#pragma once
#include <atomic>
#include <cstddef>

namespace attnn::detail {

// Large storage (2 MiB and more) is 2 MiB aligned, advised to be backed by transparent huge
// pages, and recycled: a freed large block is kept (up to 512 MiB in all) and handed to the next
// allocation of the same size. An op that allocates its output on every call, like a matmul in
// a loop, then reuses mapped memory instead of faulting in pages the kernel must zero first
// (on this project's VMs that first touch costs ~8% of a 2048^3 matmul). Sanitizer builds keep
// nothing, so every free stays visible to AddressSanitizer.
std::byte* allocate_storage(std::size_t bytes, std::size_t& capacity);
void free_storage(std::byte* data, std::size_t capacity);
// Returns every recycled block to the system (close_device does).
void trim_storage_cache();

struct Buffer {
    // zero_fill=false is for storage the caller overwrites entirely (no padding to keep at 0).
    explicit Buffer(std::size_t bytes, bool zero_fill = true);
    ~Buffer() { free_storage(data, capacity); }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    // deallocate's, under the device's op lock: ops read data under that lock, and `released`
    // (atomic) is what a check made before the lock reads.
    void release() {
        free_storage(data, capacity);
        data = nullptr;
        size = 0;
        capacity = 0;
        released = true;
    }
    std::atomic<bool> released{false};
    std::byte* data = nullptr;
    std::size_t size = 0;
    std::size_t capacity = 0;  // bytes allocated: size rounded up to the alignment
};

}  // namespace attnn::detail
