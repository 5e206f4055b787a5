// attnn.nn: the modules built from the ops (the LLM attention layer of seed 004).
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "convert.hpp"

namespace attnn::python {

namespace {

using Weight = nb::ndarray<nb::ro, nb::c_contig, nb::device::cpu, float>;

std::vector<float> values(const Weight& w, const char* name, size_t rows, size_t cols) {
    if (w.ndim() != 2 || w.shape(0) != rows || w.shape(1) != cols)
        detail::fail(ErrorKind::InvalidArgument, "LlamaAttention", name, ": expected a float32 array [", rows, ", ",
                     cols, "] (nn.Linear's [out_features, in_features])");
    return {w.data(), w.data() + w.size()};
}

nb::object math_fidelity_type() { return nb::module_::import_("attnn._config").attr("MathFidelity"); }

std::string config_repr(const nn::LlamaAttentionConfig& c) {
    nb::object fidelity = math_fidelity_type()(int(c.decode_math_fidelity));
    return "LlamaAttentionConfig(dim=" + std::to_string(c.dim) +
           ", num_heads=" + std::to_string(c.num_heads) + ", num_kv_heads=" + std::to_string(c.num_kv_heads) +
           ", head_dim=" + std::to_string(c.head_dim) + ", max_batch=" + std::to_string(c.max_batch) +
           ", max_seq_len=" + std::to_string(c.max_seq_len) +
           ", rope_theta=" + nb::cast<std::string>(nb::repr(nb::float_(c.rope.theta))) +
           ", rope_scaling=" + nb::cast<std::string>(nb::repr(rope_scaling_dict(c.rope.scaling))) +
           ", rope_pairing='" + rope_pairing_name(c.rope.pairing) +
           "', weight_dtype=" + to_string(c.weight_dtype) +
           ", activation_dtype=" + to_string(c.activation_dtype) +
           ", cache_dtype=" + to_string(c.cache_dtype) + ", paged=" + (c.paged ? "True" : "False") +
           ", block_size=" + std::to_string(c.block_size) +
           ", sliding_window=" + std::to_string(c.sliding_window) +
           ", decode_math_fidelity=" + nb::cast<std::string>(nb::str(fidelity)) + ")";
}

}  // namespace

void bind_nn(nb::module_& m) {
    using Config = nn::LlamaAttentionConfig;
    nb::module_ n = m.def_submodule("nn", "modules built from attnn's ops");
    nb::class_<Config>(n, "LlamaAttentionConfig")
        .def(
            "__init__",
            [](Config* c, int64_t dim, int64_t num_heads, int64_t num_kv_heads, int64_t head_dim,
               int64_t max_batch, int64_t max_seq_len, double rope_theta, nb::handle rope_scaling,
               const std::string& rope_pairing, DataType weight_dtype, DataType activation_dtype,
               DataType cache_dtype, bool paged, int64_t block_size, int64_t sliding_window,
               nb::handle decode_math_fidelity) {
                const char* op = "LlamaAttentionConfig";
                Config config{};
                config.dim = uint32_arg(dim, op, "dim", "a size");
                config.num_heads = uint32_arg(num_heads, op, "num_heads", "a size");
                config.num_kv_heads = uint32_arg(num_kv_heads, op, "num_kv_heads", "a size");
                config.head_dim = uint32_arg(head_dim, op, "head_dim", "a size");
                config.max_batch = uint32_arg(max_batch, op, "max_batch", "a size");
                config.max_seq_len = uint32_arg(max_seq_len, op, "max_seq_len", "a size");
                config.rope = rope_options_from(rope_theta, rope_scaling, rope_pairing);
                config.weight_dtype = weight_dtype;
                config.activation_dtype = activation_dtype;
                config.cache_dtype = cache_dtype;
                config.paged = paged;
                config.block_size = uint32_arg(block_size, op, "block_size", "a size");
                config.sliding_window = uint32_arg(sliding_window, op, "sliding_window", "a size");
                // attnn.MathFidelity (a Python enum), as compute_kernel_config.math_fidelity is
                // taken everywhere else; None is the default, HiFi2.
                if (!decode_math_fidelity.is_none()) {
                    if (PyObject_IsInstance(decode_math_fidelity.ptr(), math_fidelity_type().ptr()) != 1)
                        throw nb::type_error(
                            ("LlamaAttentionConfig: decode_math_fidelity: expected a MathFidelity, given " +
                             nb::cast<std::string>(nb::type_name(decode_math_fidelity.type())))
                                .c_str());
                    config.decode_math_fidelity =
                        MathFidelity(nb::cast<int>(decode_math_fidelity.attr("value")));
                }
                new (c) Config(config);
            },
            nb::kw_only(), nb::arg("dim") = 4096, nb::arg("num_heads") = 32, nb::arg("num_kv_heads") = 8,
            nb::arg("head_dim") = 128, nb::arg("max_batch") = 1, nb::arg("max_seq_len") = 2048,
            nb::arg("rope_theta") = 500000.0, nb::arg("rope_scaling").none() = nb::none(),
            nb::arg("rope_pairing") = "interleaved", nb::arg("weight_dtype") = DataType::BFLOAT16,
            nb::arg("activation_dtype") = DataType::BFLOAT16, nb::arg("cache_dtype") = DataType::BFLOAT16,
            nb::arg("paged") = false, nb::arg("block_size") = 64, nb::arg("sliding_window") = 0,
            nb::arg("decode_math_fidelity").none() = nb::none(),
            "rope_scaling: Hugging Face's rope_scaling dict (rope_type 'llama3') or None; rope_pairing: "
            "'interleaved' (Meta checkpoints) or 'rotate_half' (Hugging Face checkpoints, whose wq and wk "
            "rows the layer moves to the interleaved order)")
        .def_ro("dim", &Config::dim)
        .def_ro("num_heads", &Config::num_heads)
        .def_ro("num_kv_heads", &Config::num_kv_heads)
        .def_ro("head_dim", &Config::head_dim)
        .def_ro("max_batch", &Config::max_batch)
        .def_ro("max_seq_len", &Config::max_seq_len)
        .def_prop_ro("rope_theta", [](const Config& c) { return c.rope.theta; })
        .def_prop_ro("rope_scaling", [](const Config& c) { return rope_scaling_dict(c.rope.scaling); })
        .def_prop_ro("rope_pairing", [](const Config& c) { return rope_pairing_name(c.rope.pairing); })
        .def_ro("weight_dtype", &Config::weight_dtype)
        .def_ro("activation_dtype", &Config::activation_dtype)
        .def_ro("cache_dtype", &Config::cache_dtype)
        .def_ro("paged", &Config::paged)
        .def_ro("block_size", &Config::block_size)
        .def_ro("sliding_window", &Config::sliding_window)
        .def_prop_ro("decode_math_fidelity",
                     [](const Config& c) { return math_fidelity_type()(int(c.decode_math_fidelity)); })
        .def("__repr__", &config_repr);

    nb::class_<nn::LlamaAttention>(n, "LlamaAttention")
        .def(
            "__init__",
            [](nn::LlamaAttention* self, Device& device, const Config& c, const Weight& wq, const Weight& wk,
               const Weight& wv, const Weight& wo) {
                const size_t q_rows = size_t(c.num_heads) * c.head_dim, kv_rows = size_t(c.num_kv_heads) * c.head_dim;
                nn::LlamaAttentionWeights w{values(wq, "wq", q_rows, c.dim), values(wk, "wk", kv_rows, c.dim),
                                            values(wv, "wv", kv_rows, c.dim), values(wo, "wo", c.dim, q_rows)};
                new (self) nn::LlamaAttention(device, c, w);
            },
            nb::arg("device"), nb::arg("config"), nb::arg("wq"), nb::arg("wk"), nb::arg("wv"), nb::arg("wo"))
        .def(
            "prefill",
            [](nn::LlamaAttention& layer, const Tensor& x, int64_t user) {
                return layer.prefill(x, uint32_arg(user, "LlamaAttention::prefill", "user"));
            },
            nb::arg("x"), nb::arg("user"),
            "x [1, 1, s, dim] -> [1, 1, s, dim]: user's prompt at positions 0..s-1, its K/V written to the "
            "cache",
            release_gil())
        .def(
            "decode",
            [](nn::LlamaAttention& layer, const Tensor& x, const Tensor& positions) {
                return layer.decode(x, positions);
            },
            nb::arg("x"), nb::arg("positions"), release_gil())
        .def(
            "decode",
            [](nn::LlamaAttention& layer, const Tensor& x, const std::vector<int64_t>& positions) {
                std::vector<int32_t> p(positions.size());
                for (size_t i = 0; i < p.size(); ++i) {
                    if (positions[i] < INT32_MIN || positions[i] > INT32_MAX)
                        detail::fail(ErrorKind::InvalidArgument, "LlamaAttention::decode", "positions[", i,
                                     "]=", positions[i], " must be in [-1, ", layer.config().max_seq_len,
                                     ")");
                    p[i] = int32_t(positions[i]);
                }
                nb::gil_scoped_release unlocked;
                return layer.decode(x, p);
            },
            nb::arg("x"), nb::arg("positions"),
            "x [1, 1, b, dim] -> [1, 1, b, dim]: one token per user at positions[i] (-1 skips the user); "
            "positions: a list of ints or an INT32 / UINT32 tensor [b] (tt_transformers' current_pos)")
        .def_prop_ro("config", &nn::LlamaAttention::config)
        .def_prop_ro("k_cache", &nn::LlamaAttention::k_cache)
        .def_prop_ro("v_cache", &nn::LlamaAttention::v_cache)
        .def_prop_ro("page_table", &nn::LlamaAttention::page_table);
}

}  // namespace attnn::python
