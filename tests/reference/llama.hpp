#pragma once
#include <vector>

#include "attnn/nn/llama_attention.hpp"

namespace attnn::reference {

// The Llama attention layer in plain fp64: projections, RoPE in the config's pairing with
// f_k = theta^(-2k/dh) (Llama 3 scaled where the config says), a per-user KV cache, causal softmax attention
// (over the last sliding_window positions where the config has one), output projection.
class LlamaAttentionReference {
  public:
    LlamaAttentionReference(const nn::LlamaAttentionConfig& config, const nn::LlamaAttentionWeights& weights);
    // x [s, dim] of `user` at positions 0..s-1 -> [s, dim]
    std::vector<double> prefill(const std::vector<double>& x, uint32_t user);
    // x [b, dim], one token per user at positions[i] (-1: skipped, zeros) -> [b, dim]
    std::vector<double> decode(const std::vector<double>& x, const std::vector<int32_t>& positions);

  private:
    std::vector<double> project(const std::vector<double>& w, const double* x, uint32_t out) const;
    void rope(double* head, uint32_t position) const;
    std::vector<double> attend(const std::vector<double>& q, uint32_t user, uint32_t keys) const;
    std::vector<double> output(const std::vector<double>& attn) const;

    nn::LlamaAttentionConfig c_;
    std::vector<double> wq_, wk_, wv_, wo_;
    // k_[user][position * nkv * dh + head * dh + d]
    std::vector<std::vector<double>> k_, v_;
};

}  // namespace attnn::reference
