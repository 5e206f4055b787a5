// attnn's Python extension (_attnn): thin nanobind wrappers over the C++ API, with TT-NN's Python
// names and keyword names. Every kernel lives in the C++ library; this layer converts arguments.
#pragma once
#include <nanobind/nanobind.h>

namespace attnn::python {

namespace nb = nanobind;

// Ops and conversions run with the GIL released (arguments are converted before and the result
// after, with it held), so other Python threads go on while one waits on a long op; the
// device's op lock keeps ops from two threads one at a time.
using release_gil = nb::call_guard<nb::gil_scoped_release>;

void bind_types(nb::module_& m);   // DataType, Layout, MemoryConfig, Shape, CoreGrid, errors
void bind_device(nb::module_& m);  // Device, open/close, program cache
void bind_tensor(nb::module_& m);  // Tensor, host <-> tensor, layouts, creation, data movement
void bind_ops(nb::module_& m);     // matmul, eltwise, softmax, transformer.*, experimental.*, caches
void bind_extras(nb::module_& m);  // torch-compatible random numbers, comp_pcc, .npy files
void bind_nn(nb::module_& m);      // attnn.nn: LlamaAttention
void bind_rope(nb::module_& m);    // RoPE tables and their tensors

}  // namespace attnn::python
