#include "reference/eltwise.hpp"

#include <algorithm>
#include <functional>

namespace attnn::reference {

std::vector<uint32_t> broadcast_shape(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
    const std::size_t rank = std::max(a.size(), b.size());
    std::vector<uint32_t> out(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        uint32_t da = i < a.size() ? a[a.size() - 1 - i] : 1, db = i < b.size() ? b[b.size() - 1 - i] : 1;
        out[rank - 1 - i] = da == 1 ? db : da;
    }
    return out;
}

std::vector<uint32_t> unravel(uint64_t flat, const std::vector<uint32_t>& shape) {
    std::vector<uint32_t> index(shape.size());
    for (std::size_t d = shape.size(); d-- > 0;) {
        index[d] = uint32_t(flat % shape[d]);
        flat /= shape[d];
    }
    return index;
}

double broadcast_at(const Array& x, const std::vector<uint32_t>& index) {
    uint64_t flat = 0;
    const std::size_t skip = index.size() - x.shape.size();
    for (std::size_t d = 0; d < x.shape.size(); ++d) flat = flat * x.shape[d] + (x.shape[d] == 1 ? 0 : index[skip + d]);
    return x.values[flat];
}

namespace {
Array binary(const Array& a, const Array& b, const std::function<double(double, double)>& f) {
    Array out;
    out.shape = broadcast_shape(a.shape, b.shape);
    out.values.resize(out.volume());
    for (uint64_t i = 0; i < out.values.size(); ++i) {
        auto index = unravel(i, out.shape);
        out.values[i] = f(broadcast_at(a, index), broadcast_at(b, index));
    }
    return out;
}
Array scalar(const Array& a, double b, const std::function<double(double, double)>& f) {
    Array out = a;
    for (double& v : out.values) v = f(v, b);
    return out;
}
}  // namespace

Array add(const Array& a, const Array& b) { return binary(a, b, std::plus<>()); }
Array subtract(const Array& a, const Array& b) { return binary(a, b, std::minus<>()); }
Array multiply(const Array& a, const Array& b) { return binary(a, b, std::multiplies<>()); }
Array add(const Array& a, double b) { return scalar(a, b, std::plus<>()); }
Array subtract(const Array& a, double b) { return scalar(a, b, std::minus<>()); }
Array multiply(const Array& a, double b) { return scalar(a, b, std::multiplies<>()); }

}  // namespace attnn::reference
