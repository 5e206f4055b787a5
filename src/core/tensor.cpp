#include "attnn/tensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <sstream>

#include "attnn/error.hpp"
#include "core/buffer.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"

namespace attnn {

using detail::MatrixView;

Tensor::Tensor(std::shared_ptr<detail::Buffer> buffer, Shape shape, Shape padded_shape, DataType dtype,
               Layout layout, MemoryConfig memory_config, std::shared_ptr<detail::DeviceImpl> device)
    : buffer_(std::move(buffer)),
      shape_(shape),
      padded_shape_(padded_shape),
      dtype_(dtype),
      layout_(layout),
      memory_config_(memory_config),
      device_(std::move(device)) {}

std::optional<Device> Tensor::device() const {
    if (!device_) return std::nullopt;
    return Device(device_);
}

bool Tensor::is_allocated() const { return buffer_ && !buffer_->released && (!device_ || device_->open); }

std::size_t Tensor::size_bytes() const { return buffer_ ? buffer_->size : 0; }

namespace {

// Runs fn(row_index) over all batch*rows rows, on the device's workers when there is one (under
// its op lock: the device cannot close meanwhile; `op` fails if it has).
template <class F>
void for_each_row(std::string_view op, const std::shared_ptr<detail::DeviceImpl>& device, int64_t rows,
                  F&& fn) {
    constexpr int64_t rows_per_task = 64;
    int64_t tasks = (rows + rows_per_task - 1) / rows_per_task;
    auto task = [&](int64_t t, int) {
        int64_t end = std::min(rows, (t + 1) * rows_per_task);
        for (int64_t r = t * rows_per_task; r < end; ++r) fn(r);
    };
    detail::DeviceLocks lock(op, device.get());
    if (device)
        device->pool->parallel_for(tasks, task);
    else
        for (int64_t t = 0; t < tasks; ++t) task(t, 0);
}

bool is_integer(DataType d) { return d == DataType::INT32 || d == DataType::UINT32; }

template <class T>
constexpr DataType natural_dtype() {
    if constexpr (std::is_same_v<T, bfloat16>) return DataType::BFLOAT16;
    if constexpr (std::is_same_v<T, int32_t>) return DataType::INT32;
    if constexpr (std::is_same_v<T, uint32_t>) return DataType::UINT32;
    return DataType::FLOAT32;
}

template <class T>
float to_f32(T v) {
    if constexpr (std::is_same_v<T, bfloat16>) return v.to_float();
    return float(v);
}

template <class T>
Tensor from_host_impl(std::span<const T> data, const Shape& shape, const TensorOptions& options) {
    const char* op = "from_host";
    if (shape.rank() == 0) detail::fail(ErrorKind::InvalidArgument, op, "shape must have rank >= 1");
    if (data.size() != shape.volume())
        detail::fail(ErrorKind::InvalidArgument, op, "data holds ", data.size(), " values but shape ", shape,
                     " needs ", shape.volume());
    DataType dtype = options.dtype.value_or(natural_dtype<T>());
    // A face row's 16 values share one exponent: an infinite pad beside finite values would take
    // the exponent and flush those values to zero.
    if (is_block_float(dtype) && !std::isfinite(options.pad_value))
        detail::fail(ErrorKind::InvalidArgument, op, "pad_value=", options.pad_value, " cannot pad ",
                     to_string(dtype),
                     ": the padding shares block exponents with the values, which would read back as 0; "
                     "store masks that need -inf padding in DataType::BFLOAT16 or FLOAT32");
    // A finite pad shares the last group's exponent too where the width is not a multiple of 16
    // (a -1e9 beside values of 0.3 zeroes them); whole padding groups have exponents of their own.
    if (is_block_float(dtype) && options.layout == Layout::TILE && options.pad_value != 0.0f &&
        shape[shape.rank() - 1] % FACE_WIDTH != 0)
        detail::fail(
            ErrorKind::InvalidArgument, op, "pad_value=", options.pad_value, " cannot pad ", to_string(dtype),
            " of width shape[-1]=", shape[shape.rank() - 1],
            ": its last 16-value group shares one exponent between values and padding, and the "
            "values would lose their precision; pad with 0, or store in DataType::BFLOAT16 or FLOAT32");
    std::shared_ptr<detail::DeviceImpl> device;
    if (options.device) {
        device = options.device->impl();
        if (!device || !device->usable()) detail::fail(ErrorKind::Runtime, op, "the target device is closed");
    }
    Tensor t = detail::allocate_tensor(shape, dtype, options.layout, options.memory_config, device, op);
    if (options.layout == Layout::TILE) detail::fill_storage(t, options.pad_value);
    MatrixView v = detail::matrix_view(t, op);
    const bool raw_int = is_integer(dtype) && (std::is_same_v<T, int32_t> || std::is_same_v<T, uint32_t>);
    for_each_row(op, device, v.batch * v.rows, [&](int64_t row) {
        int64_t b = row / v.rows, r = row % v.rows;
        const T* src = data.data() + row * v.cols;
        if constexpr (std::is_integral_v<T>) {
            if (raw_int) {
                for (int64_t c = 0; c < v.cols; ++c) {
                    // INT32 <-> UINT32 reinterpret the 32 bits, as a C cast would
                    uint32_t bits = uint32_t(src[c]);
                    std::memcpy(v.element(b, r, c), &bits, 4);
                }
                return;
            }
        }
        std::vector<float> tmp(std::size_t(v.cols));
        for (int64_t c = 0; c < v.cols; ++c) tmp[c] = to_f32(src[c]);
        v.write(b, r, 0, v.cols, tmp.data());
    });
    return t;
}

}  // namespace

Tensor from_host(std::span<const float> data, const Shape& shape, const TensorOptions& options) {
    return from_host_impl(data, shape, options);
}
Tensor from_host(std::span<const bfloat16> data, const Shape& shape, const TensorOptions& options) {
    return from_host_impl(data, shape, options);
}
Tensor from_host(std::span<const int32_t> data, const Shape& shape, const TensorOptions& options) {
    return from_host_impl(data, shape, options);
}
Tensor from_host(std::span<const uint32_t> data, const Shape& shape, const TensorOptions& options) {
    return from_host_impl(data, shape, options);
}
Tensor from_host(std::span<const double> data, const Shape& shape, const TensorOptions& options) {
    const DataType dtype = options.dtype.value_or(DataType::FLOAT32);
    if (is_integer(dtype)) {  // straight to the integers (through fp32, 16777217 would read 16777216)
        const double lo = dtype == DataType::INT32 ? double(INT32_MIN) : 0.0,
                     hi = dtype == DataType::INT32 ? double(INT32_MAX) : double(UINT32_MAX);
        std::vector<uint32_t> bits(data.size());
        for (std::size_t i = 0; i < data.size(); ++i) {  // nearest even, saturated, NaN 0: as typecast
            const double v = std::isnan(data[i]) ? 0.0 : std::clamp(std::nearbyint(data[i]), lo, hi);
            bits[i] = dtype == DataType::INT32 ? uint32_t(int32_t(v)) : uint32_t(v);
        }
        return from_host_impl(std::span<const uint32_t>(bits), shape, options);
    }
    std::vector<float> f(data.begin(), data.end());
    return from_host_impl(std::span<const float>(f), shape, options);
}
Tensor from_vector(const std::vector<float>& data, const Shape& shape, const TensorOptions& options) {
    return from_host(std::span<const float>(data), shape, options);
}

template <class T>
std::vector<T> to_host(const Tensor& tensor) {
    // Under the device's op lock, like every op: an in-place op on another thread (update_cache,
    // plus_one, copy) is read all or not at all.
    detail::DeviceLocks lock("to_host", tensor.device_impl().get());
    MatrixView v = detail::matrix_view(tensor, "to_host");
    std::vector<T> out(tensor.volume());
    // INT32 / UINT32 values read as their bits: reinterpreted into int32_t / uint32_t (as a C cast
    // would), exactly into double (fp32 would round them).
    constexpr bool raw_type =
        std::is_same_v<T, int32_t> || std::is_same_v<T, uint32_t> || std::is_same_v<T, double>;
    const bool raw_int = raw_type && is_integer(tensor.dtype());
    for_each_row("to_host", tensor.device_impl(), v.batch * v.rows, [&](int64_t row) {
        int64_t b = row / v.rows, r = row % v.rows;
        T* dst = out.data() + row * v.cols;
        if constexpr (raw_type) {
            if (raw_int) {
                for (int64_t c = 0; c < v.cols; ++c) {
                    uint32_t bits;
                    std::memcpy(&bits, v.element(b, r, c), 4);
                    if constexpr (std::is_same_v<T, double>)
                        dst[c] = tensor.dtype() == DataType::INT32 ? double(int32_t(bits)) : double(bits);
                    else
                        dst[c] = T(bits);
                }
                return;
            }
        }
        std::vector<float> tmp(std::size_t(v.cols));
        v.read(b, r, 0, v.cols, tmp.data());
        for (int64_t c = 0; c < v.cols; ++c) {
            if constexpr (std::is_same_v<T, bfloat16>)
                dst[c] = bfloat16(tmp[c]);
            else if constexpr (std::is_integral_v<T>)
                dst[c] = detail::to_integer<T>(tmp[c]);
            else
                dst[c] = T(tmp[c]);
        }
    });
    return out;
}
template std::vector<float> to_host<float>(const Tensor&);
template std::vector<double> to_host<double>(const Tensor&);
template std::vector<int32_t> to_host<int32_t>(const Tensor&);
template std::vector<uint32_t> to_host<uint32_t>(const Tensor&);
template std::vector<bfloat16> to_host<bfloat16>(const Tensor&);

namespace {

// Copies the logical values of src into a new tensor with the given layout/dtype/placement.
Tensor convert(const Tensor& src, DataType dtype, Layout layout, const MemoryConfig& memory_config,
               const std::shared_ptr<detail::DeviceImpl>& device, const char* op) {
    // src read as an op would (see to_host); the target device cannot close while it is written.
    detail::DeviceLocks lock(op, src.device_impl().get(), device.get());
    detail::require_allocated(src, op, "tensor");
    Tensor dst = detail::allocate_tensor(src.shape(), dtype, layout, memory_config, device, op);
    MatrixView in = detail::matrix_view(src, op), out = detail::matrix_view(dst, op);
    // Same storage format: one copy of the bytes.
    if (src.dtype() == dtype && src.layout() == layout) {
        std::memcpy(dst.buffer()->data, src.buffer()->data, src.buffer()->size);
        return dst;
    }
    const bool raw_int = is_integer(src.dtype()) && is_integer(dtype);
    for_each_row(op, device ? device : src.device_impl(), in.batch * in.rows, [&](int64_t row) {
        int64_t b = row / in.rows, r = row % in.rows;
        if (raw_int) {
            for (int64_t c = 0; c < in.cols; ++c) std::memcpy(out.element(b, r, c), in.element(b, r, c), 4);
            return;
        }
        std::vector<float> tmp(std::size_t(in.cols));
        in.read(b, r, 0, in.cols, tmp.data());
        out.write(b, r, 0, in.cols, tmp.data());
    });
    return dst;
}

}  // namespace

Tensor to_device(const Tensor& tensor, Device& device, const MemoryConfig& memory_config) {
    auto impl = device.impl();
    if (!impl || !impl->open) detail::fail(ErrorKind::Runtime, "to_device", "the target device is closed");
    return convert(tensor, tensor.dtype(), tensor.layout(), memory_config, impl, "to_device");
}

Tensor from_device(const Tensor& tensor) {
    return convert(tensor, tensor.dtype(), tensor.layout(), tensor.memory_config(), nullptr, "from_device");
}

Tensor cpu(const Tensor& tensor) { return from_device(tensor); }

Tensor to_layout(const Tensor& tensor, Layout layout, const ToLayoutOptions& options) {
    detail::require_allocated(tensor, "to_layout", "tensor");
    DataType dtype = options.dtype.value_or(tensor.dtype());
    if (is_block_float(dtype) && layout != Layout::TILE)
        detail::fail(ErrorKind::TypeMismatch, "to_layout", to_string(dtype),
                     " exists only in Layout::TILE; typecast to DataType::BFLOAT16 or FLOAT32 before "
                     "converting to Layout::ROW_MAJOR");
    if (layout == tensor.layout() && dtype == tensor.dtype() &&
        (!options.memory_config || *options.memory_config == tensor.memory_config()))
        return tensor;
    return convert(tensor, dtype, layout, options.memory_config.value_or(tensor.memory_config()),
                   tensor.device_impl(), "to_layout");
}

Tensor typecast(const Tensor& tensor, DataType dtype, std::optional<MemoryConfig> memory_config) {
    detail::require_allocated(tensor, "typecast", "tensor");
    if (is_block_float(dtype) && tensor.layout() != Layout::TILE)
        detail::fail(ErrorKind::TypeMismatch, "typecast", to_string(dtype),
                     " requires Layout::TILE, given a tensor in ", to_string(tensor.layout()));
    return convert(tensor, dtype, tensor.layout(), memory_config.value_or(tensor.memory_config()),
                   tensor.device_impl(), "typecast");
}

Tensor clone(const Tensor& tensor) {
    return convert(tensor, tensor.dtype(), tensor.layout(), tensor.memory_config(), tensor.device_impl(),
                   "clone");
}

namespace {

// from's values into to's own storage, through the one conversion every copy uses. Both
// devices' op locks are held from the read to the write (taken together, so two copies in
// opposite directions cannot deadlock): an in-place update of either is seen all or not at all.
void copy_into(const char* op, const Tensor& from, const char* from_name, Tensor& to, const char* to_name) {
    detail::require_allocated(from, op, from_name);
    detail::require_allocated(to, op, to_name);
    ATTNN_CHECK(from.shape() == to.shape(), op, "the shapes differ: ", from_name, ".shape=", from.shape(),
                ", ", to_name, ".shape=", to.shape());
    if (from.buffer() == to.buffer()) return;
    detail::DeviceLocks lock(op, from.device_impl().get(), to.device_impl().get());
    Tensor converted = convert(from, to.dtype(), to.layout(), to.memory_config(), nullptr, op);
    std::memcpy(to.buffer()->data, converted.buffer()->data, converted.buffer()->size);
}

}  // namespace

void copy(const Tensor& input_a, Tensor& input_b) {
    copy_into("copy", input_a, "input_a", input_b, "input_b");
}

void copy_host_to_device_tensor(const Tensor& host_tensor, Tensor& device_tensor) {
    const char* op = "copy_host_to_device_tensor";
    detail::require_allocated(host_tensor, op, "host_tensor");
    detail::require_allocated(device_tensor, op, "device_tensor");
    ATTNN_CHECK(device_tensor.storage_on_device(), op,
                "device_tensor is a host tensor; expected a tensor on a device");
    ATTNN_CHECK(
        !host_tensor.storage_on_device(), op,
        "host_tensor is on a device; expected a host tensor (ttnn.copy copies between device tensors)");
    ATTNN_CHECK_TYPE(
        host_tensor.dtype() == device_tensor.dtype() && host_tensor.layout() == device_tensor.layout(), op,
        "host_tensor is ", to_string(host_tensor.dtype()), " in ", to_string(host_tensor.layout()),
        ", device_tensor ", to_string(device_tensor.dtype()), " in ", to_string(device_tensor.layout()),
        "; they must match (ttnn.copy converts)");
    copy_into(op, host_tensor, "host_tensor", device_tensor, "device_tensor");
}

void deallocate(Tensor& tensor) {
    // After an op running on another thread, which may be reading the storage (an op still to
    // start re-checks its inputs under the lock, in matrix_view). No lock on a forked child's copy
    // of its parent's device: no op runs there, and a thread it lacks may hold the lock.
    const auto& device = tensor.device_impl();
    std::unique_lock<std::recursive_mutex> lock;
    if (device && !device->forked()) lock = std::unique_lock(device->op_mutex);
    if (tensor.buffer()) tensor.buffer()->release();
}

Tensor full(const Shape& shape, float value, const TensorOptions& options) {
    detail::check_storage_size(shape, options.dtype.value_or(DataType::FLOAT32), options.layout, "full");
    std::vector<float> data;
    try {
        data.assign(shape.volume(), value);
    } catch (const std::exception&) {  // bad_alloc, or length_error past the vector's limit
        detail::fail(ErrorKind::Runtime, "full", "cannot allocate ", shape.volume(), " values for shape ",
                     shape);
    }
    return from_host(std::span<const float>(data), shape, options);
}
Tensor zeros(const Shape& shape, const TensorOptions& options) { return full(shape, 0.0f, options); }
Tensor ones(const Shape& shape, const TensorOptions& options) { return full(shape, 1.0f, options); }

// ---- printing ---------------------------------------------------------------------------

namespace {
// TT-NN prints the first and last two entries of every dim longer than four.
constexpr uint32_t edge_items = 2;
constexpr uint32_t summarize_above = 4;

// How a value prints: integers exactly; floats as %8.5f, or %.5e for the whole tensor where its
// largest finite magnitude reaches 1e8 (fixed notation would run to 40 digits).
enum class Notation { integer, fixed, scientific };

void print_dim(std::ostream& os, const std::vector<double>& values, const Shape& shape, int dim,
               uint64_t offset, int indent, Notation notation) {
    uint32_t n = shape[dim];
    uint64_t stride = 1;
    for (int d = dim + 1; d < shape.rank(); ++d) stride *= shape[d];
    bool summarize = n > summarize_above;
    os << '[';
    bool first = true;
    for (uint32_t i = 0; i < n; ++i) {
        if (summarize && i == edge_items) {
            os << (dim + 1 == shape.rank() ? ",  ..." : ",\n" + std::string(indent + 1, ' ') + "...");
            i = n - edge_items;
        }
        if (!first) os << (dim + 1 == shape.rank() ? ", " : ",\n" + std::string(indent + 1, ' '));
        first = false;
        if (dim + 1 == shape.rank()) {
            char buf[64];
            const double x = values[offset + i];
            if (notation == Notation::integer)
                std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(x));
            else
                std::snprintf(buf, sizeof buf, notation == Notation::fixed ? "%8.5f" : "%.5e", x);
            os << buf;
        } else {
            print_dim(os, values, shape, dim + 1, offset + i * stride, indent + 1, notation);
        }
    }
    os << ']';
}
}  // namespace

std::string Tensor::to_string() const {
    std::ostringstream os;
    os << "ttnn.Tensor(";
    if (!is_allocated()) {
        os << "<deallocated>";
    } else {
        const std::vector<double> values = to_host<double>(*this);
        double largest = 0;
        for (double x : values)
            if (std::isfinite(x)) largest = std::max(largest, std::fabs(x));
        const Notation notation = is_integer(dtype_) ? Notation::integer
                                  : largest >= 1e8   ? Notation::scientific
                                                     : Notation::fixed;
        print_dim(os, values, shape_, 0, 0, 12, notation);
    }
    os << ", shape=" << shape_ << ", dtype=" << attnn::to_string(dtype_)
       << ", layout=" << attnn::to_string(layout_) << ")";
    return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& tensor) { return os << tensor.to_string(); }

}  // namespace attnn
