// attnn::Generator reproduces torch's CPU generator: the same mt19937 draws, the same uniform_
// values and nn.Linear weights, so seeded PyTorch programs print the same numbers in attnn.
#include <cmath>
#include <numeric>

#include "test_util.hpp"

namespace attnn {
namespace {

// mt19937 seeded like torch.manual_seed: the reference draws come from numpy's
// RandomState(seed) (init_genrand, the same initialisation), not from std::mt19937.
TEST(Generator, Seed789DrawsMatchMt19937) {
    Generator gen(789);
    for (uint32_t expected : {1388712499u, 568673934u, 988903838u, 89829586u, 3409254273u})
        EXPECT_EQ(gen.random(), expected);
}

TEST(Generator, Seed5489DrawsMatchMt19937) {
    Generator gen(5489);
    for (uint32_t expected : {3499211612u, 581869302u, 3890346734u, 3586334585u, 545404204u})
        EXPECT_EQ(gen.random(), expected);
    gen.manual_seed(5489);
    uint32_t last = 0;
    for (int i = 0; i < 10000; ++i) last = gen.random();
    EXPECT_EQ(last, 4123659995u);  // the C++ standard's check value for mt19937
}

TEST(Generator, ManualSeedKeepsLow32BitsAndRestarts) {
    Generator a(789), b((uint64_t(5) << 32) | 789);
    EXPECT_EQ(a.random(), b.random());
    a.manual_seed(789);
    EXPECT_EQ(a.random(), 1388712499u);
}

TEST(Generator, Random64IsFirstDrawHigh) {
    Generator gen(789);
    EXPECT_EQ(gen.random64(), (uint64_t(1388712499u) << 32) | 568673934u);
}

TEST(Generator, UniformUses24BitsOfOneDraw) {
    Generator gen(789);
    auto u = gen.uniform(2, 0.0f, 1.0f);
    EXPECT_EQ(u[0], float(1388712499u & 0xffffff) / 16777216.0f);
    EXPECT_EQ(u[1], float(568673934u & 0xffffff) / 16777216.0f);
}

TEST(Generator, UniformStaysInHalfOpenRange) {
    Generator gen(1);
    auto u = gen.uniform(100000, -2.0f, 3.0f);
    double sum = 0;
    for (float v : u) {
        ASSERT_GE(v, -2.0f);
        ASSERT_LT(v, 3.0f);
        sum += v;
    }
    EXPECT_NEAR(sum / double(u.size()), 0.5, 0.02);
}

// nn.Linear(3, 2, bias=False) weights after torch.manual_seed(789), three layers in a row. The
// last bits show x * (to - from) + from is fused as torch computes it.
TEST(Generator, LinearWeightInitMatchesTorchKaimingUniform) {
    Generator gen(789);
    std::vector<float> w;
    for (int layer = 0; layer < 3; ++layer) {
        auto l = linear_weight_init(gen, 3, 2);
        ASSERT_EQ(l.size(), 6u);
        w.insert(w.end(), l.begin(), l.end());
    }
    // torch 2.15: [w.weight for w in (nn.Linear(3, 2, bias=False) for _ in range(3))]
    const float expected[] = {
        0x1.43a4fep-2f, 0x1.d3c5a0p-2f,  0x1.060f38p-1f,  -0x1.58a604p-3f, -0x1.59fc70p-2f, -0x1.77e7e0p-4f,
        0x1.9f8b90p-2f, -0x1.e1b5ecp-2f, 0x1.e4fa20p-3f,  0x1.b4f67ap-3f,  -0x1.0a4ab8p-2f, -0x1.0565e4p-1f,
        0x1.02a1aep-2f, -0x1.21bf5cp-3f, -0x1.91c786p-3f, 0x1.09c872p-1f,  -0x1.5cd8aep-4f, -0x1.a27638p-3f};
    for (std::size_t i = 0; i < w.size(); ++i) EXPECT_EQ(w[i], expected[i]) << "at " << i;
}

// The decisive check: SelfAttention_v2 from "Build a Large Language Model (From Scratch)", ch. 3,
// with torch.manual_seed(789), prints these context vectors.
TEST(Generator, SelfAttentionV2WithSeed789PrintsTorchsNumbers) {
    Generator gen(789);
    const auto w_query = linear_weight_init(gen, 3, 2);
    const auto w_key = linear_weight_init(gen, 3, 2);
    const auto w_value = linear_weight_init(gen, 3, 2);
    const double x[6][3] = {{0.43, 0.15, 0.89}, {0.55, 0.87, 0.66}, {0.57, 0.85, 0.64},
                            {0.22, 0.58, 0.33}, {0.77, 0.25, 0.10}, {0.05, 0.80, 0.55}};
    // projections: [6, 3] x W^T [3, 2] -> [6, 2]
    auto project = [&](const std::vector<float>& w, double out[6][2]) {
        for (int i = 0; i < 6; ++i)
            for (int o = 0; o < 2; ++o) {
                out[i][o] = 0;
                for (int k = 0; k < 3; ++k) out[i][o] += x[i][k] * w[o * 3 + k];
            }
    };
    double q[6][2], k[6][2], v[6][2];
    project(w_query, q);
    project(w_key, k);
    project(w_value, v);
    const double expected[6][2] = {{-0.0739, 0.0713}, {-0.0748, 0.0703}, {-0.0749, 0.0702},
                                   {-0.0760, 0.0685}, {-0.0763, 0.0679}, {-0.0754, 0.0693}};
    for (int i = 0; i < 6; ++i) {
        double scores[6], row_max = -INFINITY, sum = 0;
        for (int j = 0; j < 6; ++j) {
            scores[j] = (q[i][0] * k[j][0] + q[i][1] * k[j][1]) / std::sqrt(2.0);
            row_max = std::max(row_max, scores[j]);
        }
        for (double& s : scores) sum += (s = std::exp(s - row_max));
        for (int o = 0; o < 2; ++o) {
            double context = 0;
            for (int j = 0; j < 6; ++j) context += scores[j] / sum * v[j][o];
            EXPECT_NEAR(context, expected[i][o], 0.00005) << "row " << i << " col " << o;
        }
    }
}

TEST(Generator, NormalHasMeanZeroAndStdOne) {
    Generator gen(42);
    for (std::size_t n : {std::size_t(100003), std::size_t(100000)}) {  // with and without a ragged tail
        auto z = gen.normal(n);
        double mean = std::accumulate(z.begin(), z.end(), 0.0) / double(n);
        double var = 0;
        for (float v : z) var += (v - mean) * (v - mean);
        EXPECT_NEAR(mean, 0.0, 0.01);
        EXPECT_NEAR(std::sqrt(var / double(n)), 1.0, 0.01);
    }
}

TEST(Generator, NormalAppliesMeanAndStd) {
    Generator a(3), b(3);
    auto z = a.normal(64);
    auto y = b.normal(64, 5.0f, 2.0f);
    for (std::size_t i = 0; i < z.size(); ++i) EXPECT_NEAR(y[i], z[i] * 2.0f + 5.0f, 1e-5f);
}

// Golden values printed by torch 2.15 (AVX-512 build) for torch.manual_seed(seed) and the call named.
TEST(Generator, UniformMatchesTorchBitForBit) {
    Generator gen(0);
    const std::vector<float> expected = {
        0x1.1af808p+1f, 0x1.443ebcp+2f, -0x1.09161ap+1f, -0x1.9d1a20p+0f,
        0x1.d2d1fcp-3f, 0x1.d433a6p+1f, 0x1.12af80p+1f};  // torch.empty(7).uniform_(-3, 7.5)
    EXPECT_EQ(gen.uniform(7, -3.0f, 7.5f), expected);
}

// 20 values: one Box-Muller block of 16, then the ragged tail redraws 16 uniforms for the last 16.
TEST(Generator, RandnMatchesTorchBitForBit) {
    Generator gen(789);
    const std::vector<float> expected = {
        -0x1.eba860p-2f, -0x1.b1aca0p-1f, -0x1.7c88e0p-2f, 0x1.bf8fc0p-1f,  -0x1.40b6f8p-1f, 0x1.83dd88p-1f,
        0x1.5394ccp-1f,  -0x1.d832cep-4f, -0x1.1999fcp+0f, -0x1.d310e4p-2f, -0x1.e75320p-1f, 0x1.403536p-1f,
        -0x1.475106p+0f, 0x1.0d5148p-1f,  -0x1.b5b9e2p-4f, -0x1.03c59ap-1f, 0x1.5518a4p-3f,  0x1.7e914ap+0f,
        -0x1.06d610p-2f, 0x1.2d756cp-1f};  // torch.randn(20)
    EXPECT_EQ(gen.normal(20), expected);
}

// Fewer than 16 values take the double-precision Box-Muller one value at a time.
TEST(Generator, SmallRandnMatchesTorchBitForBit) {
    Generator gen(789);
    const std::vector<float> expected = {0x1.dbe23ep-2f, 0x1.2af526p+0f, -0x1.f98bc0p-1f, -0x1.897a16p+0f,
                                         -0x1.afe4d2p-2f};  // torch.randn(5)
    EXPECT_EQ(gen.normal(5), expected);
}

// n >= 16 takes one float draw per value, and a ragged tail 16 more: n = 20 uses 20 + 16 draws.
TEST(Generator, NormalFillDrawCountsFollowTorch) {
    Generator gen(7), counter(7);
    gen.normal(20);
    for (int i = 0; i < 36; ++i) counter.random();
    EXPECT_EQ(gen.random(), counter.random());
}

// n < 16 goes through normal_distribution<double>: two 64-bit draws per pair of values, the
// second value cached in the generator for the next call, and dropped by manual_seed.
TEST(Generator, SmallNormalCachesTheSecondValue) {
    Generator gen(11), counter(11);
    auto first = gen.normal(1);
    for (int i = 0; i < 4; ++i) counter.random();
    auto second = gen.normal(1);  // served from the cache: no draw
    EXPECT_EQ(gen.random(), counter.random());

    Generator ref(11);
    const double u1 = double(ref.random64() & ((uint64_t(1) << 53) - 1)) / double(uint64_t(1) << 53);
    const double u2 = double(ref.random64() & ((uint64_t(1) << 53) - 1)) / double(uint64_t(1) << 53);
    const double r = std::sqrt(-2.0 * std::log1p(-u2));
    EXPECT_EQ(first[0], float(r * std::cos(2.0 * 3.14159265358979323846 * u1)));
    EXPECT_EQ(second[0], float(r * std::sin(2.0 * 3.14159265358979323846 * u1)));

    gen.normal(1);
    gen.manual_seed(11);
    EXPECT_EQ(gen.normal(1), first);
}

TEST(Generator, DefaultGeneratorFollowsManualSeed) {
    manual_seed(789);
    EXPECT_EQ(default_generator().random(), 1388712499u);
}

TEST(Generator, RefusesTheRangesTorchRefuses) {
    Generator gen(1);
    testing::expect_error([&] { gen.uniform(4, 2.0f, 1.0f); }, {"Generator::uniform", "from=2", "to=1"});
    testing::expect_error([&] { gen.uniform(4, -3e38f, 3e38f); }, {"Generator::uniform", "finite width"});
    testing::expect_error([&] { gen.normal(4, 0.0f, -1.0f); }, {"Generator::normal", "std=-1"});
    EXPECT_EQ(gen.uniform(3, 1.0f, 1.0f), std::vector<float>(3, 1.0f));  // an empty range: from, as torch
}

}  // namespace
}  // namespace attnn
