#include "reference/data_movement.hpp"

#include <numeric>

#include "reference/eltwise.hpp"

namespace attnn::reference {

Array permute(const Array& x, const std::vector<int>& dims) {
    Array out;
    for (int d : dims) out.shape.push_back(x.shape[d]);
    out.values.resize(x.values.size());
    std::vector<uint32_t> in_index(x.shape.size());
    for (uint64_t i = 0; i < out.values.size(); ++i) {
        auto index = unravel(i, out.shape);
        for (std::size_t d = 0; d < dims.size(); ++d) in_index[dims[d]] = index[d];
        out.values[i] = broadcast_at(x, in_index);
    }
    return out;
}

Array transpose(const Array& x, int dim0, int dim1) {
    const int rank = int(x.shape.size());
    std::vector<int> dims(rank);
    std::iota(dims.begin(), dims.end(), 0);
    std::swap(dims[dim0 < 0 ? dim0 + rank : dim0], dims[dim1 < 0 ? dim1 + rank : dim1]);
    return permute(x, dims);
}

Array slice(const Array& x, const std::vector<int64_t>& begins, const std::vector<int64_t>& ends,
            const std::vector<int64_t>& steps) {
    Array out;
    for (std::size_t d = 0; d < x.shape.size(); ++d)
        out.shape.push_back(uint32_t((ends[d] - begins[d] + steps[d] - 1) / steps[d]));
    out.values.resize(out.volume());
    std::vector<uint32_t> in_index(x.shape.size());
    for (uint64_t i = 0; i < out.values.size(); ++i) {
        auto index = unravel(i, out.shape);
        for (std::size_t d = 0; d < index.size(); ++d) in_index[d] = uint32_t(begins[d] + index[d] * steps[d]);
        out.values[i] = broadcast_at(x, in_index);
    }
    return out;
}

Array embedding(const std::vector<int64_t>& indices, std::vector<uint32_t> out_dims, const Array& table,
                std::optional<int64_t> padding_idx) {
    const uint32_t dim = table.shape.back();
    out_dims.push_back(dim);
    Array out{out_dims, {}};
    out.values.assign(out.volume(), 0.0);
    for (std::size_t i = 0; i < indices.size(); ++i) {
        if (indices[i] == padding_idx) continue;
        for (uint32_t d = 0; d < dim; ++d)
            out.values[i * dim + d] = table.values[std::size_t(indices[i]) * dim + d];
    }
    return out;
}

}  // namespace attnn::reference
