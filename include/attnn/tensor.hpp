// Tensor: a cheap handle to shared storage with a logical shape, a padded shape, a dtype,
// a layout, a memory config and (for device tensors) the device it lives on.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "attnn/device.hpp"
#include "attnn/types.hpp"

namespace attnn {

namespace detail {
struct Buffer;
}

class Tensor {
  public:
    Tensor() = default;

    const Shape& shape() const { return shape_; }  // the logical shape
    const Shape& logical_shape() const { return shape_; }
    // The stored shape: in TILE layout the last two dims round up to multiples of 32.
    const Shape& padded_shape() const { return padded_shape_; }
    DataType dtype() const { return dtype_; }
    Layout layout() const { return layout_; }
    const MemoryConfig& memory_config() const { return memory_config_; }
    // The device the tensor lives on; empty for a host tensor.
    std::optional<Device> device() const;
    bool is_allocated() const;
    bool storage_on_device() const { return device_ != nullptr; }
    std::size_t size_bytes() const;
    uint64_t volume() const { return shape_.volume(); }

    // TT-NN's repr: ttnn.Tensor([[...]], shape=Shape([6, 6]), dtype=DataType::BFLOAT16, layout=Layout::TILE)
    std::string to_string() const;

    // Internals used by ops and bindings.
    Tensor(std::shared_ptr<detail::Buffer> buffer, Shape shape, Shape padded_shape, DataType dtype,
           Layout layout, MemoryConfig memory_config, std::shared_ptr<detail::DeviceImpl> device);
    const std::shared_ptr<detail::Buffer>& buffer() const { return buffer_; }
    const std::shared_ptr<detail::DeviceImpl>& device_impl() const { return device_; }

  private:
    std::shared_ptr<detail::Buffer> buffer_;
    Shape shape_;
    Shape padded_shape_;
    DataType dtype_ = DataType::FLOAT32;
    Layout layout_ = Layout::ROW_MAJOR;
    MemoryConfig memory_config_{};
    std::shared_ptr<detail::DeviceImpl> device_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& tensor);

// How from_host places data. dtype defaults to the element type of the host data.
struct TensorOptions {
    std::optional<DataType> dtype;
    Layout layout = Layout::ROW_MAJOR;
    std::optional<Device> device;  // empty: a host tensor
    MemoryConfig memory_config = DRAM_MEMORY_CONFIG;
    float pad_value = 0.0f;  // fills the tile padding; use -inf for masks (BFLOAT16/FLOAT32:
                             // block floats take finite pads, and only 0 where shape[-1] % 16 != 0)
};

// Host data -> tensor. `data` holds shape.volume() values in row-major order.
Tensor from_host(std::span<const float> data, const Shape& shape, const TensorOptions& options = {});
Tensor from_host(std::span<const bfloat16> data, const Shape& shape, const TensorOptions& options = {});
Tensor from_host(std::span<const int32_t> data, const Shape& shape, const TensorOptions& options = {});
Tensor from_host(std::span<const uint32_t> data, const Shape& shape, const TensorOptions& options = {});
Tensor from_host(std::span<const double> data, const Shape& shape, const TensorOptions& options = {});
Tensor from_vector(const std::vector<float>& data, const Shape& shape, const TensorOptions& options = {});

// Tensor -> host values of its logical shape in row-major order, decoded to T.
template <class T>
std::vector<T> to_host(const Tensor& tensor);
extern template std::vector<float> to_host<float>(const Tensor&);
extern template std::vector<double> to_host<double>(const Tensor&);
extern template std::vector<int32_t> to_host<int32_t>(const Tensor&);
extern template std::vector<uint32_t> to_host<uint32_t>(const Tensor&);
extern template std::vector<bfloat16> to_host<bfloat16>(const Tensor&);
inline std::vector<float> to_vector(const Tensor& tensor) { return to_host<float>(tensor); }

Tensor to_device(const Tensor& tensor, Device& device,
                 const MemoryConfig& memory_config = DRAM_MEMORY_CONFIG);
Tensor from_device(const Tensor& tensor);  // a host copy
Tensor cpu(const Tensor& tensor);          // TT-NN's Tensor.cpu(): same as from_device

struct ToLayoutOptions {
    std::optional<DataType> dtype;
    std::optional<MemoryConfig> memory_config;
};
Tensor to_layout(const Tensor& tensor, Layout layout, const ToLayoutOptions& options = {});
Tensor typecast(const Tensor& tensor, DataType dtype, std::optional<MemoryConfig> memory_config = {});
Tensor clone(const Tensor& tensor);
// TT-NN's ttnn.copy(input_a, input_b): input_a's values written into input_b's own storage (every
// handle of input_b sees them), encoded in input_b's dtype and layout; the logical shapes must be
// equal. A decode loop refreshes a tensor this way without changing which tensor a program holds.
void copy(const Tensor& input_a, Tensor& input_b);
// TT-NN's copy_host_to_device_tensor: the same in-place copy for tensors of one shape, dtype and
// layout (the byte copy TT-NN makes); device_tensor must live on a device.
void copy_host_to_device_tensor(const Tensor& host_tensor, Tensor& device_tensor);
// Frees the storage of `tensor` and of every handle sharing it; using it afterwards throws.
void deallocate(Tensor& tensor);

// An all-`value` tensor of the given shape.
Tensor full(const Shape& shape, float value, const TensorOptions& options = {});
Tensor zeros(const Shape& shape, const TensorOptions& options = {});
Tensor ones(const Shape& shape, const TensorOptions& options = {});

}  // namespace attnn
