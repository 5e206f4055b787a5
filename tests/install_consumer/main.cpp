// The README's example, built against the installed package (find_package(attnn)), so the
// README's code and the install stay true.
#include <attnn/attnn.hpp>
#include <cmath>
#include <iostream>
#include <vector>
using namespace attnn;

int main() {
    Device device = open_device(0);  // the CPU: one worker per CPU it may run on
    enable_program_cache(device);
    std::vector<float> x(8 * 384 * 1024), w(1024 * 3072);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.001f * float(i));
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = std::cos(0.003f * float(i)) / 32;
    Tensor tx = from_host(std::span<const float>(x), Shape{8, 384, 1024},
                          {.dtype = DataType::BFLOAT16, .layout = Layout::TILE, .device = device});
    Tensor tw = from_host(std::span<const float>(w), Shape{1024, 3072},
                          {.dtype = DataType::BFLOAT8_B, .layout = Layout::TILE, .device = device});
    Tensor qkv = linear(tx, tw, {.dtype = DataType::BFLOAT8_B});
    auto [q, k, v] = transformer::split_query_key_value_and_split_heads(qkv, 16, {.transpose_key = false});
    Tensor out = transformer::scaled_dot_product_attention(q, k, v, {.is_causal = true});  // flash attention
    std::vector<float> host = to_host<float>(out);
    close_device(device);

    bool ok = out.shape() == Shape{8, 16, 384, 64} && host.size() == 8u * 16 * 384 * 64;
    for (float value : host) ok = ok && std::isfinite(value);
    std::cout << "attnn consumer: README example " << (ok ? "ok" : "FAILED") << ", output " << out.shape()
              << '\n';
    return ok ? 0 : 1;
}
