#include "attnn/ops/eltwise.hpp"

#include "core/buffer.hpp"
#include "ops/op_test_util.hpp"
#include "reference/eltwise.hpp"

namespace attnn {
namespace {

using testing::all_formats;
using testing::expect_error;
using testing::expect_matches;
using testing::Format;
using testing::random_tensor;
using testing::test_device;

struct BroadcastCase {
    std::vector<uint32_t> a, b;
};

// Same shapes, rows, columns, scalars, outer products, leading and middle dims, ranks 1..4.
const std::vector<BroadcastCase> broadcast_cases = {
    {{2, 31, 33}, {2, 31, 33}},   // no broadcast, awkward tile edges
    {{64, 96}, {64, 96}},         // whole tiles
    {{2011}, {2011}},             // rank 1
    {{1}, {1}},                   // a single value
    {{4, 33}, {33}},              // b is one row for every row of a
    {{31, 33}, {31, 1}},          // b is one value per row
    {{2, 3, 32, 64}, {1}},        // b is a scalar tensor
    {{31, 1}, {1, 33}},           // outer sum: both broadcast
    {{2, 3, 32, 64}, {3, 1, 64}}, // b repeats over batch and rows
    {{1, 64}, {2, 3, 64}},        // the output is larger than a
    {{3, 2011}, {1, 2011}},       // a long row repeated
    {{2, 1, 5, 33}, {1, 4, 5, 1}},// middle dims broadcast both ways
};

using BinaryParam = std::tuple<kernels::Isa, Format, BroadcastCase>;

class BinaryMatchesReference : public ::testing::TestWithParam<BinaryParam> {};

TEST_P(BinaryMatchesReference, AddSubtractMultiplyWithBroadcasting) {
    auto [isa, format, shapes] = GetParam();
    testing::ScopedIsa scoped(isa);
    Tensor a = random_tensor(shapes.a, format, 1);
    Tensor b = random_tensor(shapes.b, format, 2);
    auto ra = reference::from_tensor(a), rb = reference::from_tensor(b);
    expect_matches(add(a, b), reference::add(ra, rb));
    expect_matches(subtract(a, b), reference::subtract(ra, rb));
    expect_matches(multiply(a, b), reference::multiply(ra, rb));
}

std::string binary_param_name(const ::testing::TestParamInfo<BinaryParam>& info) {
    return std::string(kernels::isa_name(std::get<0>(info.param))) + "_" + format_name(std::get<1>(info.param)) +
           "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(AllIsasFormatsBroadcasts, BinaryMatchesReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::ValuesIn(all_formats()), ::testing::ValuesIn(broadcast_cases)),
                         binary_param_name);

using ScalarParam = std::tuple<kernels::Isa, Format, std::vector<uint32_t>>;
class BinaryScalarMatchesReference : public ::testing::TestWithParam<ScalarParam> {};

TEST_P(BinaryScalarMatchesReference, AddSubtractMultiplyByScalar) {
    auto [isa, format, shape] = GetParam();
    testing::ScopedIsa scoped(isa);
    Tensor a = random_tensor(shape, format, 3);
    auto ra = reference::from_tensor(a);
    expect_matches(add(a, 0.75f), reference::add(ra, 0.75));
    expect_matches(subtract(a, -1.5f), reference::subtract(ra, -1.5));
    expect_matches(multiply(a, 3.0f), reference::multiply(ra, 3.0));
}

std::string scalar_param_name(const ::testing::TestParamInfo<ScalarParam>& info) {
    return std::string(kernels::isa_name(std::get<0>(info.param))) + "_" + format_name(std::get<1>(info.param)) +
           "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(AllIsasFormats, BinaryScalarMatchesReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::ValuesIn(all_formats()),
                                            ::testing::Values(std::vector<uint32_t>{2011},
                                                              std::vector<uint32_t>{2, 31, 33},
                                                              std::vector<uint32_t>{1, 64, 32})),
                         scalar_param_name);

TEST(Binary, OutputTakesDtypeOfAAndLayoutOfA) {
    Tensor a = random_tensor({31, 33}, {DataType::BFLOAT16, Layout::TILE}, 4);
    Tensor b = random_tensor({31, 33}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 5);
    Tensor sum = add(a, b);
    EXPECT_EQ(sum.dtype(), DataType::BFLOAT16);
    EXPECT_EQ(sum.layout(), Layout::TILE);
    EXPECT_EQ(sum.memory_config(), a.memory_config());
    expect_matches(sum, reference::add(reference::from_tensor(a), reference::from_tensor(b)));
}

TEST(Binary, OptionsChooseOutputDtypeAndMemoryConfig) {
    Tensor a = random_tensor({33, 40}, {DataType::FLOAT32, Layout::TILE}, 6);
    Tensor b = random_tensor({33, 40}, {DataType::FLOAT32, Layout::TILE}, 7);
    Tensor product = multiply(a, b, {.dtype = DataType::BFLOAT8_B, .memory_config = L1_MEMORY_CONFIG});
    EXPECT_EQ(product.dtype(), DataType::BFLOAT8_B);
    EXPECT_EQ(product.memory_config(), L1_MEMORY_CONFIG);
    expect_matches(product, reference::multiply(reference::from_tensor(a), reference::from_tensor(b)));
}

TEST(Binary, OperatorsMatchNamedOps) {
    Tensor a = random_tensor({5, 7}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 8);
    Tensor b = random_tensor({7}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 9);
    auto ra = reference::from_tensor(a), rb = reference::from_tensor(b);
    expect_matches(a + b, reference::add(ra, rb));
    expect_matches(a - b, reference::subtract(ra, rb));
    expect_matches(a * b, reference::multiply(ra, rb));
    expect_matches(a + 2.0f, reference::add(ra, 2.0));
    expect_matches(a - 2.0f, reference::subtract(ra, 2.0));
    expect_matches(a * 2.0f, reference::multiply(ra, 2.0));
    expect_matches(0.5f * a, reference::multiply(ra, 0.5));
    Tensor c = a;
    c += b;
    expect_matches(c, reference::add(ra, rb));
    c *= -3.0f;
    expect_matches(c, reference::multiply(reference::add(ra, rb), -3.0));
    expect_matches(a, ra);  // the handles `a` was copied into were rebound, a's storage is untouched
}

TEST(Binary, ShapesThatDoNotBroadcastAreRejected) {
    Tensor a = random_tensor({2, 3}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 10);
    Tensor b = random_tensor({4, 3}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 11);
    expect_error([&] { add(a, b); }, {"add: ", "a.shape=Shape([2, 3])", "b.shape=Shape([4, 3])", "do not broadcast",
                                      "dim -2: 2 vs 4"});
    Tensor row = random_tensor({1, 3}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 12);
    expect_error([&] { row += a; }, {"operator+=", "Shape([1, 3])", "Shape([2, 3])", "keeps a's shape"});
}

TEST(Binary, HostAndDeallocatedTensorsAreRejected) {
    Tensor a = random_tensor({2, 3}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 13);
    Tensor host = from_device(a);
    expect_error([&] { subtract(a, host); }, {"subtract", "b is a host tensor"});
    Tensor gone = clone(a);
    deallocate(gone);
    expect_error([&] { multiply(gone, a); }, {"multiply", "a was deallocated"});
}

TEST(Binary, BlockFloatOutputNeedsTileLayout) {
    Tensor a = random_tensor({4, 8}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 14);
    expect_error([&] { add(a, a, {.dtype = DataType::BFLOAT8_B}); }, {"add", "dtype=DataType::BFLOAT8_B", "TILE"});
    expect_error([&] { multiply(a, 2.0f, {.dtype = DataType::BFLOAT4_B}); }, {"multiply", "BFLOAT4_B", "TILE"});
}

TEST(Binary, IntegerTensorsAreRejected) {
    std::vector<int32_t> values = {1, 2, 3, 4};
    Tensor ints = from_host(std::span<const int32_t>(values), Shape{2, 2}, {.device = test_device()});
    Tensor floats = random_tensor({2, 2}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 15);
    expect_error([&] { add(ints, floats); }, {"add", "a.dtype=DataType::INT32", "floating-point"});
    expect_error([&] { add(floats, floats, {.dtype = DataType::UINT32}); }, {"add", "dtype=DataType::UINT32"});
}

TEST(Binary, SecondIdenticalCallHitsProgramCache) {
    Tensor a = random_tensor({3, 17, 19}, {DataType::BFLOAT16, Layout::TILE}, 16);
    Tensor b = random_tensor({17, 1}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 17);
    testing::expect_second_call_hits_cache([&] { add(a, b); });
    testing::expect_second_call_hits_cache([&] { multiply(a, 2.0f); });
}

TEST(Binary, DifferentSpecsBuildDifferentPrograms) {
    testing::ScopedProgramCache cache;
    Tensor a = random_tensor({3, 21}, {DataType::FLOAT32, Layout::TILE}, 18);
    Tensor b = random_tensor({3, 21}, {DataType::FLOAT32, Layout::TILE}, 19);
    const std::size_t before = test_device().num_program_cache_entries();
    add(a, b);
    subtract(a, b);
    add(a, b, {.dtype = DataType::BFLOAT16});
    EXPECT_EQ(test_device().num_program_cache_entries(), before + 3);
}

}  // namespace
}  // namespace attnn
