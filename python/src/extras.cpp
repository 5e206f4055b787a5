// What attnn adds to TT-NN's names for Python users without PyTorch: torch's CPU random
// numbers draw for draw (so seeded notebooks print their numbers) and TT-NN's PCC.
#include <nanobind/ndarray.h>
#include <nanobind/stl/vector.h>

#include "convert.hpp"

namespace attnn::python {

namespace {

std::vector<size_t> dims_of(nb::handle size) {
    std::vector<size_t> dims;
    if (nb::isinstance<nb::int_>(size)) {
        dims.push_back(nb::cast<size_t>(size));
    } else {
        for (uint32_t d : to_shape(size, "Generator", "size").dims()) dims.push_back(d);
    }
    return dims;
}

size_t volume_of(const std::vector<size_t>& dims) {
    size_t n = 1;
    for (size_t d : dims) n *= d;
    return n;
}

}  // namespace

void bind_extras(nb::module_& m) {
    nb::module_ r = m.def_submodule("random", "torch's CPU generator, draw for draw (float32 results)");
    nb::class_<Generator>(r, "Generator")
        .def(nb::init<uint64_t>(), nb::arg("seed") = 67280421310721ULL)
        .def(
            "manual_seed",
            [](Generator& g, uint64_t seed) {
                g.manual_seed(seed);
                return &g;
            },
            nb::arg("seed"), nb::rv_policy::reference)
        .def(
            "uniform",
            [](Generator& g, nb::handle size, float from, float to) {
                std::vector<size_t> dims = dims_of(size);
                return numpy_array(g.uniform(volume_of(dims), from, to), dims);
            },
            nb::arg("size"), nb::arg("low") = 0.0f, nb::arg("high") = 1.0f,
            "torch.empty(size).uniform_(low, high)")
        .def(
            "randn",
            [](Generator& g, nb::handle size) {
                std::vector<size_t> dims = dims_of(size);
                return numpy_array(g.normal(volume_of(dims)), dims);
            },
            nb::arg("size"), "torch.randn(size)")
        .def(
            "linear_weight",
            [](Generator& g, int64_t in_features, int64_t out_features) {
                const uint32_t in = uint32_arg(in_features, "linear_weight", "in_features", "a count");
                const uint32_t out = uint32_arg(out_features, "linear_weight", "out_features", "a count");
                return numpy_array(linear_weight_init(g, in, out), {out, in});
            },
            nb::arg("in_features"), nb::arg("out_features"),
            "nn.Linear(in_features, out_features).weight as torch initialises it: [out, in]");
    r.def("default_generator", &default_generator, nb::rv_policy::reference);
    r.def("manual_seed", [](uint64_t seed) { manual_seed(seed); }, nb::arg("seed"));

    m.def(
        "_comp_pcc",
        [](const nb::ndarray<nb::ro, nb::c_contig, nb::device::cpu, double>& golden,
           const nb::ndarray<nb::ro, nb::c_contig, nb::device::cpu, double>& calculated) {
            std::vector<double> a(golden.data(), golden.data() + golden.size());
            std::vector<double> b(calculated.data(), calculated.data() + calculated.size());
            return comp_pcc(a, b);
        },
        nb::arg("golden"), nb::arg("calculated"));
}

}  // namespace attnn::python
