#include "ops/eltwise/broadcast.hpp"

#include <algorithm>

#include "attnn/error.hpp"

namespace attnn::detail {

namespace {
// dims of `s` aligned to `rank` by prepending ones.
std::vector<uint32_t> aligned_dims(const Shape& s, int rank) {
    std::vector<uint32_t> dims(std::size_t(rank - s.rank()), 1u);
    for (uint32_t d : s.dims()) dims.push_back(d);
    return dims;
}

// The first dim (negative, from the end) where a and b clash, or 0 when they broadcast.
int clashing_dim(const Shape& a, const Shape& b) {
    for (int i = 1; i <= std::min(a.rank(), b.rank()); ++i)
        if (a[-i] != b[-i] && a[-i] != 1 && b[-i] != 1) return -i;
    return 0;
}
}  // namespace

bool broadcastable(const Shape& a, const Shape& b) { return clashing_dim(a, b) == 0; }

Shape broadcast_shape(std::string_view op, std::string_view a_name, const Shape& a, std::string_view b_name,
                      const Shape& b) {
    if (int dim = clashing_dim(a, b))
        fail(ErrorKind::InvalidArgument, op, a_name, ".shape=", a, " and ", b_name, ".shape=", b,
             " do not broadcast (dim ", dim, ": ", a[dim], " vs ", b[dim], ")");
    const int rank = std::max(a.rank(), b.rank());
    std::vector<uint32_t> da = aligned_dims(a, rank), db = aligned_dims(b, rank), out(rank);
    for (int d = 0; d < rank; ++d) out[d] = da[d] == 1 ? db[d] : da[d];
    return Shape(out);
}

RowBroadcast row_broadcast(const Shape& input, const Shape& output) {
    const int rank = output.rank();
    std::vector<uint32_t> in = aligned_dims(input, rank);
    const int row_dims = rank - 1;  // every dim but the last indexes rows
    // stride[d]: how far the input row index moves per step of dim d (0 where it broadcasts)
    std::vector<int64_t> stride(std::max(row_dims, 0));
    int64_t step = 1;
    for (int d = row_dims - 1; d >= 0; --d) {
        stride[d] = in[d] == 1 ? 0 : step;
        step *= in[d];
    }
    int64_t num_rows = 1;
    for (int d = 0; d < row_dims; ++d) num_rows *= output[d];

    RowBroadcast map;
    map.broadcast_cols = in[rank - 1] == 1 && output[rank - 1] != 1;
    map.source_row.resize(std::size_t(num_rows));
    std::vector<uint32_t> index(std::size_t(std::max(row_dims, 0)), 0u);
    int64_t source = 0;
    for (int64_t row = 0; row < num_rows; ++row) {
        map.source_row[row] = source;
        // odometer step over the output's row dims, keeping `source` in sync
        for (int d = row_dims - 1; d >= 0; --d) {
            if (++index[d] < output[d]) {
                source += stride[d];
                break;
            }
            source -= stride[d] * (output[d] - 1);
            index[d] = 0;
        }
    }
    return map;
}

}  // namespace attnn::detail
