// Seed 000, "Simple Weighted Attention Mechanism V2": SelfAttention_v2 with three bias-free
// Linear layers, initialised exactly as PyTorch's nn.Linear so seed 789 prints the seed's
// numbers, in three versions:
//   - fp32 reference: the PyTorch CPU module's math, FLOAT32 end to end;
//   - naive port (SelfAttention_ttnn_v2): projections in fp32, then every call converts
//     queries, keys^T and values to BFLOAT16 tiles, and round-trips the scores to the host to
//     scale them before the softmax;
//   - optimized port (SelfAttention_ttnn_opt_v2): weights converted once and kept in BFLOAT16
//     tiles, linear with transpose_b, scale and softmax on the device, program cache on.
// Then the seed's benchmark: N forward passes of 1024 x 2048 inputs with d_out = 2048.
#include <cmath>
#include <cstdio>

#include "seeds.hpp"
#include "support.hpp"

namespace attnn::examples {

namespace {

struct Weights {
    uint32_t d_in, d_out;
    std::vector<float> query, key, value;  // [d_out, d_in], as nn.Linear.weight
};

// Created in the order of SelfAttention_v2.__init__: W_query, W_key, W_value.
Weights init_weights(Generator& gen, uint32_t d_in, uint32_t d_out) {
    Weights w{d_in, d_out, {}, {}, {}};
    w.query = linear_weight_init(gen, d_in, d_out);
    w.key = linear_weight_init(gen, d_in, d_out);
    w.value = linear_weight_init(gen, d_in, d_out);
    return w;
}

Tensor host_fp32(Device& device, const std::vector<float>& v, Shape shape) {
    return from_host(std::span<const float>(v), shape, {.dtype = DataType::FLOAT32, .device = device});
}

Tensor bf16_tiles(Device& device, const std::vector<float>& v, Shape shape) {
    return from_host(std::span<const float>(v), shape,
                     {.dtype = DataType::BFLOAT16, .layout = Layout::TILE, .device = device});
}

// x [s, d_in] -> context [s, d_out], all FLOAT32: what PyTorch's CPU module computes.
class SelfAttentionFp32 {
  public:
    SelfAttentionFp32(Device& device, const Weights& w)
        : device_(device),
          w_(w),
          wq_(host_fp32(device, w.query, Shape{w.d_out, w.d_in})),
          wk_(host_fp32(device, w.key, Shape{w.d_out, w.d_in})),
          wv_(host_fp32(device, w.value, Shape{w.d_out, w.d_in})) {}

    // The projections alone, as the naive port computes them on the host.
    std::tuple<Tensor, Tensor, Tensor> project(const Tensor& x) const {
        return {linear(x, wq_, {.transpose_b = true}), linear(x, wk_, {.transpose_b = true}),
                linear(x, wv_, {.transpose_b = true})};
    }

    std::vector<float> forward(const std::vector<float>& x, uint32_t rows) const {
        auto [queries, keys, values] = project(host_fp32(device_, x, Shape{rows, w_.d_in}));
        Tensor scores = matmul(queries, keys, {.transpose_b = true});
        Tensor weights = softmax(multiply(scores, 1.0f / std::sqrt(float(w_.d_out))), -1);
        return to_host<float>(matmul(weights, values));
    }

  private:
    Device& device_;
    const Weights& w_;
    Tensor wq_, wk_, wv_;
};

// SelfAttention_ttnn_v2: converts its inputs on every call and scales on the host.
class SelfAttentionNaivePort {
  public:
    SelfAttentionNaivePort(Device& device, const SelfAttentionFp32& projections, uint32_t d_out)
        : device_(device), projections_(projections), d_out_(d_out) {}

    std::vector<float> forward(const std::vector<float>& x, uint32_t rows, uint32_t d_in) const {
        auto [q, k, v] = projections_.project(host_fp32(device_, x, Shape{rows, d_in}));
        std::vector<float> queries = to_host<float>(q), keys = to_host<float>(k), values = to_host<float>(v);
        std::vector<float> keys_t(keys.size());
        for (uint32_t i = 0; i < rows; ++i)
            for (uint32_t j = 0; j < d_out_; ++j)
                keys_t[std::size_t(j) * rows + i] = keys[std::size_t(i) * d_out_ + j];
        Tensor queries_ttnn = bf16_tiles(device_, queries, Shape{rows, d_out_});
        Tensor keys_transposed_ttnn = bf16_tiles(device_, keys_t, Shape{d_out_, rows});
        Tensor values_ttnn = bf16_tiles(device_, values, Shape{rows, d_out_});
        Tensor attn_scores_ttnn = matmul(queries_ttnn, keys_transposed_ttnn);
        // The scale happens on the host: to_torch(...) / sqrt(d_out), then from_torch again.
        std::vector<float> scaled = to_host<float>(attn_scores_ttnn);
        const float inv = 1.0f / std::sqrt(float(d_out_));
        for (float& s : scaled) s *= inv;
        Tensor attn_weights_ttnn = softmax(bf16_tiles(device_, scaled, Shape{rows, rows}), -1);
        return to_host<float>(matmul(attn_weights_ttnn, values_ttnn));
    }

  private:
    Device& device_;
    const SelfAttentionFp32& projections_;
    uint32_t d_out_;
};

// SelfAttention_ttnn_opt_v2: weights resident as BFLOAT16 tiles, everything on the device.
class SelfAttentionOptimizedPort {
  public:
    SelfAttentionOptimizedPort(Device& device, const Weights& w)
        : device_(device),
          d_in_(w.d_in),
          wq_(bf16_tiles(device, w.query, Shape{w.d_out, w.d_in})),
          wk_(bf16_tiles(device, w.key, Shape{w.d_out, w.d_in})),
          wv_(bf16_tiles(device, w.value, Shape{w.d_out, w.d_in})),
          scale_(1.0f / std::sqrt(float(w.d_out))) {}

    std::vector<float> forward(const std::vector<float>& x, uint32_t rows) const {
        Tensor x_ttnn = bf16_tiles(device_, x, Shape{rows, d_in_});
        Tensor queries = linear(x_ttnn, wq_, {.transpose_b = true});
        Tensor keys = linear(x_ttnn, wk_, {.transpose_b = true});
        Tensor values = linear(x_ttnn, wv_, {.transpose_b = true});
        Tensor attn_scores = matmul(queries, keys, {.transpose_b = true});
        Tensor attn_weights = softmax(attn_scores * scale_, -1);
        return to_host<float>(matmul(attn_weights, values));
    }

  private:
    Device& device_;
    uint32_t d_in_;
    Tensor wq_, wk_, wv_;
    float scale_;
};

// The fp64 golden result for one input.
std::vector<double> forward_f64(const Weights& w, const std::vector<float>& x, uint32_t rows) {
    const int64_t s = rows, di = w.d_in, d = w.d_out;
    std::vector<double> xd = widen(x), q(s * d), k(s * d), v(s * d), scores(s * s), out(s * d);
    matmul_f64(xd.data(), widen(w.query).data(), q.data(), s, d, di, true);
    matmul_f64(xd.data(), widen(w.key).data(), k.data(), s, d, di, true);
    matmul_f64(xd.data(), widen(w.value).data(), v.data(), s, d, di, true);
    matmul_f64(q.data(), k.data(), scores.data(), s, s, d, true);
    for (double& e : scores) e /= std::sqrt(double(d));
    softmax_rows_f64(scores.data(), s, s);
    matmul_f64(scores.data(), v.data(), out.data(), s, d, s, false);
    return out;
}

}  // namespace

nlohmann::json self_attention_v2_example(Device& device) {
    nlohmann::json out;
    // The 6x3 example: torch.manual_seed(789), d_in = 3, d_out = 2.
    {
        const std::vector<float> context = {0.43f, 0.15f, 0.89f, 0.55f, 0.87f, 0.66f, 0.57f, 0.85f, 0.64f,
                                            0.22f, 0.58f, 0.33f, 0.77f, 0.25f, 0.10f, 0.05f, 0.80f, 0.55f};
        Generator gen(789);
        Weights w = init_weights(gen, 3, 2);
        SelfAttentionFp32 sa_v2(device, w);
        SelfAttentionNaivePort sa_ttnn_v2(device, sa_v2, 2);
        SelfAttentionOptimizedPort sa_ttnn_opt_v2(device, w);
        std::vector<float> fp32 = sa_v2.forward(context, 6);
        std::vector<float> naive = sa_ttnn_v2.forward(context, 6, 3);
        std::vector<float> optimized = sa_ttnn_opt_v2.forward(context, 6);
        std::printf("SelfAttention_v2 (fp32), seed 789\n%s\n\n", torch_format(fp32, {6, 2}).c_str());
        std::printf("SelfAttention_ttnn_v2 (naive port, BFLOAT16)\n%s\n\n",
                    torch_format(naive, {6, 2}, "TorchTensor(", ", dtype=torch.bfloat16)").c_str());
        std::printf("SelfAttention_ttnn_opt_v2 (optimized port, BFLOAT16)\n%s\n\n",
                    torch_format(optimized, {6, 2}, "TorchTensor(", ", dtype=torch.bfloat16)").c_str());
        out = {{"fp32", fp32}, {"naive_port", naive}, {"optimized_port", optimized}};
    }
    return out;
}

nlohmann::json self_attention_v2(Device& device, bool full) {
    nlohmann::json out;
    out["example"] = self_attention_v2_example(device);

    // The benchmark. The seed stacks 10000 random inputs (80 GB); a pool of four, cycled, keeps
    // the inputs distinct from call to call without that memory.
    const uint32_t rows = 1024, d_in = 2048, d_out = 2048;
    const std::vector<int> counts =
        full ? std::vector<int>{1, 100, 1000, 10000} : std::vector<int>{1, 10, 100};
    Generator gen(789);
    std::vector<std::vector<float>> inputs;
    for (int i = 0; i < 4; ++i) inputs.push_back(gen.normal(std::size_t(rows) * d_in));
    Weights w = init_weights(gen, d_in, d_out);
    device.enable_program_cache();
    SelfAttentionFp32 fp32(device, w);
    SelfAttentionNaivePort naive(device, fp32, d_out);
    SelfAttentionOptimizedPort optimized(device, w);

    std::fprintf(stderr, "self_attention_v2: fp64 reference of one %ux%u forward pass...\n", rows, d_in);
    std::vector<double> golden = forward_f64(w, inputs[0], rows);
    double pcc_fp32 = comp_pcc(golden, widen(fp32.forward(inputs[0], rows)));
    double pcc_naive = comp_pcc(golden, widen(naive.forward(inputs[0], rows, d_in)));
    double pcc_optimized = comp_pcc(golden, widen(optimized.forward(inputs[0], rows)));

    std::printf("SelfAttention_v2 benchmark: %u x %u inputs, d_out %u, total ms for N forward passes\n", rows,
                d_in, d_out);
    std::printf("| %6s | %16s | %12s | %16s | %10s | %10s |\n", "N", "fp32 reference", "naive port",
                "optimized port", "fp32/opt", "naive/opt");
    std::printf(
        "|--------|------------------|--------------|------------------|------------|------------|\n");
    nlohmann::json rows_json = nlohmann::json::array();
    for (int n : counts) {
        auto run = [&](const char* label, auto&& forward) {
            return time_ms([&] {
                for (int i = 0; i < n; ++i) {
                    forward(inputs[std::size_t(i) % inputs.size()]);
                    if (n >= 10) progress(std::string("N=") + std::to_string(n) + " " + label, i + 1, n);
                }
            });
        };
        // As in the seed, the naive port runs without the program cache and the optimized one with it.
        double t_fp32 = run("fp32", [&](const auto& x) { fp32.forward(x, rows); });
        device.disable_and_clear_program_cache();
        double t_naive = run("naive port", [&](const auto& x) { naive.forward(x, rows, d_in); });
        device.enable_program_cache();
        double t_opt = run("optimized port", [&](const auto& x) { optimized.forward(x, rows); });
        std::printf("| %6d | %16.2f | %12.2f | %16.2f | %9.2fx | %9.2fx |\n", n, t_fp32, t_naive, t_opt,
                    t_fp32 / t_opt, t_naive / t_opt);
        std::fflush(stdout);
        rows_json.push_back(
            {{"n", n}, {"fp32_ms", t_fp32}, {"naive_port_ms", t_naive}, {"optimized_port_ms", t_opt}});
    }
    std::printf("PCC against fp64: fp32 reference %.6f, naive port %.6f, optimized port %.6f\n\n", pcc_fp32,
                pcc_naive, pcc_optimized);
    out["benchmark"] = {
        {"rows", rows},
        {"d_in", d_in},
        {"d_out", d_out},
        {"table", rows_json},
        {"pcc_vs_fp64", {{"fp32", pcc_fp32}, {"naive_port", pcc_naive}, {"optimized_port", pcc_optimized}}}};
    return out;
}

}  // namespace attnn::examples
