#include "reference/llama.hpp"

#include <algorithm>
#include <cmath>

namespace attnn::reference {

LlamaAttentionReference::LlamaAttentionReference(const nn::LlamaAttentionConfig& config,
                                                 const nn::LlamaAttentionWeights& w)
    : c_(config),
      wq_(w.wq.begin(), w.wq.end()),
      wk_(w.wk.begin(), w.wk.end()),
      wv_(w.wv.begin(), w.wv.end()),
      wo_(w.wo.begin(), w.wo.end()),
      k_(config.max_batch,
         std::vector<double>(std::size_t(config.max_seq_len) * config.num_kv_heads * config.head_dim)),
      v_(k_) {}

// w [out, in] times x [in] -> [out]
std::vector<double> LlamaAttentionReference::project(const std::vector<double>& w, const double* x,
                                                     uint32_t out) const {
    const uint32_t in = uint32_t(w.size() / out);
    std::vector<double> y(out, 0.0);
    for (uint32_t o = 0; o < out; ++o)
        for (uint32_t i = 0; i < in; ++i) y[o] += w[std::size_t(o) * in + i] * x[i];
    return y;
}

// Pairs (2k, 2k + 1), or (k, k + dh/2) for rotate_half, turned by position * f_k; the f_k with
// Llama 3's scaling come from rope_frequencies (checked against the formula in test_rope).
void LlamaAttentionReference::rope(double* head, uint32_t position) const {
    const std::vector<double> f = rope_frequencies(c_.head_dim, c_.rope);
    const bool half = c_.rope.pairing == RopePairing::rotate_half;
    for (uint32_t k = 0; k < c_.head_dim / 2; ++k) {
        const double a = position * f[k];
        const uint32_t i0 = half ? k : 2 * k, i1 = half ? k + c_.head_dim / 2 : 2 * k + 1;
        const double x0 = head[i0], x1 = head[i1];
        head[i0] = x0 * std::cos(a) - x1 * std::sin(a);
        head[i1] = x1 * std::cos(a) + x0 * std::sin(a);
    }
}

// q [nh * dh] against keys 0..keys-1 of `user` -> [nh * dh]
std::vector<double> LlamaAttentionReference::attend(const std::vector<double>& q, uint32_t user,
                                                    uint32_t keys) const {
    const uint32_t dh = c_.head_dim, nkv = c_.num_kv_heads, group = c_.num_heads / nkv;
    std::vector<double> out(q.size(), 0.0), s(keys);
    const uint32_t first = c_.sliding_window && keys > c_.sliding_window ? keys - c_.sliding_window : 0;
    for (uint32_t h = 0; h < c_.num_heads; ++h) {
        const uint32_t kvh = h / group;
        double mx = -INFINITY;
        std::fill(s.begin(), s.begin() + first, -INFINITY);  // before the window: no weight
        for (uint32_t j = first; j < keys; ++j) {
            double dot = 0;
            for (uint32_t d = 0; d < dh; ++d)
                dot += q[h * dh + d] * k_[user][(std::size_t(j) * nkv + kvh) * dh + d];
            s[j] = dot / std::sqrt(double(dh));
            mx = std::max(mx, s[j]);
        }
        double l = 0;
        for (uint32_t j = 0; j < keys; ++j) l += (s[j] = std::exp(s[j] - mx));
        for (uint32_t j = 0; j < keys; ++j)
            for (uint32_t d = 0; d < dh; ++d)
                out[h * dh + d] += s[j] / l * v_[user][(std::size_t(j) * nkv + kvh) * dh + d];
    }
    return out;
}

std::vector<double> LlamaAttentionReference::output(const std::vector<double>& attn) const {
    return project(wo_, attn.data(), c_.dim);
}

std::vector<double> LlamaAttentionReference::prefill(const std::vector<double>& x, uint32_t user) {
    const uint32_t s = uint32_t(x.size() / c_.dim), dh = c_.head_dim, nkv = c_.num_kv_heads;
    std::vector<std::vector<double>> queries(s);
    for (uint32_t t = 0; t < s; ++t) {
        const double* xt = x.data() + std::size_t(t) * c_.dim;
        queries[t] = project(wq_, xt, c_.num_heads * dh);
        std::vector<double> k = project(wk_, xt, nkv * dh), v = project(wv_, xt, nkv * dh);
        for (uint32_t h = 0; h < c_.num_heads; ++h) rope(queries[t].data() + h * dh, t);
        for (uint32_t h = 0; h < nkv; ++h) rope(k.data() + h * dh, t);
        std::copy(k.begin(), k.end(), k_[user].begin() + std::ptrdiff_t(t) * nkv * dh);
        std::copy(v.begin(), v.end(), v_[user].begin() + std::ptrdiff_t(t) * nkv * dh);
    }
    std::vector<double> out;
    for (uint32_t t = 0; t < s; ++t) {
        std::vector<double> o = output(attend(queries[t], user, t + 1));
        out.insert(out.end(), o.begin(), o.end());
    }
    return out;
}

std::vector<double> LlamaAttentionReference::decode(const std::vector<double>& x,
                                                    const std::vector<int32_t>& positions) {
    const uint32_t b = uint32_t(positions.size()), dh = c_.head_dim, nkv = c_.num_kv_heads;
    std::vector<double> out(std::size_t(b) * c_.dim, 0.0);
    for (uint32_t i = 0; i < b; ++i) {
        if (positions[i] < 0) continue;
        const uint32_t p = uint32_t(positions[i]);
        const double* xi = x.data() + std::size_t(i) * c_.dim;
        std::vector<double> q = project(wq_, xi, c_.num_heads * dh), k = project(wk_, xi, nkv * dh),
                            v = project(wv_, xi, nkv * dh);
        for (uint32_t h = 0; h < c_.num_heads; ++h) rope(q.data() + h * dh, p);
        for (uint32_t h = 0; h < nkv; ++h) rope(k.data() + h * dh, p);
        std::copy(k.begin(), k.end(), k_[i].begin() + std::ptrdiff_t(p) * nkv * dh);
        std::copy(v.begin(), v.end(), v_[i].begin() + std::ptrdiff_t(p) * nkv * dh);
        std::vector<double> o = output(attend(q, i, p + 1));
        std::copy(o.begin(), o.end(), out.begin() + std::ptrdiff_t(i) * c_.dim);
    }
    return out;
}

}  // namespace attnn::reference
