// Opening and closing device 0 and its program cache. This binary has no shared test device
// (attnn_tests holds device 0 open for its whole run), so every test opens the device it
// needs and closes it before it ends.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <fstream>
#include <functional>
#include <mutex>
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
        // 0 (the default): one per CPU this process may run on (taskset, a cpuset), not per CPU
        // of the machine.
        OpenDevice open;
        cpu_set_t set;
        ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
        EXPECT_EQ(open.device.num_workers(), CPU_COUNT(&set));
    }
}

// In a child process: an address-space limit too small for 4096 thread stacks, then a device
// with 4096 workers. Exits 0 when open_device fails with its own error.
[[noreturn]] void open_more_workers_than_fit() {
    long pages = 0;
    std::ifstream("/proc/self/statm") >> pages;  // the address space in use
    const rlim_t limit = rlim_t(pages) * rlim_t(sysconf(_SC_PAGESIZE)) + (rlim_t(256) << 20);
    const rlimit rl{limit, limit};
    if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(3);
    try {
        open_device(0, {.num_workers = 4096});  // 4096 stacks of 8 MiB: past the limit
        _exit(1);
    } catch (const Error& e) {
        const std::string msg = e.what();
        const bool named =
            msg.find("open_device") != std::string::npos && msg.find("worker threads") != std::string::npos;
        _exit(named ? 0 : 2);
    }
}

// The system refusing threads is an error of open_device, with the threads already started
// stopped, not std::terminate.
TEST(DeviceLifecycle, WorkersTheSystemCannotStartAreAnError) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "AddressSanitizer reserves more address space than the limit allows";
#else
    EXPECT_EXIT(open_more_workers_than_fit(), ::testing::ExitedWithCode(0), "");
#endif
}

// An op that passed its checks while another thread closed the device finds it closed once it
// holds the op lock: an error, not a run on the workers close_device stopped. Holding the lock
// here makes the interleaving certain (close_device takes it again on this thread).
TEST(DeviceLifecycle, ClosingWhileAnOpWaitsFailsTheOp) {
    // Each op gets a [2, 2] tensor and the same values as a [1, 1, 2, 2] one.
    using Op = std::function<void(const Tensor&, const Tensor&, Device&)>;
    const std::vector<std::pair<const char*, Op>> ops = {
        {"softmax", [](const Tensor& t, const Tensor&, Device&) { softmax(t); }},
        {"scaled_dot_product_attention",
         [](const Tensor&, const Tensor& q, Device&) { transformer::scaled_dot_product_attention(q, q, q); }},
        {"from_host", [](const Tensor&, const Tensor&, Device& d) { small_tensor(d); }},
        {"to_host", [](const Tensor& t, const Tensor&, Device&) { to_host<float>(t); }},
    };
    for (const auto& [name, op] : ops) {
        SCOPED_TRACE(name);
        OpenDevice open;
        Tensor t = small_tensor(open.device, Layout::TILE), q = reshape(t, Shape{1, 1, 2, 2});
        std::unique_lock held(open.device.impl()->op_mutex);
        std::atomic<bool> started{false};
        std::exception_ptr error;
        std::thread runner([&] {
            started = true;
            try {
                op(t, q, open.device);
            } catch (...) {
                error = std::current_exception();
            }
        });
        while (!started) std::this_thread::yield();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // at the lock, or not yet there
        close_device(open.device);
        held.unlock();
        runner.join();
        ASSERT_TRUE(error) << name << " ran on a closed device";
        expect_error([&] { std::rethrow_exception(error); }, {name, "closed"});
    }
}

// deallocate waits for an op running on another thread (here: this thread holds the op lock, as
// a running op would), and an op that was waiting finds its input deallocated: an error, where it
// used to read freed storage.
TEST(DeviceLifecycle, DeallocateWaitsForARunningOp) {
    OpenDevice open;
    Tensor t = small_tensor(open.device, Layout::TILE), copy = t;
    std::unique_lock held(open.device.impl()->op_mutex);
    std::atomic<bool> freed{false};
    std::thread freer([&] {
        deallocate(copy);
        freed = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(freed) << "deallocate ran beside an op";
    held.unlock();
    freer.join();
    EXPECT_TRUE(freed);

    Tensor u = small_tensor(open.device, Layout::TILE), u_copy = u;
    held.lock();
    std::exception_ptr error;
    std::atomic<bool> started{false};
    std::thread runner([&] {
        started = true;
        try {
            softmax(u);
        } catch (...) {
            error = std::current_exception();
        }
    });
    while (!started) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // at the lock, or not yet there
    deallocate(u_copy);
    held.unlock();
    runner.join();
    ASSERT_TRUE(error) << "softmax read a deallocated tensor";
    expect_error([&] { std::rethrow_exception(error); }, {"softmax", "deallocated"});
}

// A forked child has none of its parent's worker threads: the parent's device refuses ops there
// (an error, where the first op used to wait forever for the missing workers) and the child
// opens a device of its own; closing the parent's handle there joins nothing.
TEST(DeviceLifecycle, AForkedChildOpensItsOwnDevice) {
    OpenDevice open;
    Tensor t = small_tensor(open.device, Layout::TILE);
    softmax(t);
    // Another thread holds the op lock at the fork, as a running op would: the child inherits it
    // held by a thread it lacks, so nothing there may wait for it.
    std::mutex gate;
    std::unique_lock closed_gate(gate);
    std::atomic<bool> holding{false};
    std::thread op_thread([&] {
        std::lock_guard op_lock(open.device.impl()->op_mutex);
        holding = true;
        std::lock_guard wait(gate);
    });
    while (!holding) std::this_thread::yield();
    const pid_t pid = fork();
    if (pid != 0) {
        closed_gate.unlock();
        op_thread.join();
    }
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        alarm(30);  // a hang fails the test rather than the run
        int code = 0;
        try {
            softmax(t);
            code = 1;
        } catch (const Error& e) {
            if (std::string(e.what()).find("fork") == std::string::npos) code = 2;
        }
        if (open.device.is_open()) code = 3;
        try {
            Device own = open_device(0, {.num_workers = 2});
            softmax(small_tensor(own, Layout::TILE));
            close_device(own);
            close_device(open.device);
        } catch (...) {
            code = 4;
        }
        _exit(code);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "the child was killed by signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_TRUE(open.device.is_open());
    EXPECT_NO_THROW(softmax(t));  // the parent's device is untouched
}

// A fork while another thread opens and closes devices: the child can open its own (it used to
// inherit the device registry's lock held by a thread it lacks, and hang).
TEST(DeviceLifecycle, AForkBesideOpenAndCloseDoesNotHangTheChild) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // GCC 12's sanitizer runtimes keep a thread registry that a fork does not wait for: a worker
    // thread exiting on the other thread at the fork leaves its lock held in the child, whose next
    // thread then waits forever (seen once in 100 forks under ASan). Not attnn's lock to take.
    GTEST_SKIP() << "the sanitizer's thread registry is not fork-safe beside threads starting and exiting";
#endif
    std::atomic<bool> stop{false};
    std::thread cycler([&] {
        while (!stop) {
            try {
                Device d = open_device(0, {.num_workers = 2});
                close_device(d);
            } catch (const Error&) {  // the child's device, or none: only the timing matters here
            }
        }
    });
    int hung = 0, failed = 0;
    for (int i = 0; i < 100; ++i) {
        const pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            alarm(10);
            int code = 0;
            try {
                Device own = open_device(0, {.num_workers = 2});
                close_device(own);
            } catch (...) {
                code = 1;
            }
            _exit(code);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (WIFSIGNALED(status))
            ++hung;
        else if (WEXITSTATUS(status) != 0)
            ++failed;
    }
    stop = true;
    cycler.join();
    EXPECT_EQ(hung, 0) << "children killed by their 10 s alarm";
    EXPECT_EQ(failed, 0);
}

// Resident-set high-water mark in bytes (resettable through /proc/self/clear_refs).
int64_t peak_rss_bytes() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
    return 0;
}

// An op's scratch follows the work there is, not the pool: softmax over a long dim 0 with 16
// columns is one unit of work, and gave each of the 16 workers a dim-long slab (67 MB here,
// gigabytes on a large server); now one slab (4 MB).
TEST(WorkerScratch, FollowsTheWorkNotThePool) {
    OpenDevice open({.num_workers = 16});
    const uint32_t n = 65536;
    std::vector<float> data(std::size_t(n) * 16);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = float(i % 97) / 97.0f;
    Tensor x = from_host(std::span<const float>(data), Shape{n, 16}, {.device = open.device});
    std::ofstream("/proc/self/clear_refs") << "5";
    const int64_t before = peak_rss_bytes();
    Tensor y = softmax(x, 0);
    const int64_t grown = peak_rss_bytes() - before;
    EXPECT_LT(grown, int64_t(32) << 20)
        << "softmax over dim 0 of [65536, 16] took " << (grown >> 20) << " MiB";
    const std::vector<float> out = to_host<float>(y);
    double column_sum = 0;
    for (uint32_t r = 0; r < n; ++r) column_sum += out[std::size_t(r) * 16 + 3];
    EXPECT_NEAR(column_sum, 1.0, 1e-3);
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

// The cache's accessors hold the op lock, as ops do when they look programs up and insert them:
// a clear never runs beside an insert. Here the reader waits until this thread lets go.
TEST(ProgramCache, AccessorsWaitForTheOpLock) {
    OpenDevice open;
    std::unique_lock held(open.device.impl()->op_mutex);
    std::atomic<bool> done{false};
    std::thread reader([&] {
        open.device.disable_and_clear_program_cache();
        done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(done);
    held.unlock();
    reader.join();
    EXPECT_TRUE(done);
}

// A program whose working memory cannot be allocated fails its op with attnn::Error (the only
// exception the API throws), naming the op.
TEST(ProgramCache, AProgramThatCannotAllocateIsAnError) {
    OpenDevice open;
    detail::DeviceImpl& impl = *open.device.impl();
    auto lock = impl.lock("test_op");
    EXPECT_EQ(detail::ProgramKey("test_op").add(3).op(), "test_op");
    expect_error(
        [&] {
            impl.program<CountingProgram>(
                detail::ProgramKey("test_op"),
                []() -> std::shared_ptr<CountingProgram> { throw std::bad_alloc(); });
        },
        {"test_op", "cannot allocate"});
    expect_error(
        [&] {
            impl.program<CountingProgram>(detail::ProgramKey("test_op"), [] {
                std::vector<float> scratch;
                scratch.resize(scratch.max_size() + 1);  // std::length_error
                return std::make_shared<CountingProgram>();
            });
        },
        {"test_op", "cannot allocate"});
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
