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
    const Shape& is = input.shape();
    ATTNN_CHECK(
        is.rank() >= 2 && uint64_t(is[0]) * is[-1] == is.volume(), op,
        "input_tensor must be [batch, sentence] (or [batch, 1, 1, sentence]), given input_tensor.shape=", is);
    detail::check_floating_point(op, "weight", weight.dtype());
    const Shape& ws = weight.shape();
    ATTNN_CHECK(
        ws.rank() >= 2 && uint64_t(ws[-2]) * ws[-1] == ws.volume(), op,
        "weight must be [num_embeddings, dim] (or [1, 1, num_embeddings, dim]), given weight.shape=", ws);
    const int64_t batch = is[0], sentence = is[-1], rows = ws[-2], dim = ws[-1];

    EmbeddingsType type = options.padding_idx ? EmbeddingsType::PADDED : options.embeddings_type;
    ATTNN_CHECK(type != EmbeddingsType::PADDED || options.padding_idx, op,
                "embeddings_type=PADDED needs padding_idx (the index whose rows are zeros)");
    ATTNN_CHECK(type != EmbeddingsType::BINARY || rows == 2, op,
                "embeddings_type=BINARY needs a weight of 2 rows, given weight.shape=", ws);
    const DataType dtype = options.dtype.value_or(weight.dtype());
    detail::check_floating_point(op, "dtype", dtype);
    ATTNN_CHECK_TYPE(!is_block_float(dtype) || options.layout == Layout::TILE, op, "dtype=", to_string(dtype),
                     " exists only in Layout::TILE, given layout=", to_string(options.layout));

    std::lock_guard lock(device.op_mutex);  // the indices are read as the op sees them
    std::vector<int64_t> index(std::size_t(batch * sentence));
    if (input.dtype() == DataType::UINT32) {
        std::vector<uint32_t> u = to_host<uint32_t>(input);
        std::copy(u.begin(), u.end(), index.begin());
    } else {
        std::vector<int32_t> s = to_host<int32_t>(input);
        std::copy(s.begin(), s.end(), index.begin());
    }
    const int64_t padding = type == EmbeddingsType::PADDED ? *options.padding_idx : -1;
    for (std::size_t i = 0; i < index.size(); ++i)
        ATTNN_CHECK(index[i] == padding || (index[i] >= 0 && index[i] < rows), op, "input_tensor[",
                    int64_t(i) / sentence, "][", int64_t(i) % sentence, "]=", index[i],
                    " is out of range for a weight of ", rows, " rows");

    Tensor out = detail::allocate_tensor(
        Shape{uint32_t(batch), uint32_t(sentence), uint32_t(dim)}, dtype, options.layout,
        options.memory_config.value_or(input.memory_config()), input.device_impl(), op);
    const detail::MatrixView table = detail::matrix_view(weight, op), ov = detail::matrix_view(out, op);
    detail::parallel_rows(device, batch * sentence, dim, [&](int64_t begin, int64_t end, int) {
        std::vector<float> row(static_cast<std::size_t>(dim));
        for (int64_t i = begin; i < end; ++i) {
            const int64_t at = index[std::size_t(i)];
            if (at == padding)
                std::fill(row.begin(), row.end(), 0.0f);
            else
                table.read(0, at, 0, dim, row.data());
            ov.write(i / sentence, i % sentence, 0, dim, row.data());
        }
    });
    return out;
}

}  // namespace attnn
