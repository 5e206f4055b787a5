#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "attnn/attnn.hpp"
#include "bindings.hpp"
#include "convert.hpp"

namespace attnn::python {

namespace {

// attnn::Error -> the Python exception its kind stands for, carrying the C++ message.
void translate_error(const std::exception_ptr& p, void*) {
    try {
        std::rethrow_exception(p);
    } catch (const Error& e) {
        switch (e.kind()) {
            case ErrorKind::InvalidArgument: PyErr_SetString(PyExc_ValueError, e.what()); break;
            case ErrorKind::TypeMismatch: PyErr_SetString(PyExc_TypeError, e.what()); break;
            case ErrorKind::Runtime: PyErr_SetString(PyExc_RuntimeError, e.what()); break;
        }
    }
}

}  // namespace

void bind_types(nb::module_& m) {
    nb::register_exception_translator(translate_error);

    nb::enum_<DataType>(m, "DataType")
        .value("BFLOAT16", DataType::BFLOAT16)
        .value("FLOAT32", DataType::FLOAT32)
        .value("UINT32", DataType::UINT32)
        .value("BFLOAT8_B", DataType::BFLOAT8_B)
        .value("BFLOAT4_B", DataType::BFLOAT4_B)
        .value("INT32", DataType::INT32)
        .def("__repr__", [](DataType d) { return to_string(d); })
        .def("__str__", [](DataType d) { return to_string(d); });
    m.attr("bfloat16") = DataType::BFLOAT16;
    m.attr("float32") = DataType::FLOAT32;
    m.attr("uint32") = DataType::UINT32;
    m.attr("bfloat8_b") = DataType::BFLOAT8_B;
    m.attr("bfloat4_b") = DataType::BFLOAT4_B;
    m.attr("int32") = DataType::INT32;

    nb::enum_<Layout>(m, "Layout")
        .value("ROW_MAJOR", Layout::ROW_MAJOR)
        .value("TILE", Layout::TILE)
        .def("__repr__", [](Layout l) { return to_string(l); })
        .def("__str__", [](Layout l) { return to_string(l); });
    m.attr("ROW_MAJOR_LAYOUT") = Layout::ROW_MAJOR;
    m.attr("TILE_LAYOUT") = Layout::TILE;
    m.attr("TILE_SIZE") = TILE_HEIGHT;

    nb::enum_<TensorMemoryLayout>(m, "TensorMemoryLayout")
        .value("INTERLEAVED", TensorMemoryLayout::INTERLEAVED)
        .value("HEIGHT_SHARDED", TensorMemoryLayout::HEIGHT_SHARDED)
        .value("WIDTH_SHARDED", TensorMemoryLayout::WIDTH_SHARDED)
        .value("BLOCK_SHARDED", TensorMemoryLayout::BLOCK_SHARDED);
    nb::enum_<BufferType>(m, "BufferType").value("DRAM", BufferType::DRAM).value("L1", BufferType::L1);
    nb::class_<MemoryConfig>(m, "MemoryConfig")
        .def(nb::init<TensorMemoryLayout, BufferType>(),
             nb::arg("memory_layout") = TensorMemoryLayout::INTERLEAVED,
             nb::arg("buffer_type") = BufferType::DRAM)
        .def_rw("memory_layout", &MemoryConfig::memory_layout)
        .def_rw("buffer_type", &MemoryConfig::buffer_type)
        .def(
            "__eq__", [](const MemoryConfig& a, const MemoryConfig& b) { return a == b; }, nb::is_operator())
        .def("__hash__", [](const MemoryConfig& c) { return int(c.memory_layout) * 2 + int(c.buffer_type); })
        .def("__repr__", [](const MemoryConfig& c) { return to_string(c); });
    m.attr("DRAM_MEMORY_CONFIG") = DRAM_MEMORY_CONFIG;
    m.attr("L1_MEMORY_CONFIG") = L1_MEMORY_CONFIG;

    nb::class_<CoreGrid>(m, "CoreGrid")
        .def(nb::init<>())
        .def(
            "__init__",
            [](CoreGrid* g, int64_t y, int64_t x) {
                new (g) CoreGrid{uint32_arg(y, "CoreGrid", "y", "a count"),
                                 uint32_arg(x, "CoreGrid", "x", "a count")};
            },
            nb::kw_only(), nb::arg("y"), nb::arg("x"))
        .def_rw("y", &CoreGrid::y)
        .def_rw("x", &CoreGrid::x)
        .def_prop_ro("num_cores", &CoreGrid::num_cores)
        .def(
            "__eq__", [](const CoreGrid& a, const CoreGrid& b) { return a.y == b.y && a.x == b.x; },
            nb::is_operator())
        .def("__hash__", [](const CoreGrid& g) { return nb::hash(nb::make_tuple(g.y, g.x)); })
        .def("__repr__", [](const CoreGrid& g) {
            return "ttnn.CoreGrid(x=" + std::to_string(g.x) + ", y=" + std::to_string(g.y) + ")";
        });
}

void bind_device(nb::module_& m) {
    nb::class_<Device>(m, "Device")
        .def("id", &Device::id)
        .def("is_open", &Device::is_open)
        .def("num_workers", &Device::num_workers)
        .def("compute_with_storage_grid_size", &Device::compute_with_storage_grid_size)
        .def("isa", &Device::isa, "The SIMD path the kernels run: 'avx512', 'avx2' or 'portable'.")
        .def("enable_program_cache", &Device::enable_program_cache)
        .def("disable_and_clear_program_cache", &Device::disable_and_clear_program_cache)
        .def("program_cache_enabled", &Device::program_cache_enabled)
        .def("num_program_cache_entries", &Device::num_program_cache_entries)
        .def("program_cache_hits", &Device::program_cache_hits)
        .def("program_cache_misses", &Device::program_cache_misses)
        // Handles of one device are equal and hash alike (a dict keyed by device finds
        // tensor.device()); anything else compares unequal.
        .def(
            "__eq__", [](const Device& a, const Device& b) { return a == b; }, nb::is_operator())
        .def("__hash__", [](const Device& d) { return std::hash<const void*>{}(d.impl().get()); })
        .def("__repr__", [](const Device& d) {
            if (!d.is_open()) return std::string("<attnn.Device (closed)>");
            return "<attnn.Device id=" + std::to_string(d.id()) + " cpu workers=" + std::to_string(d.num_workers()) +
                   " isa=" + d.isa() + ">";
        });

    m.def(
        "_open_device",
        [](int device_id, int num_workers, std::size_t l1_small_size, std::size_t trace_region_size) {
            return open_device(device_id, DeviceOptions{.num_workers = num_workers,
                                                        .l1_small_size = l1_small_size,
                                                        .trace_region_size = trace_region_size});
        },
        nb::arg("device_id"), nb::arg("num_workers"), nb::arg("l1_small_size"), nb::arg("trace_region_size"));
    // Waits for an op running on another thread: without the GIL, so that thread can finish.
    m.def(
        "close_device", [](Device& d) { close_device(d); }, nb::arg("device"), release_gil());
    m.def("get_num_devices", &get_num_devices);
    m.def("enable_program_cache", [](Device& d) { enable_program_cache(d); }, nb::arg("device"));
    m.def("disable_and_clear_program_cache", [](Device& d) { disable_and_clear_program_cache(d); },
          nb::arg("device"));
}

}  // namespace attnn::python

NB_MODULE(_attnn, m) {
    namespace nb = nanobind;
    m.doc() = "attnn's C++ core: TT-NN's attention stack on the CPU (use the `attnn` package).";
    // Objects still alive at interpreter exit (a device a script never closed) are fine.
    nb::set_leak_warnings(false);
    attnn::python::bind_types(m);
    attnn::python::bind_device(m);
    attnn::python::bind_tensor(m);
    attnn::python::bind_ops(m);
    attnn::python::bind_extras(m);
    attnn::python::bind_nn(m);
    attnn::python::bind_rope(m);
}
