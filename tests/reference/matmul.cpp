#include "reference/matmul.hpp"

#include <cmath>
#include <stdexcept>

namespace attnn::reference {

Array matmul(const Array& a, const Array& b, bool transpose_a, bool transpose_b,
             const std::vector<double>* bias, const std::string& activation) {
    const std::size_t ra = a.shape.size(), rb = b.shape.size();
    const uint64_t m = transpose_a ? a.shape[ra - 1] : a.shape[ra - 2];
    const uint64_t k = transpose_a ? a.shape[ra - 2] : a.shape[ra - 1];
    const uint64_t n = transpose_b ? b.shape[rb - 2] : b.shape[rb - 1];
    const std::size_t lead_a = ra - 2, lead_b = rb - 2, lead = std::max(lead_a, lead_b);
    std::vector<uint32_t> out_lead(lead);
    for (std::size_t i = 0; i < lead; ++i) {
        uint32_t da = i + lead_a >= lead ? a.shape[i + lead_a - lead] : 1;
        uint32_t db = i + lead_b >= lead ? b.shape[i + lead_b - lead] : 1;
        out_lead[i] = std::max(da, db);
    }
    Array out;
    out.shape = out_lead;
    out.shape.push_back(uint32_t(m));
    out.shape.push_back(uint32_t(n));
    out.values.assign(out.volume(), 0.0);
    uint64_t batches = out.volume() / (m * n);
    for (uint64_t o = 0; o < batches; ++o) {
        uint64_t rem = o, ai = 0, bi = 0, sa = 1, sb = 1;
        for (std::size_t i = lead; i-- > 0;) {
            uint64_t idx = rem % out_lead[i];
            rem /= out_lead[i];
            if (i + lead_a >= lead) {
                uint32_t d = a.shape[i + lead_a - lead];
                ai += (d == 1 ? 0 : idx) * sa, sa *= d;
            }
            if (i + lead_b >= lead) {
                uint32_t d = b.shape[i + lead_b - lead];
                bi += (d == 1 ? 0 : idx) * sb, sb *= d;
            }
        }
        const double* pa = a.values.data() + ai * m * k;
        const double* pb = b.values.data() + bi * k * n;
        double* pc = out.values.data() + o * m * n;
        for (uint64_t i = 0; i < m; ++i)
            for (uint64_t j = 0; j < n; ++j) {
                double s = 0;
                for (uint64_t kk = 0; kk < k; ++kk)
                    s += (transpose_a ? pa[kk * m + i] : pa[i * k + kk]) *
                         (transpose_b ? pb[j * k + kk] : pb[kk * n + j]);
                if (bias) s += (*bias)[j];
                if (activation == "relu")
                    s = s > 0 || std::isnan(s) ? s : 0;  // NaN stays NaN, as torch's relu keeps it
                else if (activation == "gelu")
                    s = 0.5 * s * (1 + std::erf(s / std::sqrt(2.0)));
                else if (activation == "silu")
                    s = s / (1 + std::exp(-s));
                else if (!activation.empty())
                    throw std::invalid_argument("reference::matmul: unknown activation");
                pc[i * n + j] = s;
            }
    }
    return out;
}

}  // namespace attnn::reference
