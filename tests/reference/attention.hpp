#pragma once
#include <optional>

#include "reference/reference.hpp"

namespace attnn::reference {

// softmax(q k^T * scale + mask) v for q [b, nqh, sq, dh], k/v [b, nkv, sk, dh]; query head h
// reads KV head h / (nqh / nkv). Causal: query i sees keys j <= i + (sk - sq). mask
// [b|1, nqh|1, sq, sk]. A row with every key masked gives zeros.
Array sdpa(const Array& q, const Array& k, const Array& v, const Array* mask, bool causal, double scale);

// TT-NN's further variants. window > 0 (causal): query i also skips keys j <= i + (sk - sq) -
// window. sinks (one per query head): a logit that joins each row's softmax with no value,
// out = sum_j e^(s_j) v_j / (sum_j e^(s_j) + e^(sink)).
struct SdpaVariants {
    uint64_t window = 0;
    const std::vector<double>* sinks = nullptr;
};
Array sdpa(const Array& q, const Array& k, const Array& v, const Array* mask, bool causal, double scale,
           const SdpaVariants& variants);

// Positions 0 .. n - 1 of a cache [b, nkv, S, dh]: [b, nkv, n, dh].
Array first_positions(const Array& cache, uint64_t n);

// TT-NN's SDPA test inputs: N(0, 1) plus N(0, 10) added with probability 0.001.
std::vector<float> ttnn_sdpa_inputs(std::size_t n, uint32_t seed);

}  // namespace attnn::reference
