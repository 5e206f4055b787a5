// Helpers shared by the op tests: storage formats, device tensors from random values, and
// comparisons against the fp64 references that allow exactly one output rounding.
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "reference/reference.hpp"
#include "test_util.hpp"

namespace attnn::testing {

struct Format {
    DataType dtype;
    Layout layout;
};

inline std::string format_name(const Format& f) {
    std::string d = to_string(f.dtype).substr(std::string("DataType::").size());
    return d + (f.layout == Layout::TILE ? "_TILE" : "_ROW_MAJOR");
}

// Every format the floating-point ops take: block floats exist only in TILE.
inline std::vector<Format> all_formats() {
    return {{DataType::FLOAT32, Layout::ROW_MAJOR}, {DataType::FLOAT32, Layout::TILE},
            {DataType::BFLOAT16, Layout::ROW_MAJOR}, {DataType::BFLOAT16, Layout::TILE},
            {DataType::BFLOAT8_B, Layout::TILE},    {DataType::BFLOAT4_B, Layout::TILE}};
}

inline Tensor device_tensor(const std::vector<float>& values, const std::vector<uint32_t>& shape, Format f,
                            float pad_value = 0.0f) {
    return from_host(std::span<const float>(values), Shape(shape),
                     {.dtype = f.dtype, .layout = f.layout, .device = test_device(), .pad_value = pad_value});
}

inline uint64_t volume(const std::vector<uint32_t>& shape) {
    uint64_t v = 1;
    for (uint32_t d : shape) v *= d;
    return v;
}

inline Tensor random_tensor(const std::vector<uint32_t>& shape, Format f, uint32_t seed, float lo = -2.0f,
                            float hi = 2.0f) {
    return device_tensor(random_values(volume(shape), seed, lo, hi), shape, f);
}

// What an exact op must store: `expected` encoded once into the output's dtype and layout.
inline std::vector<double> encoded(const reference::Array& expected, DataType dtype, Layout layout) {
    std::vector<float> values(expected.values.begin(), expected.values.end());
    return to_host<double>(from_host(std::span<const float>(values), Shape(expected.shape),
                                     {.dtype = dtype, .layout = layout}));
}

// For ops that only move values: the output equals the reference encoded into its dtype.
inline void expect_exact(const Tensor& actual, const reference::Array& expected) {
    ASSERT_EQ(actual.shape(), Shape(expected.shape));
    const std::vector<double> want = encoded(expected, actual.dtype(), actual.layout());
    const std::vector<double> got = to_host<double>(actual);
    for (std::size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "at flat index " << i;
}

// For ops that compute: |actual - expected| within the fp32 compute error (compute_rel * |e| +
// compute_abs) plus one rounding into the output dtype: half a bf16 ulp, or for block floats one
// step of the 16-value face row the value is stored in (2^-6 / 2^-2 of the row's largest value).
inline void expect_matches(const Tensor& actual, const reference::Array& expected, double compute_rel = 1e-6,
                           double compute_abs = 1e-7) {
    ASSERT_EQ(actual.shape(), Shape(expected.shape));
    const std::vector<double> got = to_host<double>(actual);
    const std::vector<double>& want = expected.values;
    const std::size_t cols = expected.shape.back();
    const DataType dtype = actual.dtype();
    for (std::size_t i = 0; i < want.size(); ++i) {
        if (std::isnan(want[i])) {
            ASSERT_TRUE(std::isnan(got[i])) << "at flat index " << i << ": expected NaN, got " << got[i];
            continue;
        }
        double tol = compute_rel * std::abs(want[i]) + compute_abs;
        if (dtype == DataType::BFLOAT16) tol += std::abs(want[i]) * 0x1p-8;
        if (is_block_float(dtype)) {
            const std::size_t row_start = i / cols * cols, col = i % cols;
            const std::size_t first = row_start + col / FACE_WIDTH * FACE_WIDTH;
            const std::size_t last = std::min(first + FACE_WIDTH, row_start + cols);
            double face_row_max = 0;
            for (std::size_t j = first; j < last; ++j) face_row_max = std::max(face_row_max, std::abs(want[j]));
            tol += face_row_max * (dtype == DataType::BFLOAT8_B ? 0x1p-6 : 0x1p-2);
        }
        ASSERT_NEAR(got[i], want[i], tol) << "at flat index " << i;
    }
}

// Enables the program cache for one test and restores the state it found.
class ScopedProgramCache {
public:
    ScopedProgramCache() : was_enabled_(test_device().program_cache_enabled()) { test_device().enable_program_cache(); }
    ~ScopedProgramCache() {
        if (!was_enabled_) test_device().disable_and_clear_program_cache();
    }

private:
    bool was_enabled_;
};

// Runs `op` (with specs no other test uses) twice: the first call builds and caches one
// program, the second finds it.
template <class Op>
void expect_second_call_hits_cache(Op&& op) {
    ScopedProgramCache cache;
    Device& device = test_device();
    const std::size_t before = device.num_program_cache_entries();
    op();
    const std::size_t entries = device.num_program_cache_entries(), hits = device.program_cache_hits();
    EXPECT_EQ(entries, before + 1);
    op();
    EXPECT_EQ(device.program_cache_hits(), hits + 1);
    EXPECT_EQ(device.num_program_cache_entries(), entries);
}

}  // namespace attnn::testing
