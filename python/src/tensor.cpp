#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstring>
#include <limits>

#include "convert.hpp"

namespace attnn::python {

namespace {

using HostArray = nb::ndarray<nb::ro, nb::c_contig, nb::device::cpu>;

template <class T>
nb::object numpy_array(std::vector<T>&& values, const Shape& shape) {
    return python::numpy_array(std::move(values), std::vector<size_t>(shape.dims().begin(), shape.dims().end()));
}

// numpy array (C-contiguous, on the CPU) -> tensor. bfloat16 arrays arrive as their uint16 bits
// (the Python layer views ml_dtypes.bfloat16 as uint16 and sets bf16_bits).
Tensor from_array(const char* op, const HostArray& a, bool bf16_bits, const TensorOptions& options) {
    if (a.ndim() < 1 || a.ndim() > size_t(Shape::max_rank))
        detail::fail(ErrorKind::InvalidArgument, op, "tensor: expected rank 1..", Shape::max_rank, ", given an array of rank ",
                     a.ndim());
    std::vector<uint32_t> dims(a.ndim());
    for (size_t i = 0; i < a.ndim(); ++i) {
        if (a.shape(i) > std::numeric_limits<uint32_t>::max())
            detail::fail(ErrorKind::InvalidArgument, op, "tensor: dim ", i, " = ", a.shape(i), " exceeds 2^32 - 1");
        dims[i] = uint32_t(a.shape(i));
    }
    const Shape shape(dims);
    const size_t n = a.size();
    const void* data = a.data();
    const auto dt = a.dtype();
    if (bf16_bits && dt == nb::dtype<uint16_t>())
        return from_host(std::span<const bfloat16>(static_cast<const bfloat16*>(data), n), shape, options);
    if (dt == nb::dtype<float>()) return from_host(std::span<const float>(static_cast<const float*>(data), n), shape, options);
    if (dt == nb::dtype<double>())
        return from_host(std::span<const double>(static_cast<const double*>(data), n), shape, options);
    if (dt == nb::dtype<int32_t>())
        return from_host(std::span<const int32_t>(static_cast<const int32_t*>(data), n), shape, options);
    if (dt == nb::dtype<uint32_t>())
        return from_host(std::span<const uint32_t>(static_cast<const uint32_t*>(data), n), shape, options);
    detail::fail(ErrorKind::TypeMismatch, op,
                 "tensor: expected an array of float32, float64, bfloat16, int32 or uint32, given dtype code ",
                 int(dt.code), " with ", int(dt.bits), " bits");
}

// tensor -> numpy array of its logical shape: float32 for FLOAT32 and the block floats, the
// uint16 bits for BFLOAT16 (viewed as ml_dtypes.bfloat16 by the Python layer), int32, uint32.
// The values are read with the GIL released; the array is made with it held.
template <class T>
std::vector<T> host_values(const Tensor& t) {
    nb::gil_scoped_release released;
    return to_host<T>(t);
}
nb::object to_array(const Tensor& t) {
    switch (t.dtype()) {
        case DataType::BFLOAT16: {
            std::vector<bfloat16> v = host_values<bfloat16>(t);
            std::vector<uint16_t> bits(v.size());
            if (!v.empty()) std::memcpy(bits.data(), v.data(), v.size() * sizeof(uint16_t));
            return numpy_array(std::move(bits), t.shape());
        }
        case DataType::INT32: return numpy_array(host_values<int32_t>(t), t.shape());
        case DataType::UINT32: return numpy_array(host_values<uint32_t>(t), t.shape());
        default: return numpy_array(host_values<float>(t), t.shape());
    }
}

Tensor to_layout_py(const Tensor& t, Layout layout, std::optional<DataType> dtype,
                    std::optional<MemoryConfig> memory_config, std::optional<Device> device) {
    Tensor out = to_layout(t, layout, ToLayoutOptions{.dtype = dtype, .memory_config = memory_config});
    if (device) {
        out = to_device(out, *device, memory_config.value_or(out.memory_config()));
    }
    return out;
}

Tensor reshape_py(const Tensor& t, nb::handle shape, std::optional<MemoryConfig> memory_config) {
    return reshape(t, to_shape(shape, "reshape", "shape", t.volume()), memory_config);
}

Tensor creation(const char* op, nb::handle shape, float value, std::optional<DataType> dtype, Layout layout,
                std::optional<Device> device, std::optional<MemoryConfig> memory_config) {
    return full(to_shape(shape, op, "shape"), value,
                TensorOptions{.dtype = dtype.value_or(DataType::BFLOAT16),
                              .layout = layout,
                              .device = device,
                              .memory_config = memory_config.value_or(DRAM_MEMORY_CONFIG)});
}

}  // namespace

// A Python int, or anything that says it is one (__index__: numpy's integers): its value.
std::optional<int64_t> as_index(nb::handle item) {
    if (nb::isinstance<nb::int_>(item)) return nb::cast<int64_t>(item);
    if (nb::isinstance<nb::float_>(item) || !PyIndex_Check(item.ptr())) return std::nullopt;
    nb::object index = nb::steal(PyNumber_Index(item.ptr()));
    if (!index.is_valid()) throw nb::python_error();
    return nb::cast<int64_t>(index);
}

Shape to_shape(nb::handle obj, const char* op, const char* arg, std::optional<uint64_t> infer_volume) {
    if (nb::isinstance<Shape>(obj)) return nb::cast<Shape>(obj);
    if (!nb::isinstance<nb::sequence>(obj) || nb::isinstance<nb::str>(obj))
        detail::fail(ErrorKind::TypeMismatch, op, arg, ": expected a Shape or a sequence of ints, given ",
                     nb::cast<std::string>(nb::str(obj.type())));
    std::vector<int64_t> dims;
    for (nb::handle item : obj) {
        const std::optional<int64_t> dim = as_index(item);
        if (!dim)
            detail::fail(ErrorKind::TypeMismatch, op, arg, ": expected ints, given an element of type ",
                         nb::cast<std::string>(nb::str(item.type())));
        dims.push_back(*dim);
    }
    if (dims.empty() || dims.size() > size_t(Shape::max_rank))
        detail::fail(ErrorKind::InvalidArgument, op, arg, ": expected 1..", Shape::max_rank, " dims, given ",
                     dims.size());
    int infer_at = -1;
    uint64_t known = 1;
    for (size_t i = 0; i < dims.size(); ++i) {
        if (dims[i] == -1 && infer_volume && infer_at < 0) {
            infer_at = int(i);
            continue;
        }
        if (dims[i] < 0 || dims[i] > int64_t(std::numeric_limits<uint32_t>::max()))
            detail::fail(ErrorKind::InvalidArgument, op, arg, "[", i, "]=", dims[i],
                         infer_volume ? " must be in [0, 2^32) or a single -1" : " must be in [0, 2^32)");
        known *= uint64_t(dims[i]);
    }
    if (infer_at >= 0) {
        if (known == 0 || *infer_volume % known != 0)
            detail::fail(ErrorKind::InvalidArgument, op, arg, ": cannot infer the -1 dim: volume ", *infer_volume,
                         " is not a multiple of ", known);
        dims[size_t(infer_at)] = int64_t(*infer_volume / known);
    }
    std::vector<uint32_t> u(dims.begin(), dims.end());
    return Shape(u);
}

void bind_tensor(nb::module_& m) {
    nb::class_<Shape>(m, "Shape")
        .def(
            "__init__", [](Shape* s, nb::handle dims) { new (s) Shape(to_shape(dims, "Shape", "dims")); },
            nb::arg("dims"))
        .def("__len__", &Shape::rank)
        .def_prop_ro("rank", &Shape::rank)
        .def("__getitem__",
             [](const Shape& s, int i) {
                 if (i < -s.rank() || i >= s.rank()) throw nb::index_error("Shape index out of range");
                 return s[i];
             })
        .def("__getitem__",  // a slice gives a tuple of ints (it may be empty, which no Shape is)
             [](const Shape& s, nb::slice slice) {
                 auto [start, stop, step, n] = slice.compute(size_t(s.rank()));
                 nb::list dims;
                 for (size_t i = 0; i < n; ++i)
                     dims.append(s[int(Py_ssize_t(start) + Py_ssize_t(i) * Py_ssize_t(step))]);
                 return nb::steal<nb::tuple>(PyList_AsTuple(dims.ptr()));
             })
        .def("__iter__", [](const Shape& s) { return nb::iter(nb::cast(s.to_vector())); })
        .def("__eq__",
             [](const Shape& s, nb::handle other) {
                 if (nb::isinstance<Shape>(other)) return s == nb::cast<Shape>(other);
                 if (!nb::isinstance<nb::sequence>(other) || nb::isinstance<nb::str>(other)) return false;
                 std::vector<uint32_t> v = s.to_vector();
                 if (nb::len(other) != v.size()) return false;
                 size_t i = 0;
                 for (nb::handle item : other) {
                     const std::optional<int64_t> dim = as_index(item);
                     if (!dim || *dim != int64_t(v[i++])) return false;
                 }
                 return true;
             })
        .def("__hash__", [](const Shape& s) { return nb::hash(nb::tuple(nb::cast(s.to_vector()))); })
        .def("volume", &Shape::volume)
        .def("to_list", &Shape::to_vector)
        .def("__repr__", &Shape::to_string);

    auto tensor_class = nb::class_<Tensor>(m, "Tensor");
    // numpy must not broadcast its ufuncs over a Tensor as over an object (t + ndarray made an
    // object array of Tensors): with __array_ufunc__ None it defers, and the mix is a TypeError.
    tensor_class.attr("__array_ufunc__") = nb::none();
    tensor_class.def_prop_ro("shape", &Tensor::shape)
        .def_prop_ro("logical_shape", &Tensor::logical_shape)
        .def_prop_ro("padded_shape", &Tensor::padded_shape)
        .def_prop_ro("dtype", &Tensor::dtype)
        .def_prop_ro("layout", &Tensor::layout)
        .def("get_dtype", &Tensor::dtype)
        .def("get_layout", &Tensor::layout)
        .def("memory_config", &Tensor::memory_config)
        .def("device", &Tensor::device)
        .def("is_allocated", &Tensor::is_allocated)
        .def("storage_on_device", &Tensor::storage_on_device)
        .def("volume", &Tensor::volume)
        .def("size_bytes", &Tensor::size_bytes)
        .def(
            "cpu", [](const Tensor& t) { return cpu(t); }, release_gil())
        .def(
            "to",
            [](const Tensor& t, Device& d, std::optional<MemoryConfig> mc) {
                return to_device(t, d, mc.value_or(DRAM_MEMORY_CONFIG));
            },
            nb::arg("device"), nb::arg("memory_config") = nb::none(), release_gil())
        .def(
            "to", [](const Tensor& t, Layout l) { return to_layout(t, l); }, nb::arg("layout"), release_gil())
        .def("reshape",
             [](const Tensor& t, nb::args shape) {
                 if (shape.size() == 1 && !nb::isinstance<nb::int_>(shape[0]))
                     return reshape_py(t, shape[0], {});
                 return reshape_py(t, shape, {});
             })
        .def(
            "deallocate", [](Tensor& t, bool) { deallocate(t); }, nb::arg("force") = true, release_gil())
        .def("__repr__", &Tensor::to_string)
        .def("__str__", &Tensor::to_string)
        .def("to_numpy", [](nb::handle self) { return nb::module_::import_("attnn").attr("to_numpy")(self); })
        .def("to_torch", [](nb::handle self) { return nb::module_::import_("attnn").attr("to_torch")(self); })
        // Operators: the ops with their default options.
        .def(
            "__matmul__", [](const Tensor& a, const Tensor& b) { return matmul(a, b); }, nb::is_operator(),
            release_gil())
        .def(
            "__add__", [](const Tensor& a, const Tensor& b) { return add(a, b); }, nb::is_operator(),
            release_gil())
        .def(
            "__add__", [](const Tensor& a, float b) { return add(a, b); }, nb::is_operator(), release_gil())
        .def(
            "__radd__", [](const Tensor& a, float b) { return add(a, b); }, nb::is_operator(), release_gil())
        .def(
            "__sub__", [](const Tensor& a, const Tensor& b) { return subtract(a, b); }, nb::is_operator(),
            release_gil())
        .def(
            "__sub__", [](const Tensor& a, float b) { return subtract(a, b); }, nb::is_operator(),
            release_gil())
        .def(
            "__rsub__", [](const Tensor& a, float b) { return add(multiply(a, -1.0f), b); },
            nb::is_operator(), release_gil())
        .def(
            "__mul__", [](const Tensor& a, const Tensor& b) { return multiply(a, b); }, nb::is_operator(),
            release_gil())
        .def(
            "__mul__", [](const Tensor& a, float b) { return multiply(a, b); }, nb::is_operator(),
            release_gil())
        .def(
            "__rmul__", [](const Tensor& a, float b) { return multiply(a, b); }, nb::is_operator(),
            release_gil())
        .def(
            "__truediv__",
            [](const Tensor& a, float b) {
                if (b == 0.0f) detail::fail(ErrorKind::InvalidArgument, "divide", "the scalar divisor is 0");
                return multiply(a, 1.0f / b);
            },
            nb::is_operator(), release_gil())
        .def(
            "__neg__", [](const Tensor& a) { return multiply(a, -1.0f); }, release_gil());

    // Host data <-> tensors (the Python layer's from_numpy / to_numpy / from_torch / to_torch).
    m.def(
        "_from_array",
        [](const std::string& op, const HostArray& a, bool bf16_bits, std::optional<DataType> dtype, Layout layout,
           std::optional<Device> device, std::optional<MemoryConfig> memory_config, std::optional<float> pad_value) {
            return from_array(op.c_str(), a, bf16_bits,
                              TensorOptions{.dtype = dtype,
                                            .layout = layout,
                                            .device = device,
                                            .memory_config = memory_config.value_or(DRAM_MEMORY_CONFIG),
                                            .pad_value = pad_value.value_or(0.0f)});
        },
        nb::arg("op"), nb::arg("array"), nb::arg("bf16_bits"), nb::arg("dtype").none(), nb::arg("layout"), nb::arg("device").none(),
        nb::arg("memory_config").none(), nb::arg("pad_value").none(), release_gil());
    m.def("_to_array", &to_array, nb::arg("tensor"));

    m.def("to_device", [](const Tensor& t, Device& d, std::optional<MemoryConfig> mc) { return to_device(t, d, mc.value_or(DRAM_MEMORY_CONFIG)); },
          nb::arg("tensor"), nb::arg("device"), nb::arg("memory_config") = nb::none(), release_gil());
    m.def("from_device", [](const Tensor& t) { return from_device(t); }, nb::arg("tensor"), release_gil());
    m.def("to_layout", &to_layout_py, nb::arg("tensor"), nb::arg("layout"), nb::arg("dtype") = nb::none(),
          nb::arg("memory_config") = nb::none(), nb::arg("device") = nb::none(), release_gil());
    m.def("typecast", [](const Tensor& t, DataType d, std::optional<MemoryConfig> mc) { return typecast(t, d, mc); },
          nb::arg("input_tensor"), nb::arg("dtype"), nb::kw_only(), nb::arg("memory_config") = nb::none(), release_gil());
    m.def("clone", [](const Tensor& t) { return clone(t); }, nb::arg("input_tensor"), release_gil());
    // Waits for an op on another thread (which may be reading the tensor): without the GIL.
    m.def(
        "deallocate", [](Tensor& t, bool) { deallocate(t); }, nb::arg("tensor"), nb::arg("force") = true,
        release_gil());

    m.def("reshape", &reshape_py, nb::arg("input_tensor"), nb::arg("shape"), nb::kw_only(),
          nb::arg("memory_config") = nb::none());
    m.def("permute",
          [](const Tensor& t, const std::vector<int64_t>& dims, std::optional<MemoryConfig> mc) { return permute(t, dims, mc); },
          nb::arg("input_tensor"), nb::arg("dims"), nb::kw_only(), nb::arg("memory_config") = nb::none(), release_gil());
    m.def(
        "slice",
        [](const Tensor& t, const std::vector<int64_t>& start, const std::vector<int64_t>& end,
           std::optional<std::vector<int64_t>> step, std::optional<MemoryConfig> mc) {
            return slice(t, start, end, step.value_or(std::vector<int64_t>{}), mc);
        },
        nb::arg("input_tensor"), nb::arg("slice_start"), nb::arg("slice_end"), nb::arg("slice_step") = nb::none(),
        nb::kw_only(), nb::arg("memory_config") = nb::none(), release_gil());
    m.def(
        "transpose",
        [](const Tensor& t, int dim1, int dim2, std::optional<MemoryConfig> mc) {
            return transpose(t, dim1, dim2, mc);
        },
        nb::arg("input_tensor"), nb::arg("dim1"), nb::arg("dim2"), nb::kw_only(),
        nb::arg("memory_config") = nb::none(), release_gil());

    m.def("full",
          [](nb::handle shape, float fill_value, std::optional<DataType> dtype, Layout layout, std::optional<Device> device,
             std::optional<MemoryConfig> mc) { return creation("full", shape, fill_value, dtype, layout, device, mc); },
          nb::arg("shape"), nb::arg("fill_value"), nb::arg("dtype") = nb::none(), nb::arg("layout") = Layout::ROW_MAJOR,
          nb::arg("device") = nb::none(), nb::arg("memory_config") = nb::none());
    m.def("zeros",
          [](nb::handle shape, std::optional<DataType> dtype, Layout layout, std::optional<Device> device,
             std::optional<MemoryConfig> mc) { return creation("zeros", shape, 0.0f, dtype, layout, device, mc); },
          nb::arg("shape"), nb::arg("dtype") = nb::none(), nb::arg("layout") = Layout::ROW_MAJOR,
          nb::arg("device") = nb::none(), nb::arg("memory_config") = nb::none());
    m.def("ones",
          [](nb::handle shape, std::optional<DataType> dtype, Layout layout, std::optional<Device> device,
             std::optional<MemoryConfig> mc) { return creation("ones", shape, 1.0f, dtype, layout, device, mc); },
          nb::arg("shape"), nb::arg("dtype") = nb::none(), nb::arg("layout") = Layout::ROW_MAJOR,
          nb::arg("device") = nb::none(), nb::arg("memory_config") = nb::none());

    m.def("load_npy", [](const std::string& path, std::optional<DataType> dtype, Layout layout, std::optional<Device> device,
                         std::optional<MemoryConfig> mc) {
              return load_npy(path, TensorOptions{.dtype = dtype, .layout = layout, .device = device,
                                                  .memory_config = mc.value_or(DRAM_MEMORY_CONFIG)});
          },
          nb::arg("path"), nb::arg("dtype") = nb::none(), nb::arg("layout") = Layout::ROW_MAJOR,
          nb::arg("device") = nb::none(), nb::arg("memory_config") = nb::none(), release_gil());
    m.def("save_npy", [](const std::string& path, const Tensor& t) { save_npy(path, t); }, nb::arg("path"),
          nb::arg("tensor"), release_gil());
}

}  // namespace attnn::python
