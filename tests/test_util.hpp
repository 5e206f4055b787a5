// Shared test helpers: a device per test suite, random data, ISA parametrisation.
#pragma once
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "attnn/attnn.hpp"
#include "kernels/kernels.hpp"

namespace attnn::testing {

// One device for the whole test binary (opening twice is an error by design).
inline Device& test_device() {
    static Device device = open_device(0);
    return device;
}

inline std::vector<float> random_values(std::size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(gen);
    return v;
}

inline std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// Selects an ISA for the duration of a test and restores the best one afterwards.
struct ScopedIsa {
    explicit ScopedIsa(kernels::Isa isa) { kernels::set_isa(isa); }
    ~ScopedIsa() { kernels::set_isa(kernels::best_isa()); }
};

inline std::string isa_param_name(const ::testing::TestParamInfo<kernels::Isa>& info) {
    return kernels::isa_name(info.param);
}

// Expects `fn` to throw attnn::Error whose message contains every fragment.
template <class F>
void expect_error(F&& fn, std::initializer_list<const char*> fragments) {
    try {
        fn();
        ADD_FAILURE() << "expected attnn::Error";
    } catch (const Error& e) {
        std::string msg = e.what();
        for (const char* f : fragments)
            EXPECT_NE(msg.find(f), std::string::npos) << "message: " << msg << "\nmissing: " << f;
    }
}

}  // namespace attnn::testing
