// embedding: output row (i, j) = weight row input[i, j], copied through fp32 (exact for FLOAT32
// and BFLOAT16 tables; a block-float output encodes each row anew).
#include "attnn/ops/embedding.hpp"

#include <mutex>
#include <vector>

#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/common.hpp"

namespace attnn {

Tensor embedding(const Tensor& input, const Tensor& weight, const EmbeddingOptions& options) {
    const char* op = "embedding";
    detail::DeviceImpl& device = detail::require_device(op, {{&input, "input_tensor"}, {&weight, "weight"}});
    ATTNN_CHECK_TYPE(input.dtype() == DataType::INT32 || input.dtype() == DataType::UINT32, op,
                     "input_tensor.dtype must be INT32 or UINT32 (indices), given ",
                     to_string(input.dtype()));
    detail::check_floating_point(op, "weight", weight.dtype());
    const Shape& ws = weight.shape();
    ATTNN_CHECK(
        ws.rank() >= 2 && uint64_t(ws[-2]) * ws[-1] == ws.volume(), op,
        "weight must be [num_embeddings, dim] (or [1, 1, num_embeddings, dim]), given weight.shape=", ws);
    const int64_t rows = ws[-2], dim = ws[-1];
    // TT-NN's shapes: [b, 1, 1, s] -> [b, s, dim], any other [d1, .., dn] -> [d1, .., dn, dim].
    const Shape& is = input.shape();
    std::vector<uint32_t> out_dims;
    if (is.rank() == 4 && is[1] == 1 && is[2] == 1)
        out_dims = {is[0], is[3]};
    else
        out_dims = is.to_vector();
    ATTNN_CHECK(out_dims.size() < std::size_t(Shape::max_rank), op, "input_tensor has rank ", is.rank(),
                "; the output adds a dim, so at most ", Shape::max_rank - 1, " are taken");
    out_dims.push_back(uint32_t(dim));
    const int64_t count = int64_t(input.volume());

    if (options.padding_idx)
        ATTNN_CHECK(*options.padding_idx >= 0, op, "padding_idx must be >= 0 (an index), given ",
                    *options.padding_idx);
    EmbeddingsType type = options.padding_idx ? EmbeddingsType::PADDED : options.embeddings_type;
    ATTNN_CHECK(type != EmbeddingsType::PADDED || options.padding_idx, op,
                "embeddings_type=PADDED needs padding_idx (the index whose rows are zeros)");
    ATTNN_CHECK(type != EmbeddingsType::BINARY || rows == 2, op,
                "embeddings_type=BINARY needs a weight of 2 rows, given weight.shape=", ws);
    const DataType dtype = options.dtype.value_or(weight.dtype());
    const Layout layout = options.layout.value_or(weight.layout());
    detail::check_floating_point(op, "dtype", dtype);
    ATTNN_CHECK_TYPE(!is_block_float(dtype) || layout == Layout::TILE, op, "dtype=", to_string(dtype),
                     " exists only in Layout::TILE, given layout=", to_string(layout));

    auto lock = device.lock(op);  // the indices are read as the op sees them
    std::vector<int64_t> index(static_cast<std::size_t>(count));
    if (input.dtype() == DataType::UINT32) {
        std::vector<uint32_t> u = to_host<uint32_t>(input);
        std::copy(u.begin(), u.end(), index.begin());
    } else {
        std::vector<int32_t> s = to_host<int32_t>(input);
        std::copy(s.begin(), s.end(), index.begin());
    }
    const std::optional<int64_t> padding =
        type == EmbeddingsType::PADDED ? options.padding_idx : std::optional<int64_t>{};
    for (std::size_t i = 0; i < index.size(); ++i)
        if (index[i] != padding && (index[i] < 0 || index[i] >= rows)) {
            detail::fail(ErrorKind::InvalidArgument, op, "input_tensor",
                         detail::element_index(is, int64_t(i)), "=", index[i],
                         " is out of range for a weight of ", rows, " rows");
        }

    Tensor out = detail::allocate_tensor(Shape(out_dims), dtype, layout,
                                         options.memory_config.value_or(input.memory_config()),
                                         input.device_impl(), op);
    const detail::MatrixView table = detail::matrix_view(weight, op), ov = detail::matrix_view(out, op);
    // Output row i is row i % ov.rows of matrix i / ov.rows (the output's last two dims are
    // [last input dim, dim], or [s, dim] for a [b, 1, 1, s] input).
    detail::parallel_rows(device, count, dim, [&](int64_t begin, int64_t end, int) {
        std::vector<float> row(static_cast<std::size_t>(dim));
        for (int64_t i = begin; i < end; ++i) {
            const int64_t at = index[std::size_t(i)];
            if (at == padding)
                std::fill(row.begin(), row.end(), 0.0f);
            else
                table.read(0, at, 0, dim, row.data());
            ov.write(i / ov.rows, i % ov.rows, 0, dim, row.data());
        }
    });
    return out;
}

}  // namespace attnn
