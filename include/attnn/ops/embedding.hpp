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
    // TT-NN's pad_token: input entries equal to it give rows of zeros; setting it makes the type
    // PADDED. An index, so >= 0 (not torch's count from the end); it may lie past the table, as a
    // pad token numbered after the vocabulary does.
    std::optional<int64_t> padding_idx;
    std::optional<Layout> layout;  // the output's layout; default: the weight's
    EmbeddingsType embeddings_type = EmbeddingsType::GENERIC;
    std::optional<DataType> dtype;  // default: the weight's dtype
    std::optional<MemoryConfig> memory_config;
};

// input_tensor INT32 / UINT32 of any shape [d1, .., dn] and weight [num_embeddings, dim] (or
// [1, 1, num_embeddings, dim]) -> [d1, .., dn, dim], each index replaced by its weight row; TT-NN's
// kernel shape [b, 1, 1, s] gives [b, s, dim], as TT-NN's does. Any floating-point weight dtype
// and layout; an index outside [0, num_embeddings) is an error naming it, where TT-NN would read
// past the table.
Tensor embedding(const Tensor& input_tensor, const Tensor& weight, const EmbeddingOptions& options = {});

}  // namespace attnn
