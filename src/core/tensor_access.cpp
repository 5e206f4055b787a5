#include "core/tensor_access.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "attnn/error.hpp"
#include "core/buffer.hpp"
#include "core/device_impl.hpp"
#include "kernels/kernels.hpp"

namespace attnn::detail {

namespace {

constexpr int64_t face_values = FACE_HEIGHT * FACE_WIDTH;

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Where face row `fi` of face `face` of a tile begins, per dtype.
struct FaceRow {
    std::byte* values;  // 16 values (FLOAT32/BFLOAT16/INT: element 0; block float: mantissas)
    uint8_t* exponent;  // block floats only
};

FaceRow face_row(std::byte* tile, DataType dtype, int face, int fi) {
    switch (dtype) {
        case DataType::BFLOAT8_B:
            return {tile + 64 + face * 256 + fi * 16, reinterpret_cast<uint8_t*>(tile) + face * 16 + fi};
        case DataType::BFLOAT4_B:
            return {tile + 64 + face * 128 + fi * 8, reinterpret_cast<uint8_t*>(tile) + face * 16 + fi};
        case DataType::BFLOAT16:
            return {tile + (face * face_values + fi * 16) * 2, nullptr};
        default:
            return {tile + (face * face_values + fi * 16) * 4, nullptr};
    }
}

void decode_run(DataType dtype, const std::byte* src, const uint8_t* exponent, float* dst, int64_t n) {
    const auto& k = kernels::table();
    switch (dtype) {
        case DataType::FLOAT32:
            if (n <= 2 * FACE_WIDTH) {  // a face row or two (TILE): a libc call costs more than the copy
                for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i, src + 4 * i, 4);
            } else {
                std::memcpy(dst, src, n * 4);
            }
            break;
        case DataType::BFLOAT16:
            if (n <= 2 * FACE_WIDTH) {  // a face row or two (TILE): cheaper inline than through the table
                for (int64_t i = 0; i < n; ++i) {
                    uint16_t h;
                    std::memcpy(&h, src + 2 * i, 2);
                    uint32_t u = uint32_t(h) << 16;
                    std::memcpy(dst + i, &u, 4);
                }
            } else {
                k.bf16_to_f32(reinterpret_cast<const uint16_t*>(src), dst, n);
            }
            break;
        case DataType::INT32:
            for (int64_t i = 0; i < n; ++i) {
                int32_t v;
                std::memcpy(&v, src + 4 * i, 4);
                dst[i] = float(v);
            }
            break;
        case DataType::UINT32:
            for (int64_t i = 0; i < n; ++i) {
                uint32_t v;
                std::memcpy(&v, src + 4 * i, 4);
                dst[i] = float(v);
            }
            break;
        case DataType::BFLOAT8_B:
            k.bfp8_decode16(*exponent, reinterpret_cast<const uint8_t*>(src), dst);
            break;
        case DataType::BFLOAT4_B:
            k.bfp4_decode16(*exponent, reinterpret_cast<const uint8_t*>(src), dst);
            break;
    }
}

void encode_run(DataType dtype, const float* src, std::byte* dst, uint8_t* exponent, int64_t n) {
    const auto& k = kernels::table();
    switch (dtype) {
        case DataType::FLOAT32:
            std::memcpy(dst, src, n * 4);
            break;
        case DataType::BFLOAT16:
            k.f32_to_bf16(src, reinterpret_cast<uint16_t*>(dst), n);
            break;
        case DataType::INT32:
            for (int64_t i = 0; i < n; ++i) {
                int32_t v = to_integer<int32_t>(src[i]);
                std::memcpy(dst + 4 * i, &v, 4);
            }
            break;
        case DataType::UINT32:
            for (int64_t i = 0; i < n; ++i) {
                uint32_t v = to_integer<uint32_t>(src[i]);
                std::memcpy(dst + 4 * i, &v, 4);
            }
            break;
        case DataType::BFLOAT8_B:
            k.bfp8_encode16(src, exponent, reinterpret_cast<uint8_t*>(dst));
            break;
        case DataType::BFLOAT4_B:
            k.bfp4_encode16(src, exponent, reinterpret_cast<uint8_t*>(dst));
            break;
    }
}

}  // namespace

std::size_t MatrixView::element_bytes() const { return dtype == DataType::BFLOAT16 ? 2 : 4; }

std::byte* MatrixView::element(int64_t b, int64_t r, int64_t c) const {
    if (layout == Layout::ROW_MAJOR) return data + b * matrix_bytes + (r * cols + c) * int64_t(element_bytes());
    std::byte* tile = band(b, r) + (c / TILE_WIDTH) * int64_t(tile_size_bytes(dtype));
    int i = int(r % TILE_HEIGHT), j = int(c % TILE_WIDTH);
    int face = (i / FACE_HEIGHT) * 2 + j / FACE_WIDTH;
    return face_row(tile, dtype, face, i % FACE_HEIGHT).values + (j % FACE_WIDTH) * int64_t(element_bytes());
}

void MatrixView::read(int64_t b, int64_t r, int64_t c0, int64_t n, float* dst) const {
    if (n <= 0) return;
    if (layout == Layout::ROW_MAJOR) {
        decode_run(dtype, element(b, r, c0), nullptr, dst, n);
        return;
    }
    const int64_t tbytes = int64_t(tile_size_bytes(dtype));
    std::byte* tile_row = band(b, r);
    const int i = int(r % TILE_HEIGHT);
    const int fi = i % FACE_HEIGHT, face_base = (i / FACE_HEIGHT) * 2;
    int64_t c = c0;
    const int64_t end = c0 + n;
    while (c < end) {
        int64_t seg = c / FACE_WIDTH * FACE_WIDTH;  // start of this 16-value face row
        int face = face_base + int((seg % TILE_WIDTH) / FACE_WIDTH);
        FaceRow fr = face_row(tile_row + (seg / TILE_WIDTH) * tbytes, dtype, face, fi);
        int64_t off = c - seg, take = std::min<int64_t>(FACE_WIDTH - off, end - c);
        if (is_block_float(dtype)) {
            if (off == 0 && take == FACE_WIDTH) {
                decode_run(dtype, fr.values, fr.exponent, dst + (c - c0), FACE_WIDTH);
            } else {
                float tmp[FACE_WIDTH];
                decode_run(dtype, fr.values, fr.exponent, tmp, FACE_WIDTH);
                std::memcpy(dst + (c - c0), tmp + off, take * 4);
            }
        } else {
            decode_run(dtype, fr.values + off * int64_t(element_bytes()), nullptr, dst + (c - c0), take);
        }
        c += take;
    }
}

std::byte* MatrixView::band(int64_t b, int64_t r) const {
    return data + b * matrix_bytes + (r / TILE_HEIGHT) * (padded_cols / TILE_WIDTH) * int64_t(tile_size_bytes(dtype));
}

int kernel_format(DataType dtype) {
    if (!is_floating_point(dtype)) return -1;
    return dtype == DataType::FLOAT32     ? 0
           : dtype == DataType::BFLOAT16  ? 1
           : dtype == DataType::BFLOAT8_B ? 2
                                          : 3;
}

int MatrixView::tile_format() const { return layout == Layout::TILE ? kernel_format(dtype) : -1; }

void MatrixView::read_rows(int64_t b, int64_t r0, int64_t n, float* dst, int64_t ld, int64_t c0,
                           int64_t ncols) const {
    if (ncols < 0) ncols = cols - c0;
    if (layout == Layout::ROW_MAJOR || !is_floating_point(dtype)) {
        for (int64_t i = 0; i < n; ++i) read(b, r0 + i, c0, ncols, dst + i * ld);
        return;
    }
    const int format = tile_format();
    const int64_t tbytes = int64_t(tile_size_bytes(dtype));
    const int64_t first_tile = c0 / TILE_WIDTH,
                  tiles = (c0 + ncols + TILE_WIDTH - 1) / TILE_WIDTH - first_tile;
    const auto& k = kernels::table();
    for (int64_t r = r0; r < r0 + n;) {
        const int64_t i0 = r % TILE_HEIGHT, take = std::min(TILE_HEIGHT - i0, r0 + n - r);
        const auto* base = reinterpret_cast<const uint8_t*>(band(b, r) + first_tile * tbytes);
        k.decode_tile_rows(format, base, tbytes, tiles, i0, take, dst + (r - r0) * ld, ld);
        r += take;
    }
}

void MatrixView::prefetch_rows(int64_t b, int64_t r0, int64_t n) const {
    if (n <= 0) return;
    const std::byte* begin;
    const std::byte* end;
    if (layout == Layout::ROW_MAJOR) {
        begin = element(b, r0, 0);
        end = begin + n * cols * int64_t(element_bytes());
    } else {
        begin = band(b, r0);
        end = band(b, r0 + n - 1 + TILE_HEIGHT - (r0 + n - 1) % TILE_HEIGHT);  // past the last band
    }
    for (const std::byte* p = begin; p < end; p += 64) __builtin_prefetch(p, 0, 2);
}

void MatrixView::write(int64_t b, int64_t r, int64_t c0, int64_t n, const float* src) const {
    if (n <= 0) return;
    if (layout == Layout::ROW_MAJOR) {
        encode_run(dtype, src, element(b, r, c0), nullptr, n);
        return;
    }
    const int64_t tbytes = int64_t(tile_size_bytes(dtype));
    std::byte* tile_row = band(b, r);
    const int i = int(r % TILE_HEIGHT);
    const int fi = i % FACE_HEIGHT, face_base = (i / FACE_HEIGHT) * 2;
    int64_t c = c0;
    const int64_t end = c0 + n;
    while (c < end) {
        int64_t seg = c / FACE_WIDTH * FACE_WIDTH;
        int face = face_base + int((seg % TILE_WIDTH) / FACE_WIDTH);
        FaceRow fr = face_row(tile_row + (seg / TILE_WIDTH) * tbytes, dtype, face, fi);
        int64_t off = c - seg, take = std::min<int64_t>(FACE_WIDTH - off, end - c);
        if (is_block_float(dtype)) {
            if (off == 0 && take == FACE_WIDTH) {
                encode_run(dtype, src + (c - c0), fr.values, fr.exponent, FACE_WIDTH);
            } else {  // the shared exponent covers all 16: patch the decoded row and re-encode
                float tmp[FACE_WIDTH];
                decode_run(dtype, fr.values, fr.exponent, tmp, FACE_WIDTH);
                std::memcpy(tmp + off, src + (c - c0), take * 4);
                // Padding past the width is 0, as write_rows leaves it: nothing else may take the exponent.
                for (int64_t j = std::max<int64_t>(0, cols - seg); j < FACE_WIDTH; ++j) tmp[j] = 0.0f;
                encode_run(dtype, tmp, fr.values, fr.exponent, FACE_WIDTH);
            }
        } else {
            encode_run(dtype, src + (c - c0), fr.values + off * int64_t(element_bytes()), nullptr, take);
        }
        c += take;
    }
}

void MatrixView::write_rows(int64_t b, int64_t r0, int64_t n, const float* src, int64_t ld) const {
    if (layout == Layout::ROW_MAJOR || !is_floating_point(dtype)) {
        for (int64_t i = 0; i < n; ++i) write(b, r0 + i, 0, cols, src + i * ld);
        return;
    }
    const int64_t tbytes = int64_t(tile_size_bytes(dtype));
    const auto& k = kernels::table();
    for (int64_t r = r0; r < r0 + n;) {
        const int64_t i0 = r % TILE_HEIGHT, take = std::min(TILE_HEIGHT - i0, r0 + n - r);
        k.encode_tile_rows(tile_format(), reinterpret_cast<uint8_t*>(band(b, r)), tbytes, padded_cols / TILE_WIDTH,
                           i0, take, src + (r - r0) * ld, ld, cols);
        r += take;
    }
}

Shape padded_shape_for(const Shape& shape, Layout layout) {
    Shape p = shape;
    if (layout != Layout::TILE || shape.rank() == 0) return p;
    p[-1] = uint32_t(round_up(shape[-1], TILE_WIDTH));
    if (shape.rank() >= 2) p[-2] = uint32_t(round_up(shape[-2], TILE_HEIGHT));
    return p;
}

std::size_t storage_bytes(const Shape& padded, DataType dtype, Layout layout) {
    if (layout == Layout::ROW_MAJOR) return padded.volume() * element_size_bytes(dtype);
    uint64_t rows = padded.rank() >= 2 ? padded[-2] : TILE_HEIGHT;
    uint64_t tiles = padded.batch_volume() * (rows / TILE_HEIGHT) * (padded[-1] / TILE_WIDTH);
    return tiles * tile_size_bytes(dtype);
}

MatrixView matrix_view(const Tensor& t, std::string_view op) {
    require_allocated(t, op, "tensor");
    MatrixView v;
    v.data = t.buffer()->data;
    v.dtype = t.dtype();
    v.layout = t.layout();
    const Shape& s = t.shape();
    const Shape& p = t.padded_shape();
    v.batch = int64_t(s.batch_volume());
    v.cols = s[-1];
    v.rows = s.rank() >= 2 ? s[-2] : 1;
    v.padded_cols = p[-1];
    v.padded_rows = s.rank() >= 2 ? p[-2] : (t.layout() == Layout::TILE ? TILE_HEIGHT : 1);
    v.matrix_bytes = v.batch ? int64_t(t.buffer()->size / uint64_t(v.batch)) : 0;
    return v;
}

void require_allocated(const Tensor& t, std::string_view op, std::string_view arg) {
    if (!t.buffer()) fail(ErrorKind::InvalidArgument, op, arg, " is an empty tensor");
    if (t.buffer()->released && t.volume() != 0) fail(ErrorKind::Runtime, op, arg, " was deallocated");
    if (t.device_impl() && !t.device_impl()->open)
        fail(ErrorKind::Runtime, op, arg, " is on device ", t.device_impl()->id, ", which is closed");
}

std::string element_index(const Shape& shape, int64_t flat) {
    std::string at;
    for (int d = shape.rank() - 1; d >= 0; --d) {
        at.insert(0, "[" + std::to_string(flat % shape[d]) + "]");
        flat /= shape[d];
    }
    return at;
}

DeviceImpl& require_device(std::string_view op,
                           std::initializer_list<std::pair<const Tensor*, const char*>> tensors) {
    DeviceImpl* device = nullptr;
    const char* first = nullptr;
    for (auto [t, name] : tensors) {
        require_allocated(*t, op, name);
        if (!t->device_impl())
            fail(ErrorKind::InvalidArgument, op, name,
                 " is a host tensor; move it to the device first (to_device, or from_host with a device)");
        if (device && t->device_impl().get() != device)
            fail(ErrorKind::InvalidArgument, op, name, " is on a different device than ", first);
        device = t->device_impl().get();
        first = name;
    }
    return *device;
}

void check_storage_size(const Shape& shape, DataType dtype, Layout layout, std::string_view op) {
    // TILE pads the last two dims up to 32, in 32-bit dims.
    if (layout == Layout::TILE)
        for (int d = std::max(0, shape.rank() - 2); d < shape.rank(); ++d)
            if (shape[d] > UINT32_MAX - (TILE_WIDTH - 1))
                fail(ErrorKind::InvalidArgument, op, "shape ", shape, ": dim ", d,
                     " of a TILE tensor must be at most ", UINT32_MAX - (TILE_WIDTH - 1),
                     " (it is padded to a multiple of 32)");
    // Sizes in 128 bits, where the 64-bit volume would wrap (to a small buffer).
    unsigned __int128 bytes = is_block_float(dtype) ? tile_size_bytes(dtype) : element_size_bytes(dtype);
    const unsigned __int128 limit = uint64_t(1) << 47;
    for (int d = 0; d < shape.rank() && bytes <= limit * TILE_HEIGHT * TILE_WIDTH; ++d)
        bytes *= layout == Layout::TILE && d >= shape.rank() - 2 ? uint64_t(round_up(shape[d], TILE_WIDTH))
                                                                 : shape[d];
    if (is_block_float(dtype)) bytes /= TILE_HEIGHT * TILE_WIDTH;
    if (bytes > limit)
        fail(ErrorKind::InvalidArgument, op, "shape ", shape, " in ", to_string(dtype), " ",
             to_string(layout), " needs more than 2^47 bytes (128 TiB)");
}

Tensor allocate_tensor(const Shape& shape, DataType dtype, Layout layout, const MemoryConfig& memory_config,
                       const std::shared_ptr<DeviceImpl>& device, std::string_view op) {
    if (shape.rank() == 0)
        fail(ErrorKind::InvalidArgument, op, "a tensor needs rank >= 1, given a rank-0 shape");
    for (int d = 0; d < shape.rank(); ++d)
        if (shape[d] == 0) fail(ErrorKind::InvalidArgument, op, "shape ", shape, " has a zero-sized dim ", d);
    if (is_block_float(dtype) && layout != Layout::TILE)
        fail(ErrorKind::TypeMismatch, op, to_string(dtype), " requires Layout::TILE, given ",
             to_string(layout));
    check_storage_size(shape, dtype, layout, op);
    Shape padded = padded_shape_for(shape, layout);
    // Every op writes all logical values, so only tile padding needs the zeros.
    // (A rank-1 TILE tensor stores one logical row in 32-row tiles.)
    const bool has_padding = !(padded == shape) || (layout == Layout::TILE && shape.rank() < 2);
    const std::size_t size = storage_bytes(padded, dtype, layout);
    std::shared_ptr<Buffer> buffer;
    try {
        buffer = std::make_shared<Buffer>(size, has_padding);
    } catch (const std::bad_alloc&) {
        fail(ErrorKind::Runtime, op, "cannot allocate ", size, " bytes for shape ", shape, " in ",
             to_string(dtype));
    }
    return Tensor(std::move(buffer), shape, padded, dtype, layout, memory_config, device);
}

void fill_storage(const Tensor& t, float value) {
    MatrixView v = matrix_view(t);
    if (value == 0.0f && !std::signbit(value)) return;  // buffers start zeroed, and 0 encodes as zero bytes
    std::vector<float> row(std::size_t(v.padded_cols), value);
    // Write every padded row at full padded width, padding included.
    MatrixView full = v;
    full.rows = v.padded_rows;
    full.cols = v.padded_cols;
    for (int64_t b = 0; b < v.batch; ++b)
        for (int64_t r = 0; r < full.rows; ++r) full.write(b, r, 0, full.cols, row.data());
}

}  // namespace attnn::detail
