#include "attnn/accuracy.hpp"

#include <cmath>

namespace attnn {

double comp_pcc(const std::vector<double>& golden, const std::vector<double>& calculated) {
    auto clean = [](double v) { return std::isfinite(v) ? v : 0.0; };
    const std::size_t n = golden.size();
    if (n == 0 || n != calculated.size()) return 0.0;
    double mg = 0, mc = 0;
    for (std::size_t i = 0; i < n; ++i) mg += clean(golden[i]), mc += clean(calculated[i]);
    mg /= double(n), mc /= double(n);
    double sgc = 0, sgg = 0, scc = 0;
    for (std::size_t i = 0; i < n; ++i) {
        double g = clean(golden[i]) - mg, c = clean(calculated[i]) - mc;
        sgc += g * c, sgg += g * g, scc += c * c;
    }
    if (sgg == 0 || scc == 0) return sgg == 0 && scc == 0 && mg == mc ? 1.0 : 0.0;
    return sgc / std::sqrt(sgg * scc);
}

}  // namespace attnn
