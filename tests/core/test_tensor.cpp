#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>

#include "core/buffer.hpp"
#include "reference/reference.hpp"
#include "test_util.hpp"

namespace attnn {
namespace {

using testing::expect_error;
using testing::random_values;
using testing::test_device;

struct LayoutCase {
    DataType dtype;
    Layout layout;
};

class TensorRoundTrip : public ::testing::TestWithParam<std::tuple<DataType, Layout, std::vector<uint32_t>>> {
};

// Values survive from_host -> to_host exactly in FLOAT32, and within the dtype's rounding otherwise.
TEST_P(TensorRoundTrip, ValuesSurviveWithinDtypePrecision) {
    auto [dtype, layout, dims] = GetParam();
    Shape shape(dims);
    auto data = random_values(shape.volume(), 7, -4.0f, 4.0f);
    Tensor t = from_host(std::span<const float>(data), shape,
                         {.dtype = dtype, .layout = layout, .device = test_device()});
    EXPECT_EQ(t.shape(), shape);
    EXPECT_EQ(t.dtype(), dtype);
    EXPECT_EQ(t.layout(), layout);
    auto back = to_host<float>(t);
    ASSERT_EQ(back.size(), data.size());
    // Tolerances: bf16 keeps 8 significant bits; bfp8 7 bits below the row's largest exponent
    // (|x| < 8 here: step 2^-4), bfp4 3 bits (step 2^0).
    double tol = dtype == DataType::FLOAT32     ? 0.0
                 : dtype == DataType::BFLOAT16  ? 4.0 / 256
                 : dtype == DataType::BFLOAT8_B ? 4.0 / 64 + 1e-6
                                                : 4.0 / 4 + 1e-6;
    for (std::size_t i = 0; i < data.size(); ++i) ASSERT_NEAR(back[i], data[i], tol) << "at " << i;
}

const auto awkward_shapes =
    ::testing::Values(std::vector<uint32_t>{1}, std::vector<uint32_t>{31}, std::vector<uint32_t>{33, 1},
                      std::vector<uint32_t>{2, 31, 33}, std::vector<uint32_t>{64, 32},
                      std::vector<uint32_t>{1, 2011}, std::vector<uint32_t>{2, 3, 5, 40});
INSTANTIATE_TEST_SUITE_P(FloatDtypesBothLayouts, TensorRoundTrip,
                         ::testing::Combine(::testing::Values(DataType::FLOAT32, DataType::BFLOAT16),
                                            ::testing::Values(Layout::ROW_MAJOR, Layout::TILE),
                                            awkward_shapes));
INSTANTIATE_TEST_SUITE_P(BlockFloatsInTile, TensorRoundTrip,
                         ::testing::Combine(::testing::Values(DataType::BFLOAT8_B, DataType::BFLOAT4_B),
                                            ::testing::Values(Layout::TILE), awkward_shapes));

TEST(Tensor, TilePaddedShapeRoundsLastTwoDims) {
    std::vector<float> data(2 * 31 * 33, 1.0f);
    Tensor t = from_host(std::span<const float>(data), Shape{2, 31, 33}, {.layout = Layout::TILE});
    EXPECT_EQ(t.padded_shape(), (Shape{2, 32, 64}));
    EXPECT_EQ(t.size_bytes(), 2u * 2 * 4096);
}

TEST(Tensor, BlockFloatTileSizesMatchTtMetal) {
    std::vector<float> data(32 * 32, 1.0f);
    Tensor b8 = from_host(std::span<const float>(data), Shape{32, 32},
                          {.dtype = DataType::BFLOAT8_B, .layout = Layout::TILE});
    Tensor b4 = from_host(std::span<const float>(data), Shape{32, 32},
                          {.dtype = DataType::BFLOAT4_B, .layout = Layout::TILE});
    EXPECT_EQ(b8.size_bytes(), 1088u);
    EXPECT_EQ(b4.size_bytes(), 576u);
}

TEST(Tensor, IntegerValuesRoundTripExactly) {
    std::vector<int32_t> data = {-2147483647 - 1, -5, 0, 7, 2147483647, 16777217};
    for (Layout layout : {Layout::ROW_MAJOR, Layout::TILE}) {
        Tensor t = from_host(std::span<const int32_t>(data), Shape{2, 3}, {.layout = layout});
        EXPECT_EQ(t.dtype(), DataType::INT32);
        EXPECT_EQ(to_host<int32_t>(t), data);
    }
}

// Reading float values as integers rounds to nearest even and saturates, as typecast to INT32 /
// UINT32 does: 3e9 is not INT32_MIN, and -1 is not 4294967295 as a UINT32.
TEST(Tensor, FloatValuesReadAsIntegersSaturateAsTypecastDoes) {
    std::vector<float> data = {3e9f, -3e9f, -1.0f, 2.5f, 3.5f, -2.5f, NAN, INFINITY, -INFINITY, 16777216.0f};
    std::vector<int32_t> want_i = {2147483647, -2147483647 - 1, -1,      2, 4, -2, 0,
                                   2147483647, -2147483647 - 1, 16777216};
    std::vector<uint32_t> want_u = {3000000000u, 0u, 0u, 2u, 4u, 0u, 0u, 4294967295u, 0u, 16777216u};
    for (Layout layout : {Layout::ROW_MAJOR, Layout::TILE}) {
        Tensor t = from_host(std::span<const float>(data), Shape{2, 5}, {.layout = layout});
        EXPECT_EQ(to_host<int32_t>(t), want_i);
        EXPECT_EQ(to_host<uint32_t>(t), want_u);
        EXPECT_EQ(to_host<int32_t>(typecast(t, DataType::INT32)), want_i);
        EXPECT_EQ(to_host<uint32_t>(typecast(t, DataType::UINT32)), want_u);
    }
}

TEST(Tensor, TilePaddingHoldsPadValue) {
    std::vector<float> data(3 * 5, 2.0f);
    Tensor t = from_host(std::span<const float>(data), Shape{3, 5},
                         {.dtype = DataType::BFLOAT16, .layout = Layout::TILE, .pad_value = -INFINITY});
    Tensor rm = to_layout(t, Layout::ROW_MAJOR);
    EXPECT_EQ(to_host<float>(rm), data);
    // The padding itself is -inf: reshaping the padded storage into view shows it.
    auto raw = reinterpret_cast<const uint16_t*>(t.buffer()->data);
    EXPECT_EQ(raw[5], 0xff80);  // face 0 row 0 col 5: bfloat16 -inf
}

TEST(Tensor, BlockFloatsRejectInfinitePadValue) {
    std::vector<float> data = {1, 2, 3, 4, 5};
    expect_error(
        [&] {
            from_host(std::span<const float>(data), Shape{1, 5},
                      {.dtype = DataType::BFLOAT8_B, .layout = Layout::TILE, .pad_value = -INFINITY});
        },
        {"from_host", "pad_value=-inf", "BFLOAT8_B"});
    // A finite pad beside values in a 16-value group would take their exponent as well: -1e9 zeroes
    // 0.3. It is refused for every block-float width that is not a multiple of 16.
    for (DataType dtype : {DataType::BFLOAT8_B, DataType::BFLOAT4_B})
        for (float pad : {1.0f, -1e9f}) {
            expect_error(
                [&] {
                    from_host(std::span<const float>(data), Shape{1, 5},
                              {.dtype = dtype, .layout = Layout::TILE, .pad_value = pad});
                },
                {"from_host", "pad_value=", "shape[-1]=5", "pad with 0"});
        }
    // Where the width is a multiple of 16 the padding has exponents of its own: values unchanged.
    std::vector<float> wide = random_values(3 * 48, 5, -0.3f, 0.3f);
    Tensor padded = from_host(std::span<const float>(wide), Shape{3, 48},
                              {.dtype = DataType::BFLOAT8_B, .layout = Layout::TILE, .pad_value = -1e9f});
    Tensor plain = from_host(std::span<const float>(wide), Shape{3, 48},
                             {.dtype = DataType::BFLOAT8_B, .layout = Layout::TILE});
    EXPECT_EQ(to_host<float>(padded), to_host<float>(plain));
    Tensor zero_pad = from_host(std::span<const float>(data), Shape{1, 5},
                                {.dtype = DataType::BFLOAT8_B, .layout = Layout::TILE, .pad_value = 0.0f});
    EXPECT_EQ(to_host<float>(zero_pad), data);
}

TEST(Tensor, ToLayoutAndTypecastPreserveValues) {
    auto data = random_values(40 * 70, 3);
    Tensor t = from_host(std::span<const float>(data), Shape{40, 70}, {.device = test_device()});
    Tensor tiled = to_layout(t, Layout::TILE);
    EXPECT_EQ(to_host<float>(tiled), data);
    Tensor bf = typecast(tiled, DataType::BFLOAT16);
    auto bfv = to_host<float>(bf);
    for (std::size_t i = 0; i < data.size(); ++i) EXPECT_EQ(bfv[i], bfloat16(data[i]).to_float());
    expect_error([&] { to_layout(typecast(tiled, DataType::BFLOAT8_B), Layout::ROW_MAJOR); },
                 {"to_layout", "BFLOAT8_B", "TILE"});
}

TEST(Tensor, FromHostRejectsWrongSizeAndZeroDims) {
    std::vector<float> data(5);
    expect_error([&] { from_host(std::span<const float>(data), Shape{2, 3}); }, {"from_host", "5", "6"});
    expect_error([&] { from_host(std::span<const float>(data.data(), 0), Shape{0, 3}); }, {"zero-sized"});
    expect_error([&] { from_host(std::span<const float>(data), Shape{5}, {.dtype = DataType::BFLOAT8_B}); },
                 {"BFLOAT8_B", "TILE"});
}

TEST(Tensor, DeallocatedTensorIsRejected) {
    std::vector<float> data(4, 1.0f);
    Tensor t = from_host(std::span<const float>(data), Shape{2, 2}, {.device = test_device()});
    Tensor alias = t;
    deallocate(t);
    EXPECT_FALSE(alias.is_allocated());
    expect_error([&] { to_host<float>(alias); }, {"deallocated"});
}

// Reads and conversions take the device's op lock as ops do: while another thread runs an
// in-place op, to_host and from_device see the tensor before it or after it, never half way.
TEST(Tensor, ReadsSeeInPlaceOpsWholeOrNotAtAll) {
    const uint32_t n = 1u << 20;
    const std::vector<int32_t> zeros(n, 0);
    Tensor t = from_host(std::span<const int32_t>(zeros), Shape{n}, {.device = test_device()});
    const int steps = 60;
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (int i = 0; i < steps; ++i) plus_one(t);
        done = true;
    });
    int reads = 0;
    while (!done || reads < 2) {
        const std::vector<int32_t> seen = reads % 2 ? to_host<int32_t>(from_device(t)) : to_host<int32_t>(t);
        const auto first = seen.front();
        const auto odd = std::find_if(seen.begin(), seen.end(), [&](int32_t x) { return x != first; });
        if (odd != seen.end()) {
            ADD_FAILURE() << "read " << reads << ": entry 0 is " << first << ", entry "
                          << (odd - seen.begin()) << " is " << *odd;
            break;
        }
        ++reads;
    }
    writer.join();
    EXPECT_EQ(to_host<int32_t>(t), std::vector<int32_t>(n, steps));
}

TEST(Tensor, PrintsLikeTtnn) {
    std::vector<float> data = {1.0f, -2.5f, 0.125f, 4.0f};
    Tensor t = from_host(std::span<const float>(data), Shape{2, 2},
                         {.dtype = DataType::BFLOAT16, .layout = Layout::TILE});
    EXPECT_EQ(t.to_string(),
              "ttnn.Tensor([[ 1.00000, -2.50000],\n             [ 0.12500,  4.00000]], shape=Shape([2, 2]), "
              "dtype=DataType::BFLOAT16, layout=Layout::TILE)");
}

// Integers print exactly (they went through fp32 and int: 2147483647 printed -2147483648), and a
// tensor whose values reach 1e8 prints in scientific notation (%8.5f ran 3e38 to 40 digits, cut
// off at 31 so that it read as 3e30).
TEST(Tensor, PrintsIntegersExactlyAndLargeValuesInScientificNotation) {
    std::vector<int32_t> ints = {2147483647, 16777217, -2147483647};
    EXPECT_EQ(from_host(std::span<const int32_t>(ints), Shape{3}).to_string(),
              "ttnn.Tensor([2147483647, 16777217, -2147483647], shape=Shape([3]), dtype=DataType::INT32, "
              "layout=Layout::ROW_MAJOR)");
    std::vector<uint32_t> uints = {4000000000u, 3000000001u};
    EXPECT_NE(
        from_host(std::span<const uint32_t>(uints), Shape{2}).to_string().find("[4000000000, 3000000001]"),
        std::string::npos);
    std::vector<float> big = {3e38f, -1.5f};
    EXPECT_NE(
        from_host(std::span<const float>(big), Shape{2}).to_string().find("[3.00000e+38, -1.50000e+00]"),
        std::string::npos);
}

// INT32 / UINT32 values pass to and from doubles exactly (they went through fp32: 16777217 read
// 16777216); doubles bound for an integer tensor round to nearest even and saturate, as typecast.
TEST(Tensor, IntegersPassThroughDoublesExactly) {
    std::vector<int32_t> ints = {16777217, 2147483647, -2147483647};
    EXPECT_EQ(to_host<double>(from_host(std::span<const int32_t>(ints), Shape{3})),
              (std::vector<double>{16777217.0, 2147483647.0, -2147483647.0}));
    std::vector<uint32_t> uints = {4294967295u};
    EXPECT_EQ(to_host<double>(from_host(std::span<const uint32_t>(uints), Shape{1})),
              std::vector<double>{4294967295.0});
    std::vector<double> d = {16777217.0, 123456789.0, 2.5, 3.5, -1e12, NAN};
    EXPECT_EQ(to_host<int32_t>(from_host(std::span<const double>(d), Shape{6}, {.dtype = DataType::INT32})),
              (std::vector<int32_t>{16777217, 123456789, 2, 4, INT32_MIN, 0}));
    std::vector<double> u = {4294967295.0, -3.0, 1e20};
    EXPECT_EQ(to_host<uint32_t>(from_host(std::span<const double>(u), Shape{3}, {.dtype = DataType::UINT32})),
              (std::vector<uint32_t>{4294967295u, 0u, 4294967295u}));
}

// Shapes whose storage would wrap the 64-bit volume, or whose TILE padding would pass a 32-bit
// dim, are refused by name (they used to allocate a few bytes and write past them).
TEST(Tensor, ShapesTooLargeToStoreAreRefused) {
    testing::expect_error([] { zeros(Shape{65536, 65536, 65536, 65536}); }, {"full", "2^47 bytes"});
    testing::expect_error(
        [] {
            zeros(Shape{1u << 20, 1u << 20, 1u << 20}, {.layout = Layout::TILE});
        },
        {"full", "2^47 bytes"});
    testing::expect_error(
        [] {
            zeros(Shape{4, 4294967295u}, {.layout = Layout::TILE});
        },
        {"full", "dim 1 of a TILE tensor must be at most 4294967264"});
    std::vector<float> none;
    testing::expect_error(
        [&] {
            from_host(std::span<const float>(none), Shape{65536, 65536, 65536, 65536});
        },
        {"from_host"});
}

// TT-NN's comp_pcc: an all-zero input beside one holding a NaN or Inf fails (torch's .bool()
// counts them non-zero); both all NaN pass, one all NaN fails; constants pass when close; values
// past 1e154 do not overflow the sums.
TEST(Accuracy, CompPccFollowsTtnn) {
    EXPECT_EQ(comp_pcc({0, 0, 0}, {NAN, 0, 0}), 0.0);
    EXPECT_EQ(comp_pcc({0, 0, 0}, {INFINITY, 0, 0}), 0.0);
    EXPECT_EQ(comp_pcc({NAN, NAN}, {NAN, NAN}), 1.0);
    EXPECT_EQ(comp_pcc({NAN, NAN}, {0, 0}), 0.0);
    EXPECT_EQ(comp_pcc({1.0 / 3, 1.0 / 3}, {double(1.0f / 3), double(1.0f / 3)}), 1.0);
    EXPECT_EQ(comp_pcc({1, 1}, {2, 2}), 0.0);
    EXPECT_EQ(comp_pcc({1, 1}, {1, 2}), 0.0);
    EXPECT_NEAR(comp_pcc({1e200, -1e200, 3e200}, {2e200, -2e200, 6e200}), 1.0, 1e-12);
    EXPECT_NEAR(comp_pcc({1, 2, 3, INFINITY}, {1, 2, 3, 4}), comp_pcc({1, 2, 3, 0}, {1, 2, 3, 4}), 1e-15);
}

TEST(Storage, LargeBlocksAreRecycledAndZeroFilledWhenAsked) {
    detail::trim_storage_cache();  // start from an empty cache
    std::size_t cap_a = 0, cap_b = 0;
    const std::size_t bytes = (std::size_t(3) << 20) + 100;  // rounds up to 4 MiB
    std::byte* a = detail::allocate_storage(bytes, cap_a);
    EXPECT_EQ(cap_a, std::size_t(4) << 20);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % (std::size_t(2) << 20), 0u);  // huge-page aligned
    std::memset(a, 0x7f, cap_a);
    detail::free_storage(a, cap_a);
    std::byte* b = detail::allocate_storage(bytes, cap_b);
#if !defined(__SANITIZE_ADDRESS__)
    EXPECT_EQ(b, a);  // the freed block came back
#endif
    detail::free_storage(b, cap_b);
    // A zero-filled buffer is zero even when its block is recycled, and tensors built on
    // recycled storage hold exactly their values.
    {
        detail::Buffer dirty(bytes, false);
        std::memset(dirty.data, 0x7f, dirty.capacity);
    }
    detail::Buffer clean(bytes, true);
    for (std::size_t i = 0; i < clean.capacity; i += 4096) ASSERT_EQ(clean.data[i], std::byte{0});
    std::vector<float> values(1000 * 1001);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = float(i % 977) - 400.0f;
    for (int round = 0; round < 3; ++round) {
        Tensor t = from_host(std::span<const float>(values), Shape{1000, 1001},
                             {.dtype = DataType::FLOAT32, .layout = Layout::TILE, .device = test_device()});
        EXPECT_EQ(to_host<float>(t), values);
    }
    detail::trim_storage_cache();
}

}  // namespace
}  // namespace attnn
