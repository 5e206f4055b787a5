#include "reference/reference.hpp"

#include <cmath>

namespace attnn::reference {

Array from_tensor(const Tensor& t) {
    Array a;
    a.shape = t.shape().to_vector();
    a.values = to_host<double>(t);
    return a;
}

double pcc(const std::vector<double>& golden, const std::vector<double>& calculated) {
    return comp_pcc(golden, calculated);
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
    double m = 0;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
    return a.size() == b.size() ? m : INFINITY;
}

double rmse(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size() || a.empty()) return INFINITY;
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
    return std::sqrt(s / double(a.size()));
}

std::vector<double> round_to_dtype(const std::vector<double>& values, DataType dtype) {
    std::vector<double> out(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        float f = float(values[i]);
        out[i] = dtype == DataType::BFLOAT16 ? double(bfloat16(f).to_float()) : double(f);
    }
    return out;
}

}  // namespace attnn::reference
