// The limits of the machine every benchmark measures before it measures anything else, and
// the small timing and table helpers the benchmarks share (see docs/performance.md: figures
// are reported as fractions of limits measured by the same binary in the same run).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "attnn/device.hpp"

namespace attnn::bench {

// ---- timing -------------------------------------------------------------------------------

// Seconds of a set of timed repetitions.
struct Stats {
    double min = 0;
    double median = 0;
    double max = 0;
    int repeats = 0;
};

// Summarizes samples (seconds); samples must not be empty.
Stats summarize(std::vector<double> samples);

// Runs fn `warmup` times untimed, then at least `repeat` times timed and for at least
// `min_seconds` in all (at most 1000 runs), and summarizes the times: on a shared machine a
// stall of a few milliseconds can cover all of a handful of short runs, not the median of
// many.
template <class F>
Stats time_it(F&& fn, int warmup, int repeat, double min_seconds = 0) {
    for (int i = 0; i < warmup; ++i) fn();
    std::vector<double> samples;
    samples.reserve(std::size_t(repeat));
    double total = 0;
    while (int(samples.size()) < repeat || (total < min_seconds && samples.size() < 1000)) {
        auto start = std::chrono::steady_clock::now();
        fn();
        samples.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        total += samples.back();
    }
    return summarize(std::move(samples));
}

// A rate derived from a Stats of seconds: work/median, and the best and worst rates
// (work/min is the max rate).
struct Rate {
    double min = 0;
    double median = 0;
    double max = 0;
};
Rate rate(double work, const Stats& seconds);

// ---- tables -------------------------------------------------------------------------------

// A plain-text table: a header row, a rule, then rows; columns padded to their widest cell,
// text left-aligned and numbers right-aligned.
class Table {
  public:
    explicit Table(std::vector<std::string> headers);
    void add_row(std::vector<std::string> cells);
    void print(std::ostream& os) const;

  private:
    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
};

// A number with `decimals` digits after the point: format_number(255.31, 1) == "255.3".
std::string format_number(double value, int decimals);

// ---- the machine --------------------------------------------------------------------------

// What the operating system says about the CPU; empty or zero where it cannot be read.
struct CpuInfo {
    std::string model;          // /proc/cpuinfo "model name"
    int64_t l2_bytes = 0;       // per core, from /sys/devices/system/cpu/cpu0/cache
    int64_t l3_bytes = 0;       // per L3 instance
    int64_t mem_available = 0;  // /proc/meminfo MemAvailable, bytes
    int hardware_threads = 0;
};
CpuInfo read_cpu_info();

struct LimitsOptions {
    // Bytes of the streaming-read buffer; 0: max(1 GiB, 8 x L3), capped at half the free memory.
    int64_t stream_bytes = 0;
    int repeat = 7;  // timed repetitions of each probe (the median is reported)
    // Progress lines ("measuring FP32 peak...") go here when set.
    std::function<void(const std::string&)> progress;
};

struct MachineLimits {
    std::string probe_isa;  // the ISA of the peak probe: the widest the CPU runs
    int workers = 0;
    Rate peak_gflops;  // FP32 multiply-add peak, all workers, GFLOP/s
    Rate stream_gbps;  // streaming read, all workers, GB/s (1e9 bytes/s)
    int64_t stream_bytes = 0;
};

// FP32 peak: independent multiply-add chains on every worker of the device's pool.
Rate measure_peak_gflops(Device& device, int repeat = 7);
// Streaming read of `bytes` (rounded down to whole 4 KiB pages) split over every worker.
Rate measure_stream_gbps(Device& device, int64_t bytes, int repeat = 7);
// The default streaming buffer size for this machine (see LimitsOptions::stream_bytes).
int64_t default_stream_bytes(const CpuInfo& cpu);
// Both probes, peak first.
MachineLimits measure_limits(Device& device, const LimitsOptions& options = {});

}  // namespace attnn::bench
