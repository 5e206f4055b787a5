// Row access to tensor storage in any layout and dtype: every op reads the logical values it
// needs as fp32 rows and writes its results the same way, so one mechanism serves ROW_MAJOR and
// TILE (32x32 tiles of four 16x16 faces) in FLOAT32, BFLOAT16, BFLOAT8_B, BFLOAT4_B and the
// integer types. Block floats are decoded a 16-value face row at a time.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "attnn/tensor.hpp"

namespace attnn::detail {

struct DeviceImpl;

// Float -> integer conversion for INT32 / UINT32 values: round to nearest even, saturate at the
// type's range (so +-Inf give its max and min), NaN -> 0. Storage encoding, typecast and to_host
// all convert this way.
template <class I>
I to_integer(float v) {
    if (!(v == v)) return 0;
    double r = __builtin_nearbyint(double(v));
    if (r <= double(std::numeric_limits<I>::min())) return std::numeric_limits<I>::min();
    if (r >= double(std::numeric_limits<I>::max())) return std::numeric_limits<I>::max();
    return I(r);
}

// A tensor seen as `batch` matrices of rows x cols logical values (rank 1: one row).
struct MatrixView {
    std::byte* data = nullptr;
    DataType dtype = DataType::FLOAT32;
    Layout layout = Layout::ROW_MAJOR;
    int64_t batch = 1, rows = 1, cols = 1;
    int64_t padded_rows = 1, padded_cols = 1;
    int64_t matrix_bytes = 0;

    // Decodes values [c0, c0 + n) of row r of matrix b into dst.
    void read(int64_t b, int64_t r, int64_t c0, int64_t n, float* dst) const;
    // Decodes whole rows [r0, r0 + n) of matrix b into dst (row stride ld >= padded_cols; TILE
    // layout fills all padded_cols columns). The fast path for blocks of rows.
    // c0 (a multiple of 32) and cols narrow the decode to the tiles covering [c0, c0 + cols).
    void read_rows(int64_t b, int64_t r0, int64_t n, float* dst, int64_t ld, int64_t c0 = 0,
                   int64_t cols = -1) const;
    // Asks the CPU to start loading rows [r0, r0 + n) of matrix b (whole tile bands in TILE
    // layout) while other work runs: attention prefetches its next K/V chunk this way.
    void prefetch_rows(int64_t b, int64_t r0, int64_t n) const;
    // Encodes src into values [c0, c0 + n) of row r of matrix b. Block-float face rows that are
    // only partly written are decoded, patched and encoded again, so the rest of the tile stays.
    void write(int64_t b, int64_t r, int64_t c0, int64_t n, const float* src) const;
    // Encodes whole rows [r0, r0 + n) of matrix b from src (row stride ld, `cols` values each);
    // in TILE layout the padding columns past `cols` are written as zeros. The fast path for
    // blocks of rows, as read_rows is for reading.
    void write_rows(int64_t b, int64_t r0, int64_t n, const float* src, int64_t ld) const;
    // TILE layout: the first byte of the band of tiles (32 rows, every column) holding row r of
    // matrix b.
    std::byte* band(int64_t b, int64_t r) const;
    // The kernels' format number (kernels.hpp, decode_tile_rows) of a floating-point TILE
    // tensor; -1 for ROW_MAJOR or integer data.
    int tile_format() const;
    // Address of one element for 4-byte and 2-byte dtypes (not block floats).
    std::byte* element(int64_t b, int64_t r, int64_t c) const;
    std::size_t element_bytes() const;
};

MatrixView matrix_view(const Tensor& tensor, std::string_view op = "tensor");

// The kernels' format number (kernels.hpp) of a floating-point dtype's tiles: FLOAT32 0,
// BFLOAT16 1, BFLOAT8_B 2, BFLOAT4_B 3; -1 for integer types.
int kernel_format(DataType dtype);

// The stored shape for `layout`: TILE rounds the last two dims up to multiples of 32.
Shape padded_shape_for(const Shape& shape, Layout layout);
std::size_t storage_bytes(const Shape& padded_shape, DataType dtype, Layout layout);

// Checks the tensor is allocated; names `arg` of `op` in the error.
void require_allocated(const Tensor& t, std::string_view op, std::string_view arg);
// Element `flat` (row-major) of a tensor of `shape` as every index: "[1][2][3]", for errors
// that name an element as the user would write it.
std::string element_index(const Shape& shape, int64_t flat);
// Checks every tensor is allocated and on the same open device, and returns it.
DeviceImpl& require_device(std::string_view op,
                           std::initializer_list<std::pair<const Tensor*, const char*>> tensors);

// A zero-filled tensor on `device` (nullptr: host).
// Refuses a shape whose storage would pass 2^47 bytes, or whose TILE padding would pass a 32-bit dim
// (the 64-bit volume and the padded dims would wrap), naming op.
void check_storage_size(const Shape& shape, DataType dtype, Layout layout, std::string_view op);
Tensor allocate_tensor(const Shape& shape, DataType dtype, Layout layout, const MemoryConfig& memory_config,
                       const std::shared_ptr<DeviceImpl>& device, std::string_view op);
// Fills every stored value (padding included) with `value`.
void fill_storage(const Tensor& t, float value);

}  // namespace attnn::detail
