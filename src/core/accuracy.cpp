#include "attnn/accuracy.hpp"

#include <algorithm>
#include <cmath>

namespace attnn {

// TT-NN's comp_pcc (tt-metal's tests/ttnn/utils_for_testing.py), step for step: both all NaN
// pass and one all NaN fails; one all zero and the other not fails (NaN and Inf count as
// non-zero, as torch's .bool() has them); then Inf and NaN are read as 0, equal inputs pass, and
// the rest is Pearson's r. Where attnn departs from it: two constant inputs pass only when their
// values are close (torch.isclose's tolerances; TT-NN's masked corrcoef passes any two), and one
// constant input beside a varying one fails (TT-NN passes it). Computed on inputs scaled by their
// largest magnitude, so values past 1e154 do not overflow the sums.
double comp_pcc(const std::vector<double>& golden, const std::vector<double>& calculated) {
    const std::size_t n = golden.size();
    if (n == 0 || n != calculated.size()) return 0.0;
    auto all = [](const std::vector<double>& v, auto pred) { return std::all_of(v.begin(), v.end(), pred); };
    auto is_nan = [](double x) { return std::isnan(x); };
    auto is_zero = [](double x) { return x == 0.0; };
    const bool nan_g = all(golden, is_nan), nan_c = all(calculated, is_nan);
    if (nan_g || nan_c) return nan_g && nan_c ? 1.0 : 0.0;
    if (all(golden, is_zero) != all(calculated, is_zero)) return 0.0;
    auto clean = [](const std::vector<double>& v) {
        std::vector<double> out(v.size());
        double largest = 0;
        for (std::size_t i = 0; i < v.size(); ++i)
            out[i] = std::isfinite(v[i]) ? v[i] : 0.0, largest = std::max(largest, std::fabs(out[i]));
        return std::pair{out, largest};
    };
    const auto [g, g_max] = clean(golden);
    const auto [c, c_max] = clean(calculated);
    if (g == c) return 1.0;
    auto scaled = [](std::vector<double> v, double largest) {
        if (largest > 0)
            for (double& x : v) x /= largest;
        return v;
    };
    const std::vector<double> gs = scaled(g, g_max), cs = scaled(c, c_max);
    double mg = 0, mc = 0;
    for (std::size_t i = 0; i < n; ++i) mg += gs[i], mc += cs[i];
    mg /= double(n), mc /= double(n);
    double sgc = 0, sgg = 0, scc = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double gi = gs[i] - mg, ci = cs[i] - mc;
        sgc += gi * ci, sgg += gi * gi, scc += ci * ci;
    }
    if (sgg == 0 || scc == 0) {  // constant: close means (torch.isclose: rtol 1e-5, atol 1e-8)
        const double a = mg * g_max, b = mc * c_max;
        return sgg == 0 && scc == 0 && std::fabs(a - b) <= 1e-8 + 1e-5 * std::fabs(b) ? 1.0 : 0.0;
    }
    return sgc / std::sqrt(sgg * scc);
}

}  // namespace attnn
