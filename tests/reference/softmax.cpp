#include "reference/softmax.hpp"

#include <cmath>
#include <limits>

namespace attnn::reference {

Array softmax(const Array& x, int dim) {
    const int rank = int(x.shape.size());
    if (dim < 0) dim += rank;
    uint64_t outer = 1, inner = 1;
    for (int d = 0; d < dim; ++d) outer *= x.shape[d];
    for (int d = dim + 1; d < rank; ++d) inner *= x.shape[d];
    const uint64_t n = x.shape[dim];
    Array out = x;
    for (uint64_t o = 0; o < outer; ++o) {
        for (uint64_t in = 0; in < inner; ++in) {
            auto at = [&](uint64_t i) -> double& { return out.values[(o * n + i) * inner + in]; };
            bool has_nan = false;
            double max = -std::numeric_limits<double>::infinity();
            for (uint64_t i = 0; i < n; ++i) {
                has_nan |= std::isnan(at(i));
                max = std::max(max, at(i));
            }
            if (has_nan || max == -std::numeric_limits<double>::infinity()) {
                for (uint64_t i = 0; i < n; ++i) at(i) = has_nan ? std::numeric_limits<double>::quiet_NaN() : 0.0;
                continue;
            }
            double sum = 0;
            for (uint64_t i = 0; i < n; ++i) sum += std::exp(at(i) - max);
            for (uint64_t i = 0; i < n; ++i) at(i) = std::exp(at(i) - max) / sum;
        }
    }
    return out;
}

}  // namespace attnn::reference
