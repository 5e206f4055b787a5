// The seed programs print the seeds' own numbers.
#include <cmath>

#include "seeds.hpp"
#include "test_util.hpp"

namespace attnn {
namespace {

using testing::test_device;

void expect_4_decimals(const nlohmann::json& got, const std::vector<double>& seed) {
    ASSERT_EQ(got.size(), seed.size());
    for (std::size_t i = 0; i < seed.size(); ++i) {
        double v = got[i].get<double>();
        // "equal to 4 decimals": what PyTorch printed is the value rounded to 4 places
        EXPECT_NEAR(std::round(v * 1e4) / 1e4, seed[i], 1e-9) << "entry " << i << " = " << v;
    }
}

TEST(SeedSimpleAttention, PrintsTheSeedsValues) {
    nlohmann::json out = examples::simple_attention(test_device());
    expect_4_decimals(out["attn_scores"], {0.9544, 1.4950, 1.4754, 0.8434, 0.7070, 1.0865});
    expect_4_decimals(out["attn_weights"], {0.1385, 0.2379, 0.2333, 0.1240, 0.1082, 0.1581});
    expect_4_decimals(out["context_vec"], {0.4419, 0.6515, 0.5683});
    expect_4_decimals(
        out["attn_scores_all"],
        {0.9995, 0.9544, 0.9422, 0.4753, 0.4576, 0.6310, 0.9544, 1.4950, 1.4754, 0.8434, 0.7070, 1.0865,
         0.9422, 1.4754, 1.4570, 0.8296, 0.7154, 1.0605, 0.4753, 0.8434, 0.8296, 0.4937, 0.3474, 0.6565,
         0.4576, 0.7070, 0.7154, 0.3474, 0.6654, 0.2935, 0.6310, 1.0865, 1.0605, 0.6565, 0.2935, 0.9450});
    expect_4_decimals(
        out["attn_weights_all"],
        {0.2098, 0.2006, 0.1981, 0.1242, 0.1220, 0.1452, 0.1385, 0.2379, 0.2333, 0.1240, 0.1082, 0.1581,
         0.1390, 0.2369, 0.2326, 0.1242, 0.1108, 0.1565, 0.1435, 0.2074, 0.2046, 0.1462, 0.1263, 0.1720,
         0.1526, 0.1958, 0.1975, 0.1367, 0.1879, 0.1295, 0.1385, 0.2184, 0.2128, 0.1420, 0.0988, 0.1896});
    expect_4_decimals(out["context_vecs"],
                      {0.4421, 0.5931, 0.5790, 0.4419, 0.6515, 0.5683, 0.4431, 0.6496, 0.5671, 0.4304, 0.6298,
                       0.5510, 0.4671, 0.5910, 0.5266, 0.4177, 0.6503, 0.5645});
    EXPECT_NEAR(out["attn_weights_sum"].get<double>(), 1.0, 1e-6);
}

TEST(SeedSelfAttentionV2, Seed789PrintsTheSeedsContextVectors) {
    nlohmann::json out = examples::self_attention_v2_example(test_device());
    expect_4_decimals(out["fp32"], {-0.0739, 0.0713, -0.0748, 0.0703, -0.0749, 0.0702, -0.0760, 0.0685,
                                    -0.0763, 0.0679, -0.0754, 0.0693});
    // The BFLOAT16 ports round their operands: within bf16 precision of the fp32 numbers.
    for (const char* port : {"naive_port", "optimized_port"})
        for (std::size_t i = 0; i < 12; ++i)
            EXPECT_NEAR(out[port][i].get<double>(), out["fp32"][i].get<double>(), 2e-3)
                << port << " entry " << i;
}

}  // namespace
}  // namespace attnn
