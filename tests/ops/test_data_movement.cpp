#include "attnn/ops/data_movement.hpp"
#include "core/buffer.hpp"
#include "ops/op_test_util.hpp"
#include "reference/data_movement.hpp"

namespace attnn {
namespace {

using testing::all_formats;
using testing::expect_error;
using testing::expect_exact;
using testing::Format;
using testing::random_tensor;
using testing::test_device;

struct PermuteCase {
    std::vector<uint32_t> shape;
    std::vector<int64_t> dims;
};

// Last dim kept or moved, the last two swapped, ranks 1..8, negative dims.
const std::vector<PermuteCase> permute_cases = {
    {{2011}, {0}},
    {{31, 33}, {1, 0}},
    {{2, 2011}, {-1, 0}},
    {{2, 3, 4, 5}, {3, 1, 0, 2}},
    {{1, 2, 31, 33}, {0, 1, 3, 2}},
    {{2, 3, 33, 31}, {2, 0, 3, 1}},
    {{4, 1, 33}, {1, 0, 2}},
    {{2, 64, 32}, {2, 1, 0}},
    {{2, 3, 1, 4, 5}, {4, 2, 0, 3, 1}},
    {{2, 1, 2, 1, 3, 1, 2, 5}, {7, 6, 5, 4, 3, 2, 1, 0}},
};

std::vector<int> non_negative(const std::vector<int64_t>& dims) {
    std::vector<int> out;
    for (int64_t d : dims) out.push_back(int(d < 0 ? d + int64_t(dims.size()) : d));
    return out;
}

using PermuteParam = std::tuple<kernels::Isa, Format, PermuteCase>;
class PermuteMatchesReference : public ::testing::TestWithParam<PermuteParam> {};

TEST_P(PermuteMatchesReference, MovesEveryValue) {
    auto [isa, format, c] = GetParam();
    testing::ScopedIsa scoped(isa);
    Tensor x = random_tensor(c.shape, format, 31);
    Tensor y = permute(x, c.dims);
    EXPECT_EQ(y.dtype(), x.dtype());
    EXPECT_EQ(y.layout(), x.layout());
    expect_exact(y, reference::permute(reference::from_tensor(x), non_negative(c.dims)));
}

INSTANTIATE_TEST_SUITE_P(AllIsasFormats, PermuteMatchesReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::ValuesIn(all_formats()),
                                            ::testing::ValuesIn(permute_cases)),
                         testing::IsaFormatName());

// Large enough that every worker runs several tasks with its own scratch.
TEST(Permute, LargeTensorsSplitAcrossWorkers) {
    Tensor x = random_tensor({4, 96, 130}, {DataType::BFLOAT8_B, Layout::TILE}, 74);
    auto rx = reference::from_tensor(x);
    expect_exact(permute(x, {0, 2, 1}), reference::permute(rx, {0, 2, 1}));
    expect_exact(permute(x, {1, 0, 2}), reference::permute(rx, {1, 0, 2}));
    expect_exact(permute(x, {2, 0, 1}), reference::permute(rx, {2, 0, 1}));
}

TEST(Permute, IntegerValuesMoveExactly) {
    std::vector<int32_t> values(2 * 3 * 33);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = int32_t(16777217 + 3 * i) * (i % 2 ? -1 : 1);
    for (Layout layout : {Layout::ROW_MAJOR, Layout::TILE}) {
        Tensor x = from_host(std::span<const int32_t>(values), Shape{2, 3, 33},
                             {.layout = layout, .device = test_device()});
        std::vector<int32_t> got = to_host<int32_t>(permute(x, {2, 0, 1}));
        for (uint32_t i = 0; i < 33; ++i)
            for (uint32_t b = 0; b < 2; ++b)
                for (uint32_t r = 0; r < 3; ++r)
                    ASSERT_EQ(got[(i * 2 + b) * 3 + r], values[(b * 3 + r) * 33 + i]) << "layout " << layout;
    }
}

TEST(Permute, DimsMustBeAPermutation) {
    Tensor x = random_tensor({2, 3, 4}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 32);
    expect_error([&] { permute(x, {0, 0, 1}); }, {"permute: dims=[0, 0, 1] is not a permutation of 0..2"});
    expect_error([&] { permute(x, {0, 1}); }, {"permute", "dims=[0, 1]", "2 entries", "rank 3"});
    expect_error([&] { permute(x, {0, 1, 3}); }, {"permute", "entry 3", "out of range"});
    expect_error([&] { permute(x, {0, 1, -4}); }, {"permute", "entry -4"});
    expect_error([&] { permute(from_device(x), {0, 1, 2}); }, {"permute", "host tensor"});
}

struct SliceCase {
    std::vector<uint32_t> shape;
    std::vector<int64_t> begins, ends, steps;
};

// Ranks 1..5, ragged dims (1, 31, 33, 2011), starts off tile edges, steps on every dim.
const std::vector<SliceCase> slice_cases = {
    {{2011}, {5}, {2011}, {}},
    {{2011}, {0}, {2011}, {3}},
    {{31, 33}, {1, 2}, {30, 33}, {1, 1}},
    {{33, 70}, {0, 17}, {33, 64}, {2, 5}},
    {{2, 3, 31, 40}, {1, 0, 7, 0}, {2, 3, 31, 1}, {1, 2, 3, 1}},
    {{1, 8, 64, 128}, {0, 2, 32, 64}, {1, 4, 64, 128}, {}},
    {{2, 3, 1, 4, 5}, {0, 1, 0, 1, 2}, {2, 3, 1, 4, 5}, {1, 1, 1, 2, 2}},
};

using SliceParam = std::tuple<kernels::Isa, Format, SliceCase>;
class SliceMatchesReference : public ::testing::TestWithParam<SliceParam> {};

TEST_P(SliceMatchesReference, KeepsTheSlicedValues) {
    auto [isa, format, c] = GetParam();
    testing::ScopedIsa scoped(isa);
    Tensor x = random_tensor(c.shape, format, 41);
    Tensor y = slice(x, c.begins, c.ends, c.steps);
    EXPECT_EQ(y.dtype(), x.dtype());
    EXPECT_EQ(y.layout(), x.layout());
    std::vector<int64_t> steps = c.steps.empty() ? std::vector<int64_t>(c.shape.size(), 1) : c.steps;
    expect_exact(y, reference::slice(reference::from_tensor(x), c.begins, c.ends, steps));
}

INSTANTIATE_TEST_SUITE_P(AllIsasFormats, SliceMatchesReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::ValuesIn(all_formats()), ::testing::ValuesIn(slice_cases)),
                         testing::IsaFormatName());

TEST(Slice, IntegerValuesMoveExactly) {
    std::vector<int32_t> v(3 * 40);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = int32_t(i) * 1000003 - (1 << 30);  // beyond fp32's 2^24
    for (Layout layout : {Layout::ROW_MAJOR, Layout::TILE}) {
        Tensor x = from_host(std::span<const int32_t>(v), Shape{3, 40}, {.layout = layout, .device = test_device()});
        auto got = to_host<int32_t>(slice(x, {1, 3}, {3, 40}, {1, 4}));
        ASSERT_EQ(got.size(), 2u * 10u);
        for (int r = 0; r < 2; ++r)
            for (int c = 0; c < 10; ++c)
                EXPECT_EQ(got[std::size_t(r * 10 + c)], v[std::size_t((1 + r) * 40 + 3 + 4 * c)]) << to_string(layout);
    }
}

TEST(Slice, BoundsAndStepsAreChecked) {
    Tensor x = random_tensor({2, 33, 40}, {DataType::FLOAT32, Layout::TILE}, 1);
    expect_error([&] { slice(x, {0, 0}, {2, 33}); }, {"slice", "3 entries", "Shape([2, 33, 40])"});
    expect_error([&] { slice(x, {0, 0, 0}, {2, 34, 40}); }, {"slice", "dim 1", "end <= 33", "end=34"});
    expect_error([&] { slice(x, {0, 5, 0}, {2, 5, 40}); }, {"slice", "dim 1", "start=5 end=5", "zero-sized"});
    expect_error([&] { slice(x, {-1, 0, 0}, {2, 33, 40}); }, {"slice", "dim 0", "start=-1"});
    expect_error([&] { slice(x, {0, 0, 0}, {2, 33, 40}, {1, 0, 1}); }, {"slice", "slice_step[1]=0", ">= 1"});
    expect_error([&] { slice(x, {0, 0, 0}, {2, 33, 40}, {1, 1}); }, {"slice", "slice_step=[1, 1]", "3 entries"});
    expect_error([&] { slice(from_device(x), {0, 0, 0}, {2, 33, 40}); }, {"slice", "host tensor"});
}

TEST(Permute, SecondIdenticalCallHitsProgramCache) {
    Tensor x = random_tensor({3, 5, 37}, {DataType::BFLOAT8_B, Layout::TILE}, 33);
    testing::expect_second_call_hits_cache([&] { permute(x, {2, 0, 1}); });
}

class TransposeMatchesReference : public ::testing::TestWithParam<std::tuple<kernels::Isa, Format>> {};

TEST_P(TransposeMatchesReference, SwapsTwoDims) {
    auto [isa, format] = GetParam();
    testing::ScopedIsa scoped(isa);
    Tensor x = random_tensor({2, 3, 33, 31}, format, 34);
    auto rx = reference::from_tensor(x);
    expect_exact(transpose(x, -2, -1), reference::transpose(rx, -2, -1));
    expect_exact(transpose(x, 0, 2), reference::transpose(rx, 0, 2));
    expect_exact(transpose(x, 1, 1), rx);
}

INSTANTIATE_TEST_SUITE_P(AllIsasFormats, TransposeMatchesReference,
                         ::testing::Combine(::testing::ValuesIn(kernels::supported_isas()),
                                            ::testing::ValuesIn(all_formats())),
                         testing::IsaFormatName());

TEST(Transpose, DimsOutOfRangeAreRejected) {
    Tensor x = random_tensor({2, 3, 4}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 35);
    expect_error([&] { transpose(x, 0, 3); }, {"transpose", "dim1=3", "rank 3"});
    expect_error([&] { transpose(x, -4, 0); }, {"transpose", "dim0=-4"});
}

class ReshapeMatchesReference : public ::testing::TestWithParam<std::tuple<Format, std::vector<uint32_t>>> {};

// From [2, 3, 31, 33] to shapes that keep or change the last two dims.
TEST_P(ReshapeMatchesReference, KeepsRowMajorOrder) {
    auto [format, shape] = GetParam();
    Tensor x = random_tensor({2, 3, 31, 33}, format, 36);
    reference::Array expected = reference::from_tensor(x);
    expected.shape = shape;
    Tensor y = reshape(x, Shape(shape));
    EXPECT_EQ(y.layout(), x.layout());
    EXPECT_EQ(y.dtype(), x.dtype());
    expect_exact(y, expected);
}

INSTANTIATE_TEST_SUITE_P(
    AllFormats, ReshapeMatchesReference,
    ::testing::Combine(::testing::ValuesIn(all_formats()),
                       ::testing::Values(std::vector<uint32_t>{6, 31, 33}, std::vector<uint32_t>{6138},
                                         std::vector<uint32_t>{2, 3, 33, 31}, std::vector<uint32_t>{66, 93},
                                         std::vector<uint32_t>{1, 2, 3, 1, 31, 33},
                                         std::vector<uint32_t>{2046, 3, 1})),
    [](const auto& info) { return format_name(std::get<0>(info.param)) + "_" + std::to_string(info.index); });

TEST(Reshape, IntegerValuesRetileExactly) {
    std::vector<int32_t> values(3 * 40);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = int32_t(16777217 + 7 * i) * (i % 3 ? 1 : -1);
    Tensor x = from_host(std::span<const int32_t>(values), Shape{3, 40},
                         {.layout = Layout::TILE, .device = test_device()});
    EXPECT_EQ(to_host<int32_t>(reshape(x, Shape{8, 15})), values);
}

TEST(Reshape, RowMajorSharesStorage) {
    Tensor x = random_tensor({4, 6}, {DataType::BFLOAT16, Layout::ROW_MAJOR}, 37);
    Tensor y = reshape(x, Shape{2, 12});
    EXPECT_EQ(y.buffer(), x.buffer());
    EXPECT_EQ(to_host<float>(y), to_host<float>(x));
}

TEST(Reshape, TileSharesStorageWhenOnlyLeadingDimsChange) {
    Tensor x = random_tensor({2, 3, 31, 33}, {DataType::BFLOAT8_B, Layout::TILE}, 38);
    EXPECT_EQ(reshape(x, Shape{6, 31, 33}).buffer(), x.buffer());
    EXPECT_EQ(reshape(x, Shape{1, 6, 1, 31, 33}).buffer(), x.buffer());
    EXPECT_NE(reshape(x, Shape{6, 33, 31}).buffer(), x.buffer());
    Tensor row = random_tensor({33}, {DataType::FLOAT32, Layout::TILE}, 39);
    EXPECT_EQ(reshape(row, Shape{1, 1, 33}).buffer(), row.buffer());
}

TEST(Reshape, HostTensorsReshapeToo) {
    Tensor x = from_device(random_tensor({4, 40}, {DataType::FLOAT32, Layout::TILE}, 40));
    Tensor y = reshape(x, Shape{8, 20});
    EXPECT_FALSE(y.storage_on_device());
    EXPECT_EQ(to_host<float>(y), to_host<float>(x));
}

TEST(Reshape, VolumeMustMatch) {
    Tensor x = random_tensor({4, 6}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 41);
    expect_error(
        [&] {
            reshape(x, Shape{5, 5});
        },
        {"reshape", "shape=Shape([5, 5]) has volume 25", "input.shape=Shape([4, 6]) has volume 24"});
    expect_error([&] { reshape(x, Shape{}); }, {"reshape", "rank >= 1"});
}

TEST(Reshape, FallbackIsTheOpItself) { EXPECT_EQ(get_fallback_function(&reshape), &reshape); }

}  // namespace
}  // namespace attnn
