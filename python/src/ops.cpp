// The ops. TT-NN's program_config / compute_kernel_config keywords of matmul and linear are
// accepted and ignored (attnn blocks its GEMM itself and always computes in fp32); the
// attention ops take attnn's SDPAProgramConfig.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <limits>

#include "convert.hpp"

namespace attnn::python {

namespace {

std::string activation_name(const std::optional<std::string>& activation) { return activation.value_or(""); }

Tensor matmul_py(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b,
                 std::optional<MemoryConfig> memory_config, std::optional<DataType> dtype,
                 std::optional<CoreGrid> core_grid, nb::handle /*program_config*/,
                 nb::handle /*compute_kernel_config*/, std::optional<std::string> activation) {
    if (activation && !activation->empty())
        return linear(a, b, LinearOptions{.transpose_a = transpose_a, .transpose_b = transpose_b,
                                          .activation = *activation, .memory_config = memory_config,
                                          .dtype = dtype, .core_grid = core_grid});
    return matmul(a, b, MatmulOptions{.transpose_a = transpose_a, .transpose_b = transpose_b,
                                      .memory_config = memory_config, .dtype = dtype, .core_grid = core_grid});
}

Tensor linear_py(const Tensor& a, const Tensor& b, std::optional<Tensor> bias, bool transpose_a, bool transpose_b,
                 std::optional<MemoryConfig> memory_config, std::optional<DataType> dtype,
                 std::optional<CoreGrid> core_grid, std::optional<std::string> activation, nb::handle, nb::handle) {
    return linear(a, b, LinearOptions{.bias = std::move(bias), .transpose_a = transpose_a,
                                      .transpose_b = transpose_b, .activation = activation_name(activation),
                                      .memory_config = memory_config, .dtype = dtype, .core_grid = core_grid});
}

template <class Fn>
void bind_binary(nb::module_& m, const char* name, Fn fn) {
    m.def(
        name,
        [fn](const Tensor& a, const Tensor& b, std::optional<MemoryConfig> mc, std::optional<DataType> dtype) {
            return fn(a, b, BinaryOptions{.dtype = dtype, .memory_config = mc});
        },
        nb::arg("input_tensor_a"), nb::arg("input_tensor_b"), nb::kw_only(), nb::arg("memory_config") = nb::none(),
        nb::arg("dtype") = nb::none(), release_gil());
    m.def(
        name,
        [fn](const Tensor& a, float b, std::optional<MemoryConfig> mc, std::optional<DataType> dtype) {
            return fn(a, b, BinaryOptions{.dtype = dtype, .memory_config = mc});
        },
        nb::arg("input_tensor_a"), nb::arg("input_tensor_b"), nb::kw_only(), nb::arg("memory_config") = nb::none(),
        nb::arg("dtype") = nb::none(), release_gil());
}

// A TT-NN keyword attnn takes only at its no-op value (None or False): sharding, multi-device
// and preallocated-output options that have no meaning on one CPU device.
// Called from bindings that release the GIL: it takes it back to look at the value.
// Refused as NotImplementedError, as the Python wrappers refuse theirs.
void require_unset(const char* op, const char* arg, nb::handle value) {
    nb::gil_scoped_acquire gil;
    if (value.is_none()) return;
    const std::string type = nb::cast<std::string>(nb::type_name(value.type()));
    if ((type == "bool" || type.rfind("numpy.bool", 0) == 0) && !PyObject_IsTrue(value.ptr())) return;
    const std::string message =
        std::string(op) + ": " + arg +
        ": attnn supports only None here (no sharding, multi-device or preallocated " + "outputs), given " +
        nb::cast<std::string>(nb::repr(value));
    PyErr_SetString(PyExc_NotImplementedError, message.c_str());
    throw nb::python_error();
}

// A softmax program_config: None or ttnn.SoftmaxDefaultProgramConfig() (how Tensix splits the
// work; nothing to choose on the CPU); a sharded one is refused as require_unset refuses.
void softmax_program_config(const char* op, nb::handle config) {
    nb::gil_scoped_acquire gil;
    nb::object type = nb::module_::import_("attnn._config").attr("SoftmaxDefaultProgramConfig");
    if (config.is_none() || PyObject_IsInstance(config.ptr(), type.ptr()) == 1) return;
    require_unset(op, "program_config", config);
}

// An argument that must be an attnn.Tensor, as a reference to the Python object's own tensor.
Tensor& tensor_arg(const char* op, const char* arg, nb::handle value) {
    if (!nb::isinstance<Tensor>(value))
        throw nb::type_error((std::string(op) + ": " + arg + ": expected an attnn.Tensor, given " +
                              nb::cast<std::string>(nb::type_name(value.type())))
                                 .c_str());
    return nb::cast<Tensor&>(value);
}

// A command queue id: the CPU device has one queue, 0.
void require_queue_zero(const char* op, const char* arg, int id) {
    if (id == 0) return;
    nb::gil_scoped_acquire gil;
    const std::string message = std::string(op) + ": " + arg +
                                ": the CPU device has one command queue, 0; given " + std::to_string(id);
    PyErr_SetString(PyExc_NotImplementedError, message.c_str());
    throw nb::python_error();
}

// TT-NN's compute_with_storage_grid_size: a CoreGrid, or a CoreCoord given as an (x, y) pair.
std::optional<CoreGrid> core_grid_arg(nb::handle grid) {
    if (grid.is_none()) return std::nullopt;
    if (nb::isinstance<CoreGrid>(grid)) return nb::cast<CoreGrid>(grid);
    if (nb::isinstance<nb::tuple>(grid) || nb::isinstance<nb::list>(grid)) {
        nb::sequence seq = nb::borrow<nb::sequence>(grid);
        if (nb::len(seq) == 2) {
            int64_t x = 0, y = 0;
            if (nb::isinstance<nb::int_>(seq[0]) && nb::isinstance<nb::int_>(seq[1]) &&
                nb::try_cast<int64_t>(seq[0], x) && nb::try_cast<int64_t>(seq[1], y) && x >= 1 && y >= 1 &&
                x <= 4096 && y <= 4096)
                return CoreGrid{uint32_t(y), uint32_t(x)};
        }
    }
    throw nb::value_error(
        ("SDPAProgramConfig: compute_with_storage_grid_size: expected a CoreGrid or an (x, y) "
         "pair of positive ints, given " +
         nb::cast<std::string>(nb::repr(grid)))
            .c_str());
}

// attention_softmax[_]'s keywords as the op's options: program_config checked, head_size in uint32.
transformer::AttentionSoftmaxOptions attention_softmax_options(const char* op,
                                                               std::optional<int64_t> head_size,
                                                               std::optional<Tensor> mask,
                                                               nb::handle program_config,
                                                               std::optional<MemoryConfig> mc) {
    softmax_program_config(op, program_config);
    return {.head_size = uint32_arg(head_size, op, "head_size", "a size"),
            .attention_mask = std::move(mask),
            .memory_config = mc};
}

void bind_transformer(nb::module_& t) {
    nb::class_<transformer::SDPAProgramConfig>(t, "SDPAProgramConfig")
        .def(
            "__init__",
            [](transformer::SDPAProgramConfig* c, nb::handle grid, int64_t q_chunk_size, int64_t k_chunk_size,
               std::optional<bool> exp_approx_mode, int64_t max_cores_per_head_batch,
               nb::handle sub_core_grids) {
                const char* op = "SDPAProgramConfig";
                require_unset(op, "sub_core_grids", sub_core_grids);
                new (c) transformer::SDPAProgramConfig{
                    core_grid_arg(grid), uint32_arg(q_chunk_size, op, "q_chunk_size", "a size"),
                    uint32_arg(k_chunk_size, op, "k_chunk_size", "a size"), exp_approx_mode.value_or(false),
                    uint32_arg(max_cores_per_head_batch, op, "max_cores_per_head_batch", "a count")};
            },
            nb::kw_only(), nb::arg("compute_with_storage_grid_size") = nb::none(),
            nb::arg("q_chunk_size") = 0, nb::arg("k_chunk_size") = 0, nb::arg("exp_approx_mode") = nb::none(),
            nb::arg("max_cores_per_head_batch") = 16, nb::arg("sub_core_grids") = nb::none())
        .def("__repr__",
             [](const transformer::SDPAProgramConfig& c) {
                 std::string grid = c.compute_with_storage_grid_size
                                        ? "(x=" + std::to_string(c.compute_with_storage_grid_size->x) +
                                              ", y=" + std::to_string(c.compute_with_storage_grid_size->y) +
                                              ")"
                                        : std::string("None");
                 return "SDPAProgramConfig(compute_with_storage_grid_size=" + grid +
                        ", q_chunk_size=" + std::to_string(c.q_chunk_size) +
                        ", k_chunk_size=" + std::to_string(c.k_chunk_size) +
                        ", exp_approx_mode=" + (c.exp_approx_mode ? "True" : "False") +
                        ", max_cores_per_head_batch=" + std::to_string(c.max_cores_per_head_batch) + ")";
             })
        .def_rw("compute_with_storage_grid_size",
                &transformer::SDPAProgramConfig::compute_with_storage_grid_size)
        .def_rw("q_chunk_size", &transformer::SDPAProgramConfig::q_chunk_size)
        .def_rw("k_chunk_size", &transformer::SDPAProgramConfig::k_chunk_size)
        .def_rw("exp_approx_mode", &transformer::SDPAProgramConfig::exp_approx_mode)
        .def_rw("max_cores_per_head_batch", &transformer::SDPAProgramConfig::max_cores_per_head_batch);

    t.def(
        "split_query_key_value_and_split_heads",
        [](const Tensor& x, std::optional<Tensor> kv_input, int64_t num_heads,
           std::optional<int64_t> num_kv_heads, bool transpose_key, std::optional<MemoryConfig> mc) {
            const char* op = "split_query_key_value_and_split_heads";
            return transformer::split_query_key_value_and_split_heads(
                x, uint32_arg(num_heads, op, "num_heads", "a count"),
                {.num_kv_heads = uint32_arg(num_kv_heads, op, "num_kv_heads", "a count"),
                 .transpose_key = transpose_key,
                 .memory_config = mc,
                 .kv_input_tensor = std::move(kv_input)});
        },
        nb::arg("input_tensor"), nb::arg("kv_input_tensor") = nb::none(), nb::kw_only(), nb::arg("num_heads"),
        nb::arg("num_kv_heads") = nb::none(), nb::arg("transpose_key") = true,
        nb::arg("memory_config") = nb::none(), release_gil());
    t.def(
        "attention_softmax",
        [](const Tensor& x, std::optional<int64_t> head_size, std::optional<Tensor> mask,
           nb::handle program_config, bool /*causal_mask: the mask broadcasts whatever its shape*/,
           std::optional<MemoryConfig> mc) {
            return transformer::attention_softmax(
                x, attention_softmax_options("attention_softmax", head_size, std::move(mask), program_config,
                                             mc));
        },
        nb::arg("tensor"), nb::kw_only(), nb::arg("head_size") = nb::none(),
        nb::arg("attention_mask") = nb::none(), nb::arg("program_config").none() = nb::none(),
        nb::arg("causal_mask") = false, nb::arg("memory_config") = nb::none(), release_gil());
    t.def(
        "attention_softmax_",
        [](Tensor& x, std::optional<int64_t> head_size, std::optional<Tensor> mask, nb::handle program_config,
           bool /*causal_mask*/, std::optional<MemoryConfig> mc) {
            return transformer::attention_softmax_(
                x, attention_softmax_options("attention_softmax_", head_size, std::move(mask), program_config,
                                             mc));
        },
        nb::arg("tensor"), nb::kw_only(), nb::arg("head_size") = nb::none(),
        nb::arg("attention_mask") = nb::none(), nb::arg("program_config").none() = nb::none(),
        nb::arg("causal_mask") = false, nb::arg("memory_config") = nb::none(), release_gil());
    t.def(
        "concatenate_heads",
        [](const Tensor& x, std::optional<MemoryConfig> mc) { return transformer::concatenate_heads(x, mc); },
        nb::arg("input_tensor"), nb::kw_only(), nb::arg("memory_config") = nb::none(), release_gil());

    t.def(
        "scaled_dot_product_attention",
        [](const Tensor& q, const Tensor& k, const Tensor& v, std::optional<Tensor> attn_mask, bool is_causal,
           std::optional<float> scale, std::optional<int64_t> sliding_window_size,
           std::optional<Tensor> attention_sink, std::optional<transformer::SDPAProgramConfig> program_config,
           nb::handle, std::optional<MemoryConfig> mc) {
            const std::optional<uint32_t> window = uint32_arg(
                sliding_window_size, "scaled_dot_product_attention", "sliding_window_size", "a size");
            return transformer::scaled_dot_product_attention(q, k, v,
                                                             {.attn_mask = std::move(attn_mask),
                                                              .is_causal = is_causal,
                                                              .scale = scale,
                                                              .sliding_window_size = window,
                                                              .attention_sink = std::move(attention_sink),
                                                              .program_config = program_config,
                                                              .memory_config = mc});
        },
        nb::arg("input_tensor_q"), nb::arg("input_tensor_k"), nb::arg("input_tensor_v"), nb::kw_only(),
        nb::arg("attn_mask") = nb::none(), nb::arg("is_causal") = true, nb::arg("scale") = nb::none(),
        nb::arg("sliding_window_size") = nb::none(), nb::arg("attention_sink") = nb::none(),
        nb::arg("program_config") = nb::none(), nb::arg("compute_kernel_config") = nb::none(),
        nb::arg("memory_config") = nb::none(), release_gil());
    t.def(
        "chunked_scaled_dot_product_attention",
        [](const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& page_table,
           std::optional<int64_t> chunk_start_idx, std::optional<Tensor> chunk_start_idx_tensor,
           std::optional<float> scale, std::optional<int64_t> sliding_window_size,
           std::optional<Tensor> attention_sink, std::optional<transformer::SDPAProgramConfig> program_config,
           nb::handle, std::optional<MemoryConfig> mc) {
            const char* op = "chunked_scaled_dot_product_attention";
            const std::optional<uint32_t> window =
                uint32_arg(sliding_window_size, op, "sliding_window_size", "a size");
            if (chunk_start_idx.has_value() == chunk_start_idx_tensor.has_value())
                throw nb::value_error(
                    "chunked_scaled_dot_product_attention: give chunk_start_idx or chunk_start_idx_tensor, "
                    "one of them");
            int64_t start = 0;
            if (chunk_start_idx) {
                start = *chunk_start_idx;
            } else {
                const DataType dt = chunk_start_idx_tensor->dtype();
                if (dt != DataType::INT32 && dt != DataType::UINT32)
                    throw nb::type_error((std::string(op) +
                                          ": chunk_start_idx_tensor.dtype must be INT32 or "
                                          "UINT32, given " +
                                          to_string(dt))
                                             .c_str());
                if (chunk_start_idx_tensor->volume() != 1)
                    throw nb::value_error(
                        "chunked_scaled_dot_product_attention: chunk_start_idx_tensor must hold "
                        "one position");
                start = dt == DataType::UINT32 ? int64_t(to_host<uint32_t>(*chunk_start_idx_tensor)[0])
                                               : int64_t(to_host<int32_t>(*chunk_start_idx_tensor)[0]);
            }
            if (start < 0 || start > int64_t(UINT32_MAX))
                throw nb::value_error(
                    ("chunked_scaled_dot_product_attention: chunk_start_idx must be in [0, 2**32), given " +
                     std::to_string(start))
                        .c_str());
            return transformer::chunked_scaled_dot_product_attention(
                q, k, v, page_table, uint32_t(start),
                {.scale = scale,
                 .sliding_window_size = window,
                 .attention_sink = std::move(attention_sink),
                 .program_config = program_config,
                 .memory_config = mc});
        },
        nb::arg("input_tensor_q"), nb::arg("input_tensor_k"), nb::arg("input_tensor_v"),
        nb::arg("page_table_tensor"), nb::arg("chunk_start_idx") = nb::none(), nb::kw_only(),
        nb::arg("chunk_start_idx_tensor") = nb::none(), nb::arg("scale") = nb::none(),
        nb::arg("sliding_window_size") = nb::none(), nb::arg("attention_sink") = nb::none(),
        nb::arg("program_config") = nb::none(), nb::arg("compute_kernel_config") = nb::none(),
        nb::arg("memory_config") = nb::none(), release_gil());

    // Decode: the Python layer's wrappers pass page_table (or page_table_tensor) through.
    t.def(
        "_sdpa_decode",
        [](const Tensor& q, const Tensor& k, const Tensor& v, std::optional<Tensor> page_table,
           bool is_causal, std::optional<Tensor> attn_mask, std::optional<std::vector<int32_t>> cur_pos,
           std::optional<Tensor> cur_pos_tensor, std::optional<float> scale,
           std::optional<int64_t> sliding_window_size, std::optional<Tensor> attention_sink,
           std::optional<transformer::SDPAProgramConfig> program_config, std::optional<int> math_fidelity,
           std::optional<MemoryConfig> mc) {
            const char* op = page_table ? "paged_scaled_dot_product_attention_decode"
                                        : "scaled_dot_product_attention_decode";
            std::optional<WormholeComputeKernelConfig> compute;
            if (math_fidelity)
                compute = WormholeComputeKernelConfig{.math_fidelity = MathFidelity(*math_fidelity)};
            transformer::SDPADecodeOptions o{
                .is_causal = is_causal,
                .attn_mask = std::move(attn_mask),
                .cur_pos = cur_pos.value_or(std::vector<int32_t>{}),
                .cur_pos_tensor = std::move(cur_pos_tensor),
                .scale = scale,
                .sliding_window_size = uint32_arg(sliding_window_size, op, "sliding_window_size", "a size"),
                .attention_sink = std::move(attention_sink),
                .program_config = program_config,
                .compute_kernel_config = compute,
                .memory_config = mc};
            if (page_table)
                return transformer::paged_scaled_dot_product_attention_decode(q, k, v, *page_table, o);
            return transformer::scaled_dot_product_attention_decode(q, k, v, o);
        },
        nb::arg("q"), nb::arg("k"), nb::arg("v"), nb::arg("page_table").none(), nb::arg("is_causal"),
        nb::arg("attn_mask").none(), nb::arg("cur_pos").none(), nb::arg("cur_pos_tensor").none(),
        nb::arg("scale").none(), nb::arg("sliding_window_size").none(), nb::arg("attention_sink").none(),
        nb::arg("program_config").none(), nb::arg("math_fidelity").none(), nb::arg("memory_config").none(),
        release_gil());
}

void bind_experimental(nb::module_& e) {
    e.def(
        "nlp_create_qkv_heads",
        [](const Tensor& x, std::optional<Tensor> input_kv, int64_t num_heads,
           std::optional<int64_t> num_kv_heads, bool transpose_k_heads, std::optional<MemoryConfig> mc,
           nb::handle output_tensors, nb::handle kv_tied) {
            const char* op = "nlp_create_qkv_heads";
            require_unset(op, "output_tensors", output_tensors);
            require_unset(op, "kv_tied", kv_tied);
            return experimental::nlp_create_qkv_heads(
                x, uint32_arg(num_heads, op, "num_heads", "a count"),
                {.input_kv = std::move(input_kv),
                 .num_kv_heads = uint32_arg(num_kv_heads, op, "num_kv_heads", "a count"),
                 .transpose_k_heads = transpose_k_heads,
                 .memory_config = mc});
        },
        nb::arg("input"), nb::arg("input_kv") = nb::none(), nb::kw_only(), nb::arg("num_heads"),
        nb::arg("num_kv_heads") = nb::none(), nb::arg("transpose_k_heads") = true,
        nb::arg("memory_config") = nb::none(), nb::arg("output_tensors") = nb::none(),
        nb::arg("kv_tied").none() = false, release_gil());
    e.def(
        "nlp_create_qkv_heads_decode",
        [](const Tensor& x, int64_t num_heads, std::optional<int64_t> num_kv_heads,
           std::optional<MemoryConfig> mc, nb::handle /*overlap_qk_coregrid: a placement hint*/,
           nb::handle batch_offset, nb::handle slice_size) {
            const char* op = "nlp_create_qkv_heads_decode";
            require_unset(op, "batch_offset", batch_offset);
            require_unset(op, "slice_size", slice_size);
            return experimental::nlp_create_qkv_heads_decode(
                x, uint32_arg(num_heads, op, "num_heads", "a count"),
                {.num_kv_heads = uint32_arg(num_kv_heads, op, "num_kv_heads", "a count"),
                 .memory_config = mc});
        },
        nb::arg("input_tensor"), nb::kw_only(), nb::arg("num_heads"), nb::arg("num_kv_heads") = nb::none(),
        nb::arg("memory_config") = nb::none(), nb::arg("overlap_qk_coregrid").none() = true,
        nb::arg("batch_offset") = nb::none(), nb::arg("slice_size") = nb::none(), release_gil());
    e.def(
        "nlp_concat_heads",
        [](const Tensor& x, std::optional<MemoryConfig> mc) { return experimental::nlp_concat_heads(x, mc); },
        nb::arg("input_tensor"), nb::kw_only(), nb::arg("memory_config") = nb::none(), release_gil());
    e.def(
        "nlp_concat_heads_decode",
        [](const Tensor& x, int64_t num_heads, std::optional<MemoryConfig> mc, nb::handle sub_core_grids,
           nb::handle output_tensor) {
            const char* op = "nlp_concat_heads_decode";
            require_unset(op, "sub_core_grids", sub_core_grids);
            require_unset(op, "output_tensor", output_tensor);
            return experimental::nlp_concat_heads_decode(x, uint32_arg(num_heads, op, "num_heads", "a count"),
                                                         mc);
        },
        nb::arg("input_tensor"), nb::kw_only(), nb::arg("num_heads"), nb::arg("memory_config") = nb::none(),
        nb::arg("sub_core_grids") = nb::none(), nb::arg("output_tensor") = nb::none(), release_gil());
    e.def(
        "rotary_embedding_llama",
        [](const Tensor& x, const Tensor& cos, const Tensor& sin, const Tensor& trans_mat, bool is_decode_mode,
           std::optional<MemoryConfig> mc, nb::handle) {
            return experimental::rotary_embedding_llama(x, cos, sin, trans_mat,
                                                        {.is_decode_mode = is_decode_mode, .memory_config = mc});
        },
        nb::arg("input_tensor"), nb::arg("cos_cache"), nb::arg("sin_cache"), nb::arg("trans_mat"),
        nb::arg("is_decode_mode") = false, nb::kw_only(), nb::arg("memory_config") = nb::none(),
        nb::arg("compute_kernel_config") = nb::none(), release_gil());
    e.def(
        "rotary_embedding",
        [](const Tensor& x, const Tensor& cos, const Tensor& sin, std::optional<int64_t> token_index,
           std::optional<MemoryConfig> mc, nb::handle) {
            return experimental::rotary_embedding(
                x, cos, sin,
                {.token_index = uint32_arg(token_index, "rotary_embedding", "token_index", "a position"),
                 .memory_config = mc});
        },
        nb::arg("input_tensor"), nb::arg("cos_cache"), nb::arg("sin_cache"),
        nb::arg("token_index") = nb::none(), nb::kw_only(), nb::arg("memory_config") = nb::none(),
        nb::arg("compute_kernel_config") = nb::none(), release_gil());
    e.def(
        "get_rot_transformation_mat", [](Device& d) { return experimental::get_rot_transformation_mat(d); },
        nb::arg("device"),
        "The [1, 1, 32, 32] BFLOAT16 TILE matrix rotary_embedding_llama takes (tt-metal's get_rot_transformation_mat).", release_gil());
    e.def(
        "paged_fill_cache",
        [](Tensor& cache, const Tensor& input, const Tensor& page_table,
           std::optional<Tensor> batch_idx_tensor, int64_t batch_idx) {
            if (batch_idx_tensor)
                experimental::paged_fill_cache(cache, input, page_table, *batch_idx_tensor);
            else
                experimental::paged_fill_cache(cache, input, page_table,
                                               uint32_arg(batch_idx, "paged_fill_cache", "batch_idx"));
            return cache;
        },
        nb::arg("cache_tensor"), nb::arg("input_tensor"), nb::arg("page_table"), nb::kw_only(),
        nb::arg("batch_idx_tensor") = nb::none(), nb::arg("batch_idx") = 0, release_gil());
    e.def(
        "paged_update_cache",
        [](Tensor& cache, const Tensor& input, std::optional<std::vector<int32_t>> update_idxs,
           std::optional<Tensor> update_idxs_tensor, std::optional<Tensor> page_table, nb::handle) {
            experimental::paged_update_cache(cache, input,
                                             {.update_idxs = update_idxs.value_or(std::vector<int32_t>{}),
                                              .update_idxs_tensor = std::move(update_idxs_tensor),
                                              .page_table = std::move(page_table)});
            return cache;
        },
        nb::arg("cache_tensor"), nb::arg("input_tensor"), nb::kw_only(), nb::arg("update_idxs") = nb::none(),
        nb::arg("update_idxs_tensor") = nb::none(), nb::arg("page_table") = nb::none(),
        nb::arg("compute_kernel_config") = nb::none(), release_gil());
}

}  // namespace

void bind_ops(nb::module_& m) {
    m.def("matmul", &matmul_py, nb::arg("input_tensor_a"), nb::arg("input_tensor_b"), nb::kw_only(),
          nb::arg("transpose_a") = false, nb::arg("transpose_b") = false, nb::arg("memory_config") = nb::none(),
          nb::arg("dtype") = nb::none(), nb::arg("core_grid") = nb::none(), nb::arg("program_config") = nb::none(),
          nb::arg("compute_kernel_config") = nb::none(), nb::arg("activation") = nb::none(), release_gil());
    m.def("linear", &linear_py, nb::arg("input_tensor_a"), nb::arg("input_tensor_b"), nb::kw_only(),
          nb::arg("bias") = nb::none(), nb::arg("transpose_a") = false, nb::arg("transpose_b") = false,
          nb::arg("memory_config") = nb::none(), nb::arg("dtype") = nb::none(), nb::arg("core_grid") = nb::none(),
          nb::arg("activation") = nb::none(), nb::arg("program_config") = nb::none(),
          nb::arg("compute_kernel_config") = nb::none(), release_gil());

    bind_binary(m, "add", [](const auto& a, const auto& b, const BinaryOptions& o) { return add(a, b, o); });
    bind_binary(m, "subtract", [](const auto& a, const auto& b, const BinaryOptions& o) { return subtract(a, b, o); });
    bind_binary(m, "multiply", [](const auto& a, const auto& b, const BinaryOptions& o) { return multiply(a, b, o); });

    m.def(
        "softmax",
        [](const Tensor& x, int dim, std::optional<MemoryConfig> mc, nb::handle, bool) { return softmax(x, dim, mc); },
        nb::arg("input_tensor"), nb::arg("dim") = -1, nb::kw_only(), nb::arg("memory_config") = nb::none(),
        nb::arg("compute_kernel_config") = nb::none(), nb::arg("numeric_stable") = true, release_gil());

    m.def(
        "fill_cache",
        [](Tensor& cache, const Tensor& input, int64_t batch_idx) {
            fill_cache(cache, input, uint32_arg(batch_idx, "fill_cache", "batch_idx"));
            return cache;
        },
        nb::arg("cache_tensor"), nb::arg("input_tensor"), nb::arg("batch_idx"), release_gil());
    m.def(
        "update_cache",
        [](Tensor& cache, const Tensor& input, int64_t update_idx, int64_t batch_offset, nb::handle) {
            update_cache(cache, input, uint32_arg(update_idx, "update_cache", "update_idx"),
                         uint32_arg(batch_offset, "update_cache", "batch_offset"));
            return cache;
        },
        nb::arg("cache"), nb::arg("input"), nb::arg("update_idx"), nb::arg("batch_offset") = 0,
        nb::arg("compute_kernel_config") = nb::none(), release_gil());

    // The lookups and in-place updates of a decode loop: RoPE rows by position, positions + 1.
    nb::enum_<EmbeddingsType>(m, "EmbeddingsType")
        .value("GENERIC", EmbeddingsType::GENERIC)
        .value("PADDED", EmbeddingsType::PADDED)
        .value("BINARY", EmbeddingsType::BINARY);
    m.def(
        "embedding",
        [](const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx,
           std::optional<Layout> layout, EmbeddingsType type, std::optional<DataType> dtype,
           nb::handle output_tensor, std::optional<MemoryConfig> mc, int queue_id) {
            require_unset("embedding", "output_tensor", output_tensor);
            require_queue_zero("embedding", "queue_id", queue_id);
            return embedding(input, weight,
                             {.padding_idx = padding_idx,
                              .layout = layout,
                              .embeddings_type = type,
                              .dtype = dtype,
                              .memory_config = mc});
        },
        nb::arg("input_tensor"), nb::arg("weight"), nb::kw_only(), nb::arg("padding_idx") = nb::none(),
        nb::arg("layout") = nb::none(), nb::arg("embeddings_type") = EmbeddingsType::GENERIC,
        nb::arg("dtype") = nb::none(), nb::arg("output_tensor") = nb::none(),
        nb::arg("memory_config") = nb::none(), nb::arg("queue_id") = 0, release_gil());
    // These two update in place and return the very object they were given (TT-NN's do): the
    // arguments are looked at with the GIL held, the op runs without it.
    m.def(
        "plus_one",
        [](nb::object input, nb::handle sub_core_grids, bool skip_negative_entries) {
            require_unset("plus_one", "sub_core_grids", sub_core_grids);
            Tensor& t = tensor_arg("plus_one", "input_tensor", input);
            {
                nb::gil_scoped_release released;
                plus_one(t, {.skip_negative_entries = skip_negative_entries});
            }
            return input;
        },
        nb::arg("input_tensor"), nb::arg("sub_core_grids") = nb::none(),
        nb::arg("skip_negative_entries") = false);
    m.def(
        "copy",
        [](const Tensor& a, nb::object b) {
            Tensor& t = tensor_arg("copy", "input_b", b);
            {
                nb::gil_scoped_release released;
                copy(a, t);
            }
            return b;
        },
        nb::arg("input_a"), nb::arg("input_b"));
    m.def(
        "copy_host_to_device_tensor",
        [](const Tensor& host, Tensor& device, int cq_id) {
            require_queue_zero("copy_host_to_device_tensor", "cq_id", cq_id);
            copy_host_to_device_tensor(host, device);
        },
        nb::arg("host_tensor"), nb::arg("device_tensor"), nb::arg("cq_id") = 0, release_gil());

    nb::module_ t = m.def_submodule("transformer", "TT-NN's ttnn.transformer ops");
    bind_transformer(t);
    nb::module_ e = m.def_submodule("experimental", "TT-NN's ttnn.experimental ops");
    bind_experimental(e);
}

}  // namespace attnn::python
