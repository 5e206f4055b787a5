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
    auto clean = [](double v) { return std::isfinite(v) ? v : 0.0; };
    const std::size_t n = golden.size();
    if (n != calculated.size() || n == 0) return 0.0;
    double mg = 0, mc = 0;
    for (std::size_t i = 0; i < n; ++i) mg += clean(golden[i]), mc += clean(calculated[i]);
    mg /= double(n), mc /= double(n);
    double sgc = 0, sgg = 0, scc = 0;
    for (std::size_t i = 0; i < n; ++i) {
        double g = clean(golden[i]) - mg, c = clean(calculated[i]) - mc;
        sgc += g * c, sgg += g * g, scc += c * c;
    }
    if (sgg == 0 && scc == 0) return 1.0;  // both constant: equal iff same constant
    if (sgg == 0 || scc == 0) return 0.0;
    return sgc / std::sqrt(sgg * scc);
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
