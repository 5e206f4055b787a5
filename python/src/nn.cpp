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

}  // namespace

void bind_nn(nb::module_& m) {
    nb::module_ n = m.def_submodule("nn", "modules built from attnn's ops");
    nb::class_<nn::LlamaAttentionConfig>(n, "LlamaAttentionConfig")
        .def(
            "__init__",
            [](nn::LlamaAttentionConfig* c, uint32_t dim, uint32_t num_heads, uint32_t num_kv_heads,
               uint32_t head_dim, uint32_t max_batch, uint32_t max_seq_len, double rope_theta,
               DataType weight_dtype, DataType activation_dtype, DataType cache_dtype, bool paged,
               uint32_t block_size, uint32_t sliding_window, nb::handle decode_math_fidelity) {
                new (c) nn::LlamaAttentionConfig{};
                c->dim = dim;
                c->num_heads = num_heads;
                c->num_kv_heads = num_kv_heads;
                c->head_dim = head_dim;
                c->max_batch = max_batch;
                c->max_seq_len = max_seq_len;
                c->rope.theta = rope_theta;
                c->weight_dtype = weight_dtype;
                c->activation_dtype = activation_dtype;
                c->cache_dtype = cache_dtype;
                c->paged = paged;
                c->block_size = block_size;
                c->sliding_window = sliding_window;
                // attnn.MathFidelity (a Python enum), as compute_kernel_config.math_fidelity is
                // taken everywhere else; None is the default, HiFi2.
                if (!decode_math_fidelity.is_none()) {
                    nb::object type = nb::module_::import_("attnn._config").attr("MathFidelity");
                    if (PyObject_IsInstance(decode_math_fidelity.ptr(), type.ptr()) != 1)
                        throw nb::type_error(
                            ("LlamaAttentionConfig: decode_math_fidelity: expected a MathFidelity, given " +
                             nb::cast<std::string>(nb::type_name(decode_math_fidelity.type())))
                                .c_str());
                    c->decode_math_fidelity = MathFidelity(nb::cast<int>(decode_math_fidelity.attr("value")));
                }
            },
            nb::kw_only(), nb::arg("dim") = 4096, nb::arg("num_heads") = 32, nb::arg("num_kv_heads") = 8,
            nb::arg("head_dim") = 128, nb::arg("max_batch") = 1, nb::arg("max_seq_len") = 2048,
            nb::arg("rope_theta") = 500000.0, nb::arg("weight_dtype") = DataType::BFLOAT16,
            nb::arg("activation_dtype") = DataType::BFLOAT16, nb::arg("cache_dtype") = DataType::BFLOAT16,
            nb::arg("paged") = false, nb::arg("block_size") = 64, nb::arg("sliding_window") = 0,
            nb::arg("decode_math_fidelity").none() = nb::none())
        .def_ro("dim", &nn::LlamaAttentionConfig::dim)
        .def_ro("num_heads", &nn::LlamaAttentionConfig::num_heads)
        .def_ro("num_kv_heads", &nn::LlamaAttentionConfig::num_kv_heads)
        .def_ro("head_dim", &nn::LlamaAttentionConfig::head_dim)
        .def_ro("max_batch", &nn::LlamaAttentionConfig::max_batch)
        .def_ro("max_seq_len", &nn::LlamaAttentionConfig::max_seq_len)
        .def_ro("paged", &nn::LlamaAttentionConfig::paged)
        .def_ro("block_size", &nn::LlamaAttentionConfig::block_size)
        .def_ro("sliding_window", &nn::LlamaAttentionConfig::sliding_window)
        .def_prop_ro("decode_math_fidelity", [](const nn::LlamaAttentionConfig& c) {
            return nb::module_::import_("attnn._config").attr("MathFidelity")(int(c.decode_math_fidelity));
        });

    nb::class_<nn::LlamaAttention>(n, "LlamaAttention")
        .def(
            "__init__",
            [](nn::LlamaAttention* self, Device& device, const nn::LlamaAttentionConfig& c, const Weight& wq,
               const Weight& wk, const Weight& wv, const Weight& wo) {
                const size_t q_rows = size_t(c.num_heads) * c.head_dim, kv_rows = size_t(c.num_kv_heads) * c.head_dim;
                nn::LlamaAttentionWeights w{values(wq, "wq", q_rows, c.dim), values(wk, "wk", kv_rows, c.dim),
                                            values(wv, "wv", kv_rows, c.dim), values(wo, "wo", c.dim, q_rows)};
                new (self) nn::LlamaAttention(device, c, w);
            },
            nb::arg("device"), nb::arg("config"), nb::arg("wq"), nb::arg("wk"), nb::arg("wv"), nb::arg("wo"))
        .def("prefill", &nn::LlamaAttention::prefill, nb::arg("x"), nb::arg("user"),
             "x [1, 1, s, dim] -> [1, 1, s, dim]: user's prompt at positions 0..s-1, its K/V written to the cache",
             release_gil())
        .def("decode", &nn::LlamaAttention::decode, nb::arg("x"), nb::arg("positions"),
             "x [1, 1, b, dim] -> [1, 1, b, dim]: one token per user at positions[i] (-1 skips the user)",
             release_gil())
        .def_prop_ro("config", &nn::LlamaAttention::config)
        .def_prop_ro("k_cache", &nn::LlamaAttention::k_cache)
        .def_prop_ro("v_cache", &nn::LlamaAttention::v_cache)
        .def_prop_ro("page_table", &nn::LlamaAttention::page_table);
}

}  // namespace attnn::python
