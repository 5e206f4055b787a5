// numpy broadcasting of logical shapes, expressed as the row maps the row-based kernels use.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "attnn/types.hpp"

namespace attnn::detail {

// Shapes aligned from the right; each pair of dims must be equal or contain a 1.
bool broadcastable(const Shape& a, const Shape& b);
// The broadcast of a and b; throws naming op, both arguments and the first clashing dim.
Shape broadcast_shape(std::string_view op, std::string_view a_name, const Shape& a, std::string_view b_name,
                      const Shape& b);

// How an input reaches the rows of an output it broadcasts to.
struct RowBroadcast {
    std::vector<int64_t> source_row;  // per output row: the input row it reads
    bool broadcast_cols = false;      // the input's last dim is 1 and the output's is not
};
// input broadcasts to output (checked by the caller).
RowBroadcast row_broadcast(const Shape& input, const Shape& output);

}  // namespace attnn::detail
