// Random numbers that match PyTorch's CPU generator draw for draw, so seeded programs print
// the numbers their PyTorch originals print.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace attnn {

// torch.Generator on the CPU: an mt19937 seeded like torch.manual_seed(seed).
class Generator {
  public:
    explicit Generator(uint64_t seed = 67280421310721ULL) { manual_seed(seed); }
    void manual_seed(uint64_t seed);
    uint32_t random();    // one 32-bit draw
    uint64_t random64();  // two draws, as torch's random64()

    // torch.empty(n).uniform_(from, to) for float32: 24 random bits of one draw per value.
    std::vector<float> uniform(std::size_t n, float from, float to);
    // torch.randn(n) for float32 (Box-Muller as torch's CPU normal_ uses for n >= 16 values).
    std::vector<float> normal(std::size_t n, float mean = 0.0f, float std = 1.0f);

  private:
    std::mt19937 engine_;
    double next_normal_ = 0.0;
    bool has_next_normal_ = false;
};

// The process-wide default generator, as torch's default CPU generator.
Generator& default_generator();
inline void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

// nn.Linear(in_features, out_features).weight initialised as PyTorch does
// (kaiming_uniform_ with a = sqrt(5): uniform(-1/sqrt(in), 1/sqrt(in))): [out, in] row-major.
std::vector<float> linear_weight_init(Generator& gen, uint32_t in_features, uint32_t out_features);

}  // namespace attnn
