// RoPE tables: attnn's cos/sin builders (theta, Llama 3 frequency scaling, either pairing) as
// numpy arrays and as the device tensors rotary_embedding / rotary_embedding_llama take.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "convert.hpp"

namespace attnn::python {

namespace {

// Hugging Face's rope_scaling dict ({"rope_type": "llama3", "factor": ..., ...}), or None.
RopeScaling scaling_from(nb::handle scaling) {
    RopeScaling s;
    if (scaling.is_none()) return s;
    if (!nb::isinstance<nb::dict>(scaling))
        detail::fail(ErrorKind::TypeMismatch, "rope", "scaling: expected a dict like Hugging Face's rope_scaling or None");
    nb::dict d = nb::borrow<nb::dict>(scaling);
    const std::string type = d.contains("rope_type") ? nb::cast<std::string>(d["rope_type"])
                             : d.contains("type")    ? nb::cast<std::string>(d["type"])
                                                     : std::string("llama3");
    if (type == "default") return s;
    if (type != "llama3")
        detail::fail(ErrorKind::InvalidArgument, "rope", "scaling: rope_type '", type,
                     "' is not one of 'llama3', 'default'");
    s.rope_type = RopeScalingType::llama3;
    if (d.contains("factor")) s.factor = nb::cast<double>(d["factor"]);
    if (d.contains("low_freq_factor")) s.low_freq_factor = nb::cast<double>(d["low_freq_factor"]);
    if (d.contains("high_freq_factor")) s.high_freq_factor = nb::cast<double>(d["high_freq_factor"]);
    if (d.contains("original_max_position_embeddings"))
        s.original_max_position_embeddings = nb::cast<uint32_t>(d["original_max_position_embeddings"]);
    return s;
}

RopePairing pairing_from(const std::string& pairing) {
    if (pairing == "interleaved") return RopePairing::interleaved;
    if (pairing == "rotate_half") return RopePairing::rotate_half;
    detail::fail(ErrorKind::InvalidArgument, "rope", "pairing '", pairing,
                 "' is not one of 'interleaved' (rotary_embedding_llama), 'rotate_half' (rotary_embedding)");
}

}  // namespace

RopeOptions rope_options_from(double theta, nb::handle scaling, const std::string& pairing) {
    return RopeOptions{.theta = theta, .scaling = scaling_from(scaling), .pairing = pairing_from(pairing)};
}

nb::object rope_scaling_dict(const RopeScaling& s) {
    if (s.rope_type == RopeScalingType::none) return nb::none();
    nb::dict d;
    d["rope_type"] = "llama3";
    d["factor"] = s.factor;
    d["low_freq_factor"] = s.low_freq_factor;
    d["high_freq_factor"] = s.high_freq_factor;
    d["original_max_position_embeddings"] = s.original_max_position_embeddings;
    return d;
}

std::string rope_pairing_name(RopePairing pairing) {
    return pairing == RopePairing::interleaved ? "interleaved" : "rotate_half";
}

namespace {

nb::object host_table(const std::vector<float>& values, const RopeTables& t) {
    return numpy_array(std::vector<float>(values), std::vector<size_t>{t.max_position, t.head_dim});
}

nb::tuple tensor_pair(const RopeTensors& r) { return nb::make_tuple(r.cos, r.sin); }

RopeTensorOptions tensor_options(DataType dtype, Layout layout, std::optional<MemoryConfig> mc) {
    return RopeTensorOptions{.dtype = dtype, .layout = layout, .memory_config = mc.value_or(DRAM_MEMORY_CONFIG)};
}

}  // namespace

void bind_rope(nb::module_& m) {
    nb::class_<RopeTables>(m, "RopeTables", "cos/sin per position and head element (rope_tables)")
        .def_ro("head_dim", &RopeTables::head_dim)
        .def_ro("max_position", &RopeTables::max_position)
        .def_prop_ro("pairing", [](const RopeTables& t) { return rope_pairing_name(t.pairing); })
        .def_prop_ro(
            "cos", [](const RopeTables& t) { return host_table(t.cos, t); },
            "[max_position, head_dim] float32")
        .def_prop_ro(
            "sin", [](const RopeTables& t) { return host_table(t.sin, t); },
            "[max_position, head_dim] float32");

    m.def(
        "rope_frequencies",
        [](int64_t head_dim, double theta, nb::handle scaling) {
            std::vector<double> f =
                rope_frequencies(uint32_arg(head_dim, "rope_frequencies", "head_dim", "a size"),
                                 rope_options_from(theta, scaling, "interleaved"));
            const size_t n = f.size();
            return numpy_array(std::move(f), std::vector<size_t>{n});
        },
        nb::arg("head_dim"), nb::kw_only(), nb::arg("theta") = 10000.0, nb::arg("scaling") = nb::none(),
        "The head_dim / 2 RoPE frequencies theta^(-2k / head_dim), Llama 3 scaling applied (float64).");
    m.def(
        "rope_tables",
        [](int64_t head_dim, int64_t max_position, double theta, nb::handle scaling,
           const std::string& pairing) {
            return rope_tables(uint32_arg(head_dim, "rope_tables", "head_dim", "a size"),
                               uint32_arg(max_position, "rope_tables", "max_position", "a count"),
                               rope_options_from(theta, scaling, pairing));
        },
        nb::arg("head_dim"), nb::arg("max_position"), nb::kw_only(), nb::arg("theta") = 10000.0,
        nb::arg("scaling") = nb::none(), nb::arg("pairing") = "interleaved",
        "cos/sin of p * f_k for positions 0 .. max_position - 1, laid out for `pairing`: 'interleaved' "
        "(elements 2k, 2k + 1: rotary_embedding_llama) or 'rotate_half' (k, k + head_dim / 2: "
        "rotary_embedding). scaling: Hugging Face's rope_scaling dict (rope_type 'llama3').");
    m.def(
        "rope_cache_tensors",
        [](const RopeTables& t, Device& device, DataType dtype, Layout layout, std::optional<MemoryConfig> mc) {
            return tensor_pair(rope_cache_tensors(t, device, tensor_options(dtype, layout, mc)));
        },
        nb::arg("tables"), nb::arg("device"), nb::kw_only(), nb::arg("dtype") = DataType::FLOAT32,
        nb::arg("layout") = Layout::TILE, nb::arg("memory_config") = nb::none(),
        "(cos, sin), each [1, 1, max_position, head_dim]: rotary_embedding's caches.");
    m.def(
        "rope_prefill_tensors",
        [](const RopeTables& t, int64_t start, int64_t length, Device& device, DataType dtype, Layout layout,
           std::optional<MemoryConfig> mc) {
            const char* op = "rope_prefill_tensors";
            return tensor_pair(rope_prefill_tensors(t, uint32_arg(start, op, "start", "a position"),
                                                    uint32_arg(length, op, "length", "a count"), device,
                                                    tensor_options(dtype, layout, mc)));
        },
        nb::arg("tables"), nb::arg("start"), nb::arg("length"), nb::arg("device"), nb::kw_only(),
        nb::arg("dtype") = DataType::FLOAT32, nb::arg("layout") = Layout::TILE,
        nb::arg("memory_config") = nb::none(),
        "(cos, sin), each [1, 1, length, head_dim], for positions start .. start + length - 1.");
    m.def(
        "rope_decode_tensors",
        [](const RopeTables& t, const std::vector<int64_t>& positions, Device& device, DataType dtype,
           Layout layout, std::optional<MemoryConfig> mc) {
            std::vector<uint32_t> p;
            p.reserve(positions.size());
            for (int64_t x : positions)
                p.push_back(uint32_arg(x, "rope_decode_tensors", "positions", "a position"));
            return tensor_pair(rope_decode_tensors(t, p, device, tensor_options(dtype, layout, mc)));
        },
        nb::arg("tables"), nb::arg("positions"), nb::arg("device"), nb::kw_only(),
        nb::arg("dtype") = DataType::FLOAT32, nb::arg("layout") = Layout::TILE,
        nb::arg("memory_config") = nb::none(),
        "(cos, sin), each [1, b, 1, head_dim]: one position per user, rotary_embedding_llama's decode mode.");
}

}  // namespace attnn::python
