// Tensor storage: one 64-byte-aligned allocation shared by every handle of a tensor.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

namespace attnn::detail {

struct Buffer {
    // zero_fill=false is for storage the caller overwrites entirely (no padding to keep at 0).
    explicit Buffer(std::size_t bytes, bool zero_fill = true) : size(bytes) {
        std::size_t rounded = (bytes + 63) / 64 * 64;
        data = static_cast<std::byte*>(std::aligned_alloc(64, rounded ? rounded : 64));
        if (!data) throw std::bad_alloc();
        if (zero_fill) std::memset(data, 0, rounded ? rounded : 64);
    }
    ~Buffer() { std::free(data); }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    void release() {
        std::free(data);
        data = nullptr;
        size = 0;
    }
    std::byte* data;
    std::size_t size;
};

}  // namespace attnn::detail
