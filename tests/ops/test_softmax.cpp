#include "attnn/ops/softmax.hpp"

#include <cmath>
#include <limits>

#include "ops/op_test_util.hpp"
#include "reference/softmax.hpp"

namespace attnn {
namespace {

using testing::all_formats;
using testing::device_tensor;
using testing::expect_error;
using testing::expect_matches;
using testing::Format;
using testing::random_tensor;
using testing::random_values;

constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float nan = std::numeric_limits<float>::quiet_NaN();
// exp to ~1 ulp plus a sum over up to 2011 terms in fp32.
constexpr double softmax_rel = 2e-5, softmax_abs = 1e-9;

struct SoftmaxCase {
    std::vector<uint32_t> shape;
    int dim;
};

// The last dim (row-wise path) and every other dim (strided path), including a dim long enough
// that the strided path splits the columns into several blocks (2011 x 40).
const std::vector<SoftmaxCase> softmax_cases = {
    {{1}, 0},           {{31}, -1},           {{2011}, 0},          {{3, 2011}, -1},   {{33, 31}, 0},
    {{2, 31, 33}, 1},   {{2, 3, 32, 64}, -1}, {{2, 3, 32, 64}, 1},  {{2, 3, 32, 64}, 0}, {{5, 40}, -2},
    {{4, 33, 1}, -1},   {{2011, 40}, 0},      {{2, 5, 3, 7}, -3},
};

using SoftmaxParam = std::tuple<kernels::Isa, Format, SoftmaxCase>;
class SoftmaxMatchesReference : public ::testing::TestWithParam<SoftmaxParam> {};

TEST_P(SoftmaxMatchesReference, AlongDim) {
    auto [isa, format, c] = GetParam();
    testing::ScopedIsa scoped(isa);
    Tensor x = random_tensor(c.shape, format, 21, -8.0f, 8.0f);
    Tensor y = softmax(x, c.dim);
    EXPECT_EQ(y.dtype(), x.dtype());
    EXPECT_EQ(y.layout(), x.layout());
    expect_matches(y, reference::softmax(reference::from_tensor(x), c.dim), softmax_rel, softmax_abs);
}

std::string softmax_param_name(const ::testing::TestParamInfo<SoftmaxParam>& info) {
    return std::string(kernels::isa_name(std::get<0>(info.param))) + "_" + format_name(std::get<1>(info.param)) +
           "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(AllIsasFormatsDims, SoftmaxMatchesReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::ValuesIn(all_formats()), ::testing::ValuesIn(softmax_cases)),
                         softmax_param_name);

// Slices along `dim` of a [5, 40] tensor: slice 1 all -inf, slice 2 partly -inf, slice 3 with a
// NaN, slice 4 a NaN among -inf (the max alone cannot tell it from an all -inf slice).
std::vector<float> special_values(int dim) {
    auto values = random_values(5 * 40, 22, -3.0f, 3.0f);
    auto at = [&](int slice, int i) -> float& { return dim == 1 ? values[slice * 40 + i] : values[i * 40 + slice]; };
    const int n = dim == 1 ? 40 : 5;
    for (int i = 0; i < n; ++i) at(1, i) = at(4, i) = -inf;
    for (int i = 0; i < n; i += 2) at(2, i) = -inf;
    at(3, n / 2) = nan;
    at(4, 0) = nan;
    return values;
}

class SoftmaxSpecialValues : public ::testing::TestWithParam<std::tuple<kernels::Isa, Format, int>> {};

TEST_P(SoftmaxSpecialValues, AllNegInfSliceIsZeroAndNanPropagatesWithinItsSlice) {
    auto [isa, format, dim] = GetParam();
    testing::ScopedIsa scoped(isa);
    Tensor x = device_tensor(special_values(dim), {5, 40}, format);
    const std::vector<float> y = to_host<float>(softmax(x, dim));
    auto at = [&](int slice, int i) { return dim == 1 ? y[slice * 40 + i] : y[i * 40 + slice]; };
    const int n = dim == 1 ? 40 : 5;
    for (int i = 0; i < n; ++i) {
        EXPECT_EQ(at(1, i), 0.0f) << "all -inf slice, element " << i;
        EXPECT_TRUE(std::isnan(at(3, i))) << "NaN slice, element " << i;
        EXPECT_TRUE(std::isnan(at(4, i))) << "NaN among -inf, element " << i;
        if (i % 2 == 0) {
            EXPECT_EQ(at(2, i), 0.0f) << "-inf element " << i << " of a partly masked slice";
        }
        EXPECT_TRUE(std::isfinite(at(0, i)));
    }
    expect_matches(softmax(x, dim), reference::softmax(reference::from_tensor(x), dim), softmax_rel, softmax_abs);
}

INSTANTIATE_TEST_SUITE_P(
    FloatFormatsBothPaths, SoftmaxSpecialValues,
    ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                       ::testing::Values(Format{DataType::FLOAT32, Layout::ROW_MAJOR},
                                         Format{DataType::BFLOAT16, Layout::TILE}),
                       ::testing::Values(0, 1)),
    [](const auto& info) {
        return std::string(kernels::isa_name(std::get<0>(info.param))) + "_" + format_name(std::get<1>(info.param)) +
               "_dim" + std::to_string(std::get<2>(info.param));
    });

TEST(Softmax, RowsSumToOneForLargeInputs) {
    // exp(x) overflows fp32 for x > 88; subtracting the row max must keep these finite.
    Tensor x = random_tensor({3, 100}, {DataType::FLOAT32, Layout::TILE}, 23, 500.0f, 1000.0f);
    const std::vector<float> y = to_host<float>(softmax(x));
    for (int r = 0; r < 3; ++r) {
        double sum = 0;
        for (int c = 0; c < 100; ++c) sum += y[r * 100 + c];
        EXPECT_NEAR(sum, 1.0, 1e-5);
    }
}

TEST(Softmax, MemoryConfigOptionIsApplied) {
    Tensor x = random_tensor({4, 8}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 24);
    EXPECT_EQ(softmax(x, -1, L1_MEMORY_CONFIG).memory_config(), L1_MEMORY_CONFIG);
    EXPECT_EQ(softmax(x, -1).memory_config(), x.memory_config());
}

TEST(Softmax, DimOutOfRangeIsRejected) {
    Tensor x = random_tensor({4, 8}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 25);
    expect_error([&] { softmax(x, 2); }, {"softmax", "dim=2", "rank 2", "[-2, 1]"});
    expect_error([&] { softmax(x, -3); }, {"softmax", "dim=-3"});
}

TEST(Softmax, HostAndIntegerTensorsAreRejected) {
    Tensor x = random_tensor({4, 8}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 26);
    expect_error([&] { softmax(from_device(x)); }, {"softmax", "input is a host tensor"});
    std::vector<int32_t> values(4, 1);
    Tensor ints = from_host(std::span<const int32_t>(values), Shape{4}, {.device = testing::test_device()});
    expect_error([&] { softmax(ints); }, {"softmax", "input.dtype=DataType::INT32", "floating-point"});
}

TEST(Softmax, SecondIdenticalCallHitsProgramCache) {
    Tensor x = random_tensor({3, 13, 29}, {DataType::BFLOAT16, Layout::TILE}, 27);
    testing::expect_second_call_hits_cache([&] { softmax(x, -1); });
    testing::expect_second_call_hits_cache([&] { softmax(x, 1); });
}

}  // namespace
}  // namespace attnn
