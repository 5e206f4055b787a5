// Tensor storage: one aligned allocation shared by every handle of a tensor.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

#include <sys/mman.h>

namespace attnn::detail {

struct Buffer {
    // zero_fill=false is for storage the caller overwrites entirely (no padding to keep at 0).
    // Buffers of 2 MiB and more are 2 MiB aligned and advised to be backed by transparent huge
    // pages before their first touch: a 16 MiB matmul output takes 8 page faults, not 4096.
    explicit Buffer(std::size_t bytes, bool zero_fill = true) : size(bytes) {
        constexpr std::size_t huge = std::size_t(2) << 20;
        const bool large = bytes >= huge;
        const std::size_t align = large ? huge : 64;
        const std::size_t rounded = bytes ? (bytes + align - 1) / align * align : 64;
        data = static_cast<std::byte*>(std::aligned_alloc(align, rounded));
        if (!data) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
        if (large) madvise(data, rounded, MADV_HUGEPAGE);  // advice only: failure changes nothing
#endif
        if (zero_fill) std::memset(data, 0, rounded);
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
