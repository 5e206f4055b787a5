// The device as the rest of the test binary shares it, and the worker pool behind it. Opening,
// closing and the program cache need a device no other test holds: those tests live in
// tests/device_lifecycle, a binary of their own.
#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/device_impl.hpp"
#include "core/worker_pool.hpp"
#include "test_util.hpp"

namespace attnn {
namespace {

using detail::WorkerPool;
using testing::expect_error;
using testing::test_device;

TEST(Device, SharedTestDeviceIsOpenAsDeviceZero) {
    Device& d = test_device();
    EXPECT_TRUE(d.is_open());
    EXPECT_EQ(d.id(), 0);
    EXPECT_GE(d.num_workers(), 1);
    EXPECT_EQ(d.compute_with_storage_grid_size().y, 1u);
    EXPECT_EQ(d.compute_with_storage_grid_size().x, uint32_t(d.num_workers()));
    EXPECT_EQ(d.isa(), kernels::isa_name(kernels::best_isa()));
}

TEST(Device, CopiesOfAHandleAreTheSameDevice) {
    Device copy = test_device();
    EXPECT_EQ(copy, test_device());
    EXPECT_NE(Device(), test_device());
}

TEST(Device, OpeningAnOpenDeviceThrows) {
    test_device();
    expect_error([] { open_device(0); }, {"open_device", "already open"});
}

TEST(Device, OnlyDeviceZeroExists) {
    EXPECT_EQ(get_num_devices(), 1);
    expect_error([] { open_device(1); }, {"open_device", "device_id=1", "[0, 1)"});
    expect_error([] { open_device(-1); }, {"open_device", "device_id=-1"});
}

TEST(Device, NegativeWorkerCountIsRejected) {
    expect_error([] { open_device(0, {.num_workers = -2}); }, {"open_device", "num_workers=-2"});
}

TEST(Device, EmptyHandleIsRejected) {
    Device none;
    EXPECT_FALSE(none.is_open());
    expect_error([&] { none.id(); }, {"empty"});
    expect_error([&] { close_device(none); }, {"close_device", "empty"});
}

// ---- worker pool ------------------------------------------------------------------------------

TEST(WorkerPool, SizeIsAtLeastOne) {
    EXPECT_EQ(WorkerPool(3).size(), 3);
    EXPECT_EQ(WorkerPool(0).size(), 1);
}

TEST(WorkerPool, EveryTaskRunsExactlyOnce) {
    WorkerPool pool(4);
    constexpr int64_t tasks = 100000;
    std::vector<std::atomic<int>> runs(tasks);
    for (int round = 0; round < 20; ++round) {
        for (auto& r : runs) r.store(0);
        pool.parallel_for(tasks, [&](int64_t t, int) { runs[t].fetch_add(1); });
        for (int64_t t = 0; t < tasks; ++t)
            ASSERT_EQ(runs[t].load(), 1) << "task " << t << " round " << round;
    }
}

TEST(WorkerPool, ManySmallJobsInARow) {
    WorkerPool pool(4);
    std::atomic<int64_t> sum{0};
    for (int job = 0; job < 2000; ++job) pool.parallel_for(7, [&](int64_t t, int) { sum += t; });
    EXPECT_EQ(sum.load(), 2000 * 21);
}

TEST(WorkerPool, WorkerIndicesStayBelowMaxWorkers) {
    WorkerPool pool(4);
    std::atomic<int> max_seen{-1};
    pool.parallel_for(
        10000,
        [&](int64_t, int worker) {
            int seen = max_seen.load();
            while (worker > seen && !max_seen.compare_exchange_weak(seen, worker)) {
            }
        },
        2);
    EXPECT_LE(max_seen.load(), 1);
    EXPECT_GE(max_seen.load(), 0);
}

TEST(WorkerPool, ZeroTasksRunNothing) {
    WorkerPool pool(2);
    bool ran = false;
    pool.parallel_for(0, [&](int64_t, int) { ran = true; });
    EXPECT_FALSE(ran);
}

TEST(WorkerPool, ATaskExceptionReachesTheCallerAndThePoolKeepsWorking) {
    WorkerPool pool(4);
    EXPECT_THROW(pool.parallel_for(1000,
                                   [](int64_t t, int) {
                                       if (t == 537) throw std::runtime_error("task 537 failed");
                                   }),
                 std::runtime_error);
    std::atomic<int> count{0};
    pool.parallel_for(1000, [&](int64_t, int) { ++count; });
    EXPECT_EQ(count.load(), 1000);
}

TEST(WorkerPool, ExceptionMessageIsTheTasks) {
    WorkerPool pool(3);
    try {
        pool.parallel_for(100, [](int64_t t, int) {
            if (t == 99) throw Error(ErrorKind::InvalidArgument, "op: bad task 99");
        });
        ADD_FAILURE() << "expected attnn::Error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "op: bad task 99");
        EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    }
}

// A parallel_for inside a task runs on that task's thread, so ops may call ops without
// deadlocking on a pool whose workers are all busy.
TEST(WorkerPool, NestedParallelForRunsInline) {
    WorkerPool pool(4);
    std::atomic<int> inner_runs{0}, off_thread{0};
    pool.parallel_for(64, [&](int64_t, int) {
        const auto outer_thread = std::this_thread::get_id();
        pool.parallel_for(16, [&](int64_t, int worker) {
            ++inner_runs;
            if (std::this_thread::get_id() != outer_thread || worker != 0) ++off_thread;
        });
    });
    EXPECT_EQ(inner_runs.load(), 64 * 16);
    EXPECT_EQ(off_thread.load(), 0);
}

TEST(WorkerPool, SharedDevicePoolRunsTasks) {
    auto& pool = *test_device().impl()->pool;
    std::vector<std::atomic<int>> runs(5000);
    pool.parallel_for(5000, [&](int64_t t, int) { runs[t].fetch_add(1); });
    for (auto& r : runs) ASSERT_EQ(r.load(), 1);
}

}  // namespace
}  // namespace attnn
