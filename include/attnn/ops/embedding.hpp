// TT-NN's embedding: rows of a table gathered by index, as a model looks up its token embeddings
// and a decode step its RoPE cos/sin rows (tt_transformers' RotarySetup.get_rot_mats).
#pragma once
#include <cstdint>
#include <optional>

#include "attnn/tensor.hpp"

namespace attnn {

enum class EmbeddingsType {
    GENERIC,  // every index looks up its row
    PADDED,   // as GENERIC, and the index padding_idx gives a row of zeros
    BINARY,   // a two-row table indexed by 0 / 1
};

struct EmbeddingOptions {
    std::optional<int64_t> padding_idx;  // TT-NN's pad_token; setting it makes the type PADDED
    Layout layout = Layout::ROW_MAJOR;   // the output's layout
    EmbeddingsType embeddings_type = EmbeddingsType::GENERIC;
    std::optional<DataType> dtype;  // default: the weight's dtype
    std::optional<MemoryConfig> memory_config;
};

// input_tensor INT32 / UINT32 [b, s] (or [b, 1, 1, s]: TT-NN reads shape[0] and shape[-1]) and
// weight [num_embeddings, dim] (or [1, 1, num_embeddings, dim]) -> [b, s, dim], output row
// (i, j) = weight row input[i, j]. Any floating-point weight dtype and layout; an index outside
// [0, num_embeddings) is an error naming it, where TT-NN would read past the table.
Tensor embedding(const Tensor& input_tensor, const Tensor& weight, const EmbeddingOptions& options = {});

}  // namespace attnn
