#include <cmath>
#include <string>

#include "reference/matmul.hpp"
#include "test_util.hpp"

namespace attnn {
namespace {

using reference::Array;
using testing::expect_error;
using testing::random_values;
using testing::test_device;

Tensor make(const std::vector<uint32_t>& dims, DataType dtype, Layout layout, uint32_t seed) {
    Shape shape(dims);
    auto v = random_values(shape.volume(), seed);
    return from_host(std::span<const float>(v), shape,
                     {.dtype = dtype, .layout = layout, .device = test_device()});
}

// The error budget: inputs are compared on their stored (already rounded) values, so only the
// output rounding and fp32 accumulation remain: relative to the output's scale sqrt(K).
double tolerance(DataType out_dtype, uint64_t k) {
    double scale = std::sqrt(double(k)) + 1;
    switch (out_dtype) {
        case DataType::FLOAT32:
            return 1e-5 * scale;
        case DataType::BFLOAT16:
            return 1.0 / 128 * scale;
        case DataType::BFLOAT8_B:
            return 1.0 / 32 * scale;
        default:
            return 1.0 / 2 * scale;
    }
}

struct MatmulCase {
    std::vector<uint32_t> a, b;
    bool ta = false, tb = false;
};

class MatmulAgainstReference
    : public ::testing::TestWithParam<std::tuple<kernels::Isa, MatmulCase, DataType, Layout>> {};

TEST_P(MatmulAgainstReference, MatchesFp64) {
    auto [isa, c, dtype, layout] = GetParam();
    testing::ScopedIsa scoped(isa);
    Tensor a = make(c.a, dtype, layout, 11), b = make(c.b, dtype, layout, 12);
    Tensor out = matmul(a, b, {.transpose_a = c.ta, .transpose_b = c.tb});
    Array expect = reference::matmul(reference::from_tensor(a), reference::from_tensor(b), c.ta, c.tb);
    EXPECT_EQ(out.shape().to_vector(), expect.shape);
    EXPECT_EQ(out.dtype(), dtype);
    EXPECT_EQ(out.layout(), layout);
    auto got = to_host<double>(out);
    uint64_t k = c.ta ? c.a[c.a.size() - 2] : c.a.back();
    EXPECT_LE(reference::max_abs_diff(got, expect.values), tolerance(dtype, k));
}

const auto shapes = ::testing::Values(
    MatmulCase{{1, 1}, {1, 1}}, MatmulCase{{31, 33}, {33, 1}}, MatmulCase{{33, 31}, {31, 2011}},
    MatmulCase{{64, 96}, {96, 32}}, MatmulCase{{2, 3, 31, 40}, {40, 33}},
    MatmulCase{{2, 1, 37, 20}, {1, 3, 20, 45}},  // both sides broadcast
    MatmulCase{{4, 33, 65}, {4, 65, 70}}, MatmulCase{{300, 520}, {520, 97}},
    // several row blocks and column strips: the workers share one packed A
    MatmulCase{{600, 300}, {300, 700}}, MatmulCase{{2, 270, 257}, {1100, 257}, false, true},
    MatmulCase{{45, 31}, {45, 50}, true, false},     // transpose_a
    MatmulCase{{3, 29, 70}, {66, 70}, false, true},  // transpose_b, a Linear weight
    MatmulCase{{2, 17, 40}, {2, 33, 17}, true, true},
    // GEMV (up to gemv_max_rows rows of A against a TILE B): B [K, N] and a transposed B [N, K],
    // long and ragged K, a column count that splits unevenly over the workers, a folded batch,
    // the last row count on each side of the boundary
    MatmulCase{{1, 2011}, {2011, 33}}, MatmulCase{{3, 33}, {33, 2011}}, MatmulCase{{16, 31}, {31, 100}},
    MatmulCase{{17, 31}, {31, 100}}, MatmulCase{{2, 5, 70}, {70, 45}}, MatmulCase{{2, 3, 1, 64}, {64, 17}},
    MatmulCase{{1, 2011}, {65, 2011}, false, true}, MatmulCase{{7, 40}, {1, 40}, false, true},
    MatmulCase{{2, 4, 96}, {33, 96}, false, true});

INSTANTIATE_TEST_SUITE_P(Fp32AllIsas, MatmulAgainstReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()), shapes,
                                            ::testing::Values(DataType::FLOAT32),
                                            ::testing::Values(Layout::ROW_MAJOR, Layout::TILE)));
INSTANTIATE_TEST_SUITE_P(StorageDtypes, MatmulAgainstReference,
                         ::testing::Combine(::testing::Values(kernels::best_isa()), shapes,
                                            ::testing::Values(DataType::BFLOAT16, DataType::BFLOAT8_B,
                                                              DataType::BFLOAT4_B),
                                            ::testing::Values(Layout::TILE)));

TEST(Matmul, MixedDtypesAndOutputDtype) {
    Tensor a = make({70, 130}, DataType::FLOAT32, Layout::TILE, 1);
    Tensor w = make({130, 90}, DataType::BFLOAT8_B, Layout::TILE, 2);
    Tensor out = matmul(a, w, {.dtype = DataType::BFLOAT16});
    EXPECT_EQ(out.dtype(), DataType::BFLOAT16);
    Array expect = reference::matmul(reference::from_tensor(a), reference::from_tensor(w));
    EXPECT_LE(reference::max_abs_diff(to_host<double>(out), expect.values),
              tolerance(DataType::BFLOAT16, 130));
}

TEST(Matmul, CoreGridLimitsWorkersWithoutChangingResult) {
    Tensor a = make({100, 64}, DataType::FLOAT32, Layout::ROW_MAJOR, 3);
    Tensor b = make({64, 200}, DataType::FLOAT32, Layout::ROW_MAJOR, 4);
    auto full = to_host<float>(matmul(a, b));
    auto one = to_host<float>(matmul(a, b, {.core_grid = CoreGrid{1, 1}}));
    EXPECT_EQ(full, one);
}

class LinearAgainstReference : public ::testing::TestWithParam<std::tuple<kernels::Isa, std::string>> {};

TEST_P(LinearAgainstReference, BiasAndActivation) {
    auto [isa, act] = GetParam();
    testing::ScopedIsa scoped(isa);
    Tensor x = make({2, 33, 70}, DataType::FLOAT32, Layout::TILE, 5);
    Tensor w = make({45, 70}, DataType::BFLOAT16, Layout::TILE, 6);  // torch layout [out, in]
    Tensor bias = make({45}, DataType::BFLOAT16, Layout::TILE, 7);
    Tensor out = linear(x, w, {.bias = bias, .transpose_b = true, .activation = act});
    auto bias_values = to_host<double>(bias);
    Array expect = reference::matmul(reference::from_tensor(x), reference::from_tensor(w), false, true,
                                     &bias_values, act);
    EXPECT_LE(reference::max_abs_diff(to_host<double>(out), expect.values), 2e-5 * (1 + std::sqrt(70.0)));
}

// A decode step's linear: a few rows of activations against TILE weights in every dtype, with
// bias and activation, torch's [out, in] layout and TT-NN's [in, out], the activations in either
// layout and the output in another dtype.
class GemvLinearAgainstReference
    : public ::testing::TestWithParam<std::tuple<kernels::Isa, DataType, bool, std::string>> {};

TEST_P(GemvLinearAgainstReference, BiasActivationAndOutputDtype) {
    auto [isa, wdtype, transpose_b, act] = GetParam();
    testing::ScopedIsa scoped(isa);
    const uint32_t k = 300, n = 257;
    // Nine BFLOAT16 activation rows are bf16-exact: against BFLOAT16 weights [K, N] they take the
    // bf16 dot products where the CPU has them (and with BFLOAT8_B weights must not: their exponents
    // cannot move onto activations of any sign and size).
    for (auto [xl, xdtype] : {std::pair{Layout::ROW_MAJOR, DataType::FLOAT32}, std::pair{Layout::TILE, DataType::FLOAT32},
                              std::pair{Layout::TILE, DataType::BFLOAT16}}) {
        Tensor x = make({1, 1, xdtype == DataType::BFLOAT16 ? 9u : 5u, k}, xdtype, xl, 21);
        Tensor w = transpose_b ? make({n, k}, wdtype, Layout::TILE, 22) : make({k, n}, wdtype, Layout::TILE, 22);
        Tensor bias = make({n}, DataType::BFLOAT16, Layout::TILE, 23);
        auto bias_values = to_host<double>(bias);
        Array expect = reference::matmul(reference::from_tensor(x), reference::from_tensor(w), false, transpose_b,
                                         &bias_values, act);
        Tensor out = linear(x, w, {.bias = bias, .transpose_b = transpose_b, .activation = act,
                                   .dtype = DataType::FLOAT32});
        EXPECT_EQ(out.shape().to_vector(), expect.shape);
        EXPECT_LE(reference::max_abs_diff(to_host<double>(out), expect.values), 2e-5 * (1 + std::sqrt(double(k))))
            << to_string(xl) << " " << to_string(xdtype);
        Tensor out16 = linear(x, w, {.bias = bias, .transpose_b = transpose_b, .activation = act,
                                     .dtype = DataType::BFLOAT16});
        EXPECT_EQ(out16.dtype(), DataType::BFLOAT16);
        EXPECT_LE(reference::max_abs_diff(to_host<double>(out16), expect.values),
                  tolerance(DataType::BFLOAT16, k))
            << to_string(xl) << " " << to_string(xdtype);
    }
}

INSTANTIATE_TEST_SUITE_P(WeightDtypes, GemvLinearAgainstReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::Values(DataType::FLOAT32, DataType::BFLOAT16,
                                                              DataType::BFLOAT8_B, DataType::BFLOAT4_B),
                                            ::testing::Bool(), ::testing::Values("", "silu")));

TEST(Matmul, GemvNonFiniteInputsPropagate) {
    // One row against a TILE B takes the GEMV path: NaN and inf reach the outputs they touch only.
    std::vector<float> av = {1.0f, NAN, 2.0f}, bv(3 * 40, 0.0f);
    bv[0 * 40 + 0] = 1.0f;       // out[0] = 1 * 1 + nan * 0 + 2 * 0 = nan
    bv[2 * 40 + 1] = INFINITY;   // out[1] = nan * 0 + 2 * inf = nan (the NaN row reaches every column)
    Tensor a = from_host(std::span<const float>(av), Shape{1, 3}, {.layout = Layout::TILE, .device = test_device()});
    Tensor b = from_host(std::span<const float>(bv), Shape{3, 40}, {.layout = Layout::TILE, .device = test_device()});
    auto out = to_host<float>(matmul(a, b));
    for (float v : out) EXPECT_TRUE(std::isnan(v));
    av[1] = 0.0f;
    Tensor a2 = from_host(std::span<const float>(av), Shape{1, 3}, {.layout = Layout::TILE, .device = test_device()});
    out = to_host<float>(matmul(a2, b));
    EXPECT_EQ(out[0], 1.0f);
    EXPECT_EQ(out[1], INFINITY);
    for (int j = 2; j < 40; ++j) EXPECT_EQ(out[std::size_t(j)], 0.0f) << j;
}

INSTANTIATE_TEST_SUITE_P(Activations, LinearAgainstReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::Values("", "relu", "gelu", "silu")));

// An odd K leaves the bf16 GEMV's last row of B without a partner: it is paired with zeros, not
// with itself at weight 0, so an Inf there gives Inf (Inf x 0 would make NaN). Every ISA.
TEST(Matmul, GemvOddKeepsInfinityInTheLastRow) {
    for (kernels::Isa isa : kernels::supported_isas()) {
        testing::ScopedIsa scoped(isa);
        for (uint32_t rows : {1u, 8u, 16u})
            for (uint32_t k : {1u, 3u, 5u, 33u}) {
                const uint32_t n = 40;
                std::vector<float> av(std::size_t(rows) * k, 1.0f), bv(std::size_t(k) * n, 1.0f);
                bv[std::size_t(k - 1) * n + 7] = INFINITY;
                bv[std::size_t(k - 1) * n + 9] = -INFINITY;
                Tensor a =
                    from_host(std::span<const float>(av), Shape{rows, k},
                              {.dtype = DataType::BFLOAT16, .layout = Layout::TILE, .device = test_device()});
                Tensor b =
                    from_host(std::span<const float>(bv), Shape{k, n},
                              {.dtype = DataType::BFLOAT16, .layout = Layout::TILE, .device = test_device()});
                const auto out = to_host<float>(matmul(a, b, {.dtype = DataType::FLOAT32}));
                for (uint32_t i = 0; i < rows; ++i)
                    for (uint32_t j = 0; j < n; ++j) {
                        const float want = j == 7 ? INFINITY : j == 9 ? -INFINITY : float(k);
                        ASSERT_EQ(out[std::size_t(i) * n + j], want)
                            << kernels::isa_name(isa) << " rows=" << rows << " k=" << k << " [" << i << "]["
                            << j << "]";
                    }
            }
    }
}

// A block-float weight with an Inf and a NaN: its face rows share exponent 255, and decode as
// the Inf, the NaN and 0 beside them (to_host). The GEMV (up to 16 rows) reads such a band as
// the GEMM (17 rows) does, B [K, N] and transposed, every ISA: the other 14 columns of the face
// row stay finite (the tile kernels would make them NaN, as attention wants of a KV cache).
TEST(Matmul, BlockFloatWeightsWithInfinityMatchTheGemm) {
    for (DataType dtype : {DataType::BFLOAT8_B, DataType::BFLOAT4_B})
        for (bool tb : {false, true}) {
            const uint32_t k = 70, n = 40;
            std::vector<float> bv(std::size_t(k) * n, 0.5f);
            // B [K, N]: row 20 holds the Inf (column 7) and the NaN (column 9); transposed, row 7.
            auto at = [&](uint32_t kk, uint32_t j) {
                return tb ? std::size_t(j) * k + kk : std::size_t(kk) * n + j;
            };
            bv[at(20, 7)] = INFINITY;
            bv[at(20, 9)] = NAN;
            Tensor b = from_host(std::span<const float>(bv), tb ? Shape{n, k} : Shape{k, n},
                                 {.dtype = dtype, .layout = Layout::TILE, .device = test_device()});
            const Array rb = reference::from_tensor(b);
            for (kernels::Isa isa : kernels::supported_isas()) {
                testing::ScopedIsa scoped(isa);
                for (uint32_t rows : {1u, 16u, 17u}) {
                    SCOPED_TRACE(to_string(dtype) + (tb ? " transposed" : "") + " " + kernels::isa_name(isa) +
                                 " rows=" + std::to_string(rows));
                    std::vector<float> av = random_values(std::size_t(rows) * k, 3);
                    Tensor a = from_host(
                        std::span<const float>(av), Shape{rows, k},
                        {.dtype = DataType::BFLOAT16, .layout = Layout::TILE, .device = test_device()});
                    const Array want = reference::matmul(reference::from_tensor(a), rb, false, tb);
                    const auto got =
                        to_host<double>(matmul(a, b, {.transpose_b = tb, .dtype = DataType::FLOAT32}));
                    int64_t finite = 0;
                    for (std::size_t i = 0; i < got.size(); ++i) {
                        const double w = want.values[i];
                        if (std::isnan(w)) {
                            ASSERT_TRUE(std::isnan(got[i])) << i;
                        } else if (std::isinf(w)) {
                            ASSERT_EQ(got[i], w) << i;
                        } else {
                            ASSERT_NEAR(got[i], w, 1e-4 * (std::fabs(w) + 1)) << i;
                            ++finite;
                        }
                    }
                    EXPECT_EQ(finite, int64_t(rows) * (n - 2));  // only the Inf's and the NaN's columns
                }
            }
        }
}

// Activations at the edges of their domain, every ISA: relu keeps NaN (as torch does), silu of a
// large negative input is -0 (not -0.04 from a clamped exp), of -inf NaN (as torch), of +inf +inf.
TEST(Matmul, ActivationsAtTheEdges) {
    const std::vector<float> xs = {NAN, -1e37f, -3e38f, -100.0f, -89.0f, 89.0f, 1e37f, -INFINITY, INFINITY};
    const uint32_t k = uint32_t(xs.size());
    // The values reach the activation as the bias of a zero product (an identity matmul would
    // spread NaN and Inf through their 0 x NaN products).
    const std::vector<float> zeros(k, 0.0f);
    Tensor x = from_host(std::span<const float>(zeros.data(), 1), Shape{1, 1},
                         {.layout = Layout::TILE, .device = test_device()});
    Tensor w = from_host(std::span<const float>(zeros), Shape{1, k},
                         {.layout = Layout::TILE, .device = test_device()});
    Tensor bias =
        from_host(std::span<const float>(xs), Shape{k}, {.layout = Layout::TILE, .device = test_device()});
    for (kernels::Isa isa : kernels::supported_isas()) {
        testing::ScopedIsa scoped(isa);
        const auto relu = to_host<float>(linear(x, w, {.bias = bias, .activation = "relu"}));
        const auto silu = to_host<float>(linear(x, w, {.bias = bias, .activation = "silu"}));
        for (uint32_t i = 0; i < k; ++i) {
            const float v = xs[i];
            SCOPED_TRACE(std::string(kernels::isa_name(isa)) + " x=" + std::to_string(v));
            if (std::isnan(v)) {
                EXPECT_TRUE(std::isnan(relu[i]));
                EXPECT_TRUE(std::isnan(silu[i]));
                continue;
            }
            EXPECT_EQ(relu[i], v < 0 ? 0.0f : v);
            if (v == -INFINITY)
                EXPECT_TRUE(std::isnan(silu[i]));
            else if (v == INFINITY)
                EXPECT_EQ(silu[i], INFINITY);
            else if (v <= -100.0f)
                EXPECT_LE(std::abs(silu[i]), 1e-30f) << silu[i];
            else
                EXPECT_NEAR(silu[i], double(v) / (1.0 + std::exp(-double(v))), 1e-5 * std::abs(double(v)));
        }
    }
}

TEST(Matmul, ProgramCacheHitsOnRepeatedShapes) {
    Device& device = test_device();
    bool was = device.program_cache_enabled();
    device.enable_program_cache();
    Tensor a = make({40, 50}, DataType::FLOAT32, Layout::TILE, 8),
           b = make({50, 60}, DataType::FLOAT32, Layout::TILE, 9);
    matmul(a, b);
    std::size_t entries = device.num_program_cache_entries(), hits = device.program_cache_hits();
    matmul(a, b);
    EXPECT_EQ(device.num_program_cache_entries(), entries);
    EXPECT_EQ(device.program_cache_hits(), hits + 1);
    matmul(a, b, {.dtype = DataType::BFLOAT16});  // other attributes: a new program
    EXPECT_EQ(device.num_program_cache_entries(), entries + 1);
    if (!was) device.disable_and_clear_program_cache();
}

TEST(Matmul, ValidationErrorsNameTheProblem) {
    Tensor a = make({4, 5}, DataType::FLOAT32, Layout::TILE, 1);
    Tensor b = make({6, 7}, DataType::FLOAT32, Layout::TILE, 2);
    expect_error([&] { matmul(a, b); }, {"matmul", "K=5", "K=6"});
    Tensor v = make({5}, DataType::FLOAT32, Layout::TILE, 3);
    expect_error([&] { matmul(a, v); }, {"matmul", "b must have rank >= 2"});
    Tensor ab = make({2, 4, 5}, DataType::FLOAT32, Layout::TILE, 4),
           bb = make({3, 5, 4}, DataType::FLOAT32, Layout::TILE, 5);
    expect_error([&] { matmul(ab, bb); }, {"batch dims do not broadcast"});
    std::vector<int32_t> ints(20, 1);
    Tensor ai = from_host(std::span<const int32_t>(ints), Shape{4, 5}, {.device = test_device()});
    expect_error(
        [&] {
            matmul(ai, make({5, 2}, DataType::FLOAT32, Layout::ROW_MAJOR, 6));
        },
        {"a.dtype", "INT32"});
    Tensor rm = make({4, 5}, DataType::FLOAT32, Layout::ROW_MAJOR, 7),
           rb = make({5, 3}, DataType::FLOAT32, Layout::ROW_MAJOR, 8);
    expect_error([&] { matmul(rm, rb, {.dtype = DataType::BFLOAT8_B}); }, {"BFLOAT8_B", "TILE"});
    std::vector<float> hv(20, 1.0f);
    Tensor host = from_host(std::span<const float>(hv), Shape{4, 5});
    expect_error([&] { matmul(host, b); }, {"matmul", "host tensor"});
    Tensor w = make({3, 5}, DataType::FLOAT32, Layout::TILE, 9);
    Tensor bad_bias = make({4}, DataType::FLOAT32, Layout::TILE, 10);
    expect_error([&] { linear(a, w, {.bias = bad_bias, .transpose_b = true}); }, {"linear", "bias", "N=3"});
    expect_error([&] { linear(a, w, {.transpose_b = true, .activation = "tanh"}); }, {"activation", "tanh"});
}

TEST(Matmul, NonFiniteInputsPropagateWithoutCrashing) {
    std::vector<float> av = {1.0f, NAN, 2.0f, 3.0f}, bv = {1.0f, 0.0f, 0.0f, INFINITY};
    Tensor a = from_host(std::span<const float>(av), Shape{2, 2}, {.device = test_device()});
    Tensor b = from_host(std::span<const float>(bv), Shape{2, 2}, {.device = test_device()});
    auto out = to_host<float>(matmul(a, b));
    EXPECT_TRUE(std::isnan(out[0]));  // 1*1 + nan*0
    EXPECT_EQ(out[3], INFINITY);      // 2*0 + 3*inf
}

}  // namespace
}  // namespace attnn
