// Opening and closing device 0 and its program cache. This binary has no shared test device
// (attnn_tests holds device 0 open for its whole run), so every test opens the device it
// needs and closes it before it ends.
#include <gtest/gtest.h>

#include <thread>

#include "attnn/attnn.hpp"
#include "core/device_impl.hpp"
#include "test_util.hpp"

namespace attnn {
namespace {

using testing::expect_error;

// Closes the device at the end of a test even when an assertion fails, so the next test can
// open it again.
struct OpenDevice {
    explicit OpenDevice(const DeviceOptions& options = {}) : device(open_device(0, options)) {}
    ~OpenDevice() {
        if (device.is_open()) close_device(device);
    }
    Device device;
};

Tensor small_tensor(Device& device, Layout layout = Layout::ROW_MAJOR) {
    std::vector<float> data = {1.0f, 2.0f, 3.0f, 4.0f};
    return from_host(std::span<const float>(data), Shape{2, 2}, {.layout = layout, .device = device});
}

TEST(DeviceLifecycle, OpenThenCloseThenReopen) {
    Device d = open_device(0);
    EXPECT_TRUE(d.is_open());
    EXPECT_EQ(d.id(), 0);
    close_device(d);
    EXPECT_FALSE(d.is_open());
    Device again = open_device(0);
    EXPECT_TRUE(again.is_open());
    EXPECT_NE(again, d);  // a new device, not the closed one revived
    close_device(again);
}

TEST(DeviceLifecycle, OpeningTwiceThrows) {
    OpenDevice open;
    expect_error([] { open_device(0); }, {"open_device", "device 0", "already open"});
    EXPECT_TRUE(open.device.is_open());
}

TEST(DeviceLifecycle, ClosingTwiceThrows) {
    Device d = open_device(0);
    close_device(d);
    expect_error([&] { close_device(d); }, {"close_device", "closed"});
}

TEST(DeviceLifecycle, ClosingThroughACopyClosesEveryHandle) {
    Device d = open_device(0);
    Device copy = d;
    close_device(copy);
    EXPECT_FALSE(d.is_open());
    expect_error([&] { d.num_workers(); }, {"closed"});
}

TEST(DeviceLifecycle, AClosedDevicesTensorsAreRejected) {
    Device d = open_device(0);
    Tensor t = small_tensor(d);
    Tensor tiled = small_tensor(d, Layout::TILE);
    close_device(d);
    EXPECT_FALSE(t.is_allocated());
    expect_error([&] { to_host<float>(t); }, {"to_host", "device 0", "closed"});
    expect_error([&] { to_layout(tiled, Layout::ROW_MAJOR); }, {"to_layout", "closed"});
    expect_error([&] { from_device(t); }, {"from_device", "closed"});
    std::vector<float> data(4, 0.0f);
    expect_error([&] { from_host(std::span<const float>(data), Shape{4}, {.device = d}); },
                 {"from_host", "closed"});
    expect_error([&] { to_device(from_host(std::span<const float>(data), Shape{4}), d); },
                 {"to_device", "closed"});
}

TEST(DeviceLifecycle, TensorsOfAClosedDeviceStayClosedAfterReopening) {
    Device old = open_device(0);
    Tensor t = small_tensor(old);
    close_device(old);
    OpenDevice reopened;
    expect_error([&] { to_host<float>(t); }, {"closed"});
    EXPECT_EQ(to_host<float>(small_tensor(reopened.device)), (std::vector<float>{1, 2, 3, 4}));
}

TEST(DeviceLifecycle, HostCopyOutlivesTheDevice) {
    Device d = open_device(0);
    Tensor host = from_device(small_tensor(d));
    close_device(d);
    EXPECT_EQ(to_host<float>(host), (std::vector<float>{1, 2, 3, 4}));
}

TEST(DeviceLifecycle, NumWorkersOption) {
    {
        OpenDevice open({.num_workers = 3});
        EXPECT_EQ(open.device.num_workers(), 3);
        EXPECT_EQ(open.device.compute_with_storage_grid_size().x, 3u);
    }
    {
        OpenDevice open;
        unsigned hw = std::thread::hardware_concurrency();
        EXPECT_EQ(open.device.num_workers(), int(hw > 0 ? hw : 1));
    }
}

// ---- program cache ----------------------------------------------------------------------------

// What an op does with the cache: key on (op, attributes, input specs), build on a miss.
struct CountingProgram : detail::Program {};

std::shared_ptr<CountingProgram> run_op(Device& device, const Tensor& input, int attribute, int& builds) {
    detail::ProgramKey key("test_op");
    key.add(attribute).add(input);
    return device.impl()->program<CountingProgram>(key, [&] {
        ++builds;
        return std::make_shared<CountingProgram>();
    });
}

TEST(ProgramCache, StartsDisabledAndEmpty) {
    OpenDevice open;
    EXPECT_FALSE(open.device.program_cache_enabled());
    EXPECT_EQ(open.device.num_program_cache_entries(), 0u);
    int builds = 0;
    Tensor t = small_tensor(open.device);
    run_op(open.device, t, 1, builds);
    run_op(open.device, t, 1, builds);
    EXPECT_EQ(builds, 2);  // disabled: every call builds
    EXPECT_EQ(open.device.num_program_cache_entries(), 0u);
}

TEST(ProgramCache, HitsReuseTheBuiltProgram) {
    OpenDevice open;
    enable_program_cache(open.device);
    EXPECT_TRUE(open.device.program_cache_enabled());
    int builds = 0;
    Tensor t = small_tensor(open.device);
    auto first = run_op(open.device, t, 1, builds);
    auto second = run_op(open.device, t, 1, builds);
    EXPECT_EQ(first, second);
    EXPECT_EQ(builds, 1);
    EXPECT_EQ(open.device.num_program_cache_entries(), 1u);
    EXPECT_EQ(open.device.program_cache_hits(), 1u);
    EXPECT_EQ(open.device.program_cache_misses(), 1u);
}

// The key covers the op's attributes and the inputs' shape, dtype, layout and memory config,
// never the buffer: a new tensor of the same spec hits.
TEST(ProgramCache, KeyCoversSpecsNotBuffers) {
    OpenDevice open;
    open.device.enable_program_cache();
    int builds = 0;
    Device& d = open.device;
    std::vector<float> data(6, 1.0f);
    run_op(d, small_tensor(d), 1, builds);
    run_op(d, small_tensor(d), 1, builds);                // other buffer, same spec: hit
    run_op(d, small_tensor(d), 2, builds);                // other attribute
    run_op(d, small_tensor(d, Layout::TILE), 1, builds);  // other layout
    run_op(d, to_layout(small_tensor(d, Layout::TILE), Layout::TILE, {.dtype = DataType::BFLOAT16}), 1,
           builds);                                                                             // other dtype
    run_op(d, from_host(std::span<const float>(data), Shape{2, 3}, {.device = d}), 1, builds);  // other shape
    run_op(d, to_device(from_device(small_tensor(d)), d, L1_MEMORY_CONFIG), 1,
           builds);  // other memory config
    EXPECT_EQ(builds, 6);
    EXPECT_EQ(d.num_program_cache_entries(), 6u);
    EXPECT_EQ(d.program_cache_hits(), 1u);
    EXPECT_EQ(d.program_cache_misses(), 6u);
}

TEST(ProgramCache, DisableClearsEntries) {
    OpenDevice open;
    open.device.enable_program_cache();
    int builds = 0;
    run_op(open.device, small_tensor(open.device), 1, builds);
    EXPECT_EQ(open.device.num_program_cache_entries(), 1u);
    disable_and_clear_program_cache(open.device);
    EXPECT_FALSE(open.device.program_cache_enabled());
    EXPECT_EQ(open.device.num_program_cache_entries(), 0u);
    open.device.enable_program_cache();
    run_op(open.device, small_tensor(open.device), 1, builds);
    EXPECT_EQ(builds, 2);  // cleared: built again
}

TEST(ProgramCache, ClosingTheDeviceDropsTheCache) {
    Device d = open_device(0);
    d.enable_program_cache();
    int builds = 0;
    run_op(d, small_tensor(d), 1, builds);
    close_device(d);
    expect_error([&] { d.num_program_cache_entries(); }, {"closed"});
    OpenDevice reopened;
    EXPECT_FALSE(reopened.device.program_cache_enabled());
    EXPECT_EQ(reopened.device.num_program_cache_entries(), 0u);
}

}  // namespace
}  // namespace attnn
