#include "reference/attention.hpp"

#include <cmath>
#include <random>

namespace attnn::reference {

Array sdpa(const Array& q, const Array& k, const Array& v, const Array* mask, bool causal, double scale) {
    return sdpa(q, k, v, mask, causal, scale, SdpaVariants{});
}

Array sdpa(const Array& q, const Array& k, const Array& v, const Array* mask, bool causal, double scale,
           const SdpaVariants& variants) {
    const uint64_t b = q.shape[0], nqh = q.shape[1], sq = q.shape[2], dh = q.shape[3];
    const uint64_t nkv = k.shape[1], sk = k.shape[2], group = nqh / nkv;
    Array out{q.shape, std::vector<double>(q.values.size(), 0.0)};
    std::vector<double> scores(sk);
    // Keys that causality or the window hide from query i (a mask's -inf, by contrast, is a
    // score: p = 0 there, and 0 x Inf in V is NaN, as in PyTorch's math path).
    auto hidden = [&](uint64_t i, uint64_t j) {
        return (causal && j > i + (sk - sq)) || (variants.window && j + variants.window <= i + (sk - sq));
    };
    for (uint64_t bi = 0; bi < b; ++bi)
        for (uint64_t h = 0; h < nqh; ++h) {
            const double* kh = k.values.data() + (bi * nkv + h / group) * sk * dh;
            const double* vh = v.values.data() + (bi * nkv + h / group) * sk * dh;
            for (uint64_t i = 0; i < sq; ++i) {
                const double* qi = q.values.data() + ((bi * nqh + h) * sq + i) * dh;
                double mx = -INFINITY;
                for (uint64_t j = 0; j < sk; ++j) {
                    double s = 0;
                    for (uint64_t d = 0; d < dh; ++d) s += qi[d] * kh[j * dh + d];
                    s *= scale;
                    if (mask) {
                        uint64_t mb = mask->shape[0] == 1 ? 0 : bi, mh = mask->shape[1] == 1 ? 0 : h;
                        s += mask->values[((mb * mask->shape[1] + mh) * sq + i) * sk + j];
                    }
                    if (hidden(i, j)) s = -INFINITY;
                    scores[j] = s;
                    mx = std::max(mx, s);
                }
                double* oi = out.values.data() + ((bi * nqh + h) * sq + i) * dh;
                if (mx == -INFINITY) continue;  // every key masked: zeros
                const double sink = variants.sinks ? (*variants.sinks)[h] : -INFINITY;
                if (sink == INFINITY) continue;  // the sink takes the whole weight: zeros
                mx = std::max(mx, sink);
                double l = std::exp(sink - mx);
                for (uint64_t j = 0; j < sk; ++j) l += (scores[j] = std::exp(scores[j] - mx));
                for (uint64_t j = 0; j < sk; ++j)  // keys hidden from query i never count (0 x Inf)
                    for (uint64_t d = 0; d < dh && !hidden(i, j); ++d)
                        oi[d] += scores[j] / l * vh[j * dh + d];
            }
        }
    return out;
}

Array first_positions(const Array& cache, uint64_t n) {
    const uint64_t matrices = cache.shape[0] * cache.shape[1], S = cache.shape[2], dh = cache.shape[3];
    Array out{{cache.shape[0], cache.shape[1], uint32_t(n), uint32_t(dh)}, {}};
    for (uint64_t m = 0; m < matrices; ++m) {
        auto base = cache.values.begin() + std::ptrdiff_t(m * S * dh);
        out.values.insert(out.values.end(), base, base + std::ptrdiff_t(n * dh));
    }
    return out;
}

std::vector<float> ttnn_sdpa_inputs(std::size_t n, uint32_t seed) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f), outlier(0.0f, 10.0f);
    std::bernoulli_distribution rare(0.001);
    std::vector<float> v(n);
    for (auto& x : v) x = normal(gen) + (rare(gen) ? outlier(gen) : 0.0f);
    return v;
}

}  // namespace attnn::reference
