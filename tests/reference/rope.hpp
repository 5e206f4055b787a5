// fp64 references for the RoPE ops.
#pragma once
#include <optional>

#include "reference/reference.hpp"

namespace attnn::reference {

// x * cos + (x @ trans) * sin, trans [1, 1, 32, 32] applied per 32-wide block of the head dim
// (a narrower last block uses its top-left corner). Prefill: x [b, nh, s, dh], cos/sin
// [1, 1 | nh, s, dh]; decode: x [1, b, nh, dh], cos/sin [1, b, 1 | nh, dh].
Array rotary_embedding_llama(const Array& x, const Array& cos, const Array& sin, const Array& trans,
                             bool is_decode_mode);
// x * cos + rotate_half(x) * sin; x [..., s, dh], caches [1, 1, max_seq, dh]; row t takes
// position t, or token_index.
Array rotary_embedding(const Array& x, const Array& cos, const Array& sin,
                       std::optional<uint32_t> token_index);

}  // namespace attnn::reference
