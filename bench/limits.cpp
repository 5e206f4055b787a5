#include "limits.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "attnn/error.hpp"
#include "core/device_impl.hpp"
#include "probe_kernels.hpp"

namespace attnn::bench {

// ---- timing -------------------------------------------------------------------------------

Stats summarize(std::vector<double> samples) {
    if (samples.empty()) detail::fail(ErrorKind::InvalidArgument, "summarize", "no samples to summarize");
    std::sort(samples.begin(), samples.end());
    const std::size_t n = samples.size();
    Stats s;
    s.min = samples.front();
    s.max = samples.back();
    s.median = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
    s.repeats = int(n);
    return s;
}

Rate rate(double work, const Stats& seconds) {
    return {work / seconds.max, work / seconds.median, work / seconds.min};
}

// ---- tables -------------------------------------------------------------------------------

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::add_row(std::vector<std::string> cells) {
    cells.resize(headers_.size());
    rows_.push_back(std::move(cells));
}

namespace {
bool looks_numeric(const std::string& s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' || c == 'x' ||
              c == '%' || c == 'e'))
            return false;
    return std::isdigit(static_cast<unsigned char>(s.front())) || s.front() == '-' || s.front() == '+';
}
}  // namespace

void Table::print(std::ostream& os) const {
    std::vector<std::size_t> width(headers_.size());
    for (std::size_t c = 0; c < headers_.size(); ++c) {
        width[c] = headers_[c].size();
        for (const auto& row : rows_) width[c] = std::max(width[c], row[c].size());
    }
    auto print_row = [&](const std::vector<std::string>& cells, bool header) {
        for (std::size_t c = 0; c < cells.size(); ++c) {
            if (c) os << "  ";
            const bool right = !header && looks_numeric(cells[c]);
            os << (right ? std::right : std::left) << std::setw(int(width[c])) << cells[c];
        }
        os << std::left << '\n';
    };
    print_row(headers_, true);
    std::size_t total = 0;
    for (std::size_t w : width) total += w;
    os << std::string(total + 2 * (width.size() - 1), '-') << '\n';
    for (const auto& row : rows_) print_row(row, false);
}

std::string format_number(double value, int decimals) {
    std::ostringstream os;
    os << std::fixed << std::setprecision(decimals) << value;
    return os.str();
}

// ---- the machine --------------------------------------------------------------------------

namespace {
// "2048K" / "32M" / "2 MiB" as sysfs writes cache sizes -> bytes; 0 when unreadable.
int64_t read_cache_size(const std::string& path) {
    std::ifstream in(path);
    int64_t value = 0;
    std::string unit;
    if (!(in >> value)) return 0;
    in >> unit;
    if (!unit.empty() && (unit[0] == 'K' || unit[0] == 'k')) return value << 10;
    if (!unit.empty() && unit[0] == 'M') return value << 20;
    if (!unit.empty() && unit[0] == 'G') return value << 30;
    return value;
}

int read_int(const std::string& path) {
    std::ifstream in(path);
    int value = -1;
    in >> value;
    return value;
}
}  // namespace

CpuInfo read_cpu_info() {
    CpuInfo info;
    info.hardware_threads = int(std::thread::hardware_concurrency());
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
        if (line.rfind("model name", 0) == 0) {
            auto colon = line.find(':');
            if (colon != std::string::npos) info.model = line.substr(line.find_first_not_of(' ', colon + 1));
            break;
        }
    }
    // cpu0's caches by level; index numbering differs between CPUs, so read each level field.
    for (int index = 0; index < 8; ++index) {
        const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
        const int level = read_int(dir + "level");
        if (level < 0) break;
        if (level == 2) info.l2_bytes = read_cache_size(dir + "size");
        if (level == 3) info.l3_bytes = read_cache_size(dir + "size");
    }
    std::ifstream meminfo("/proc/meminfo");
    for (std::string key; meminfo >> key;) {
        int64_t kib = 0;
        meminfo >> kib;
        if (key == "MemAvailable:") {
            info.mem_available = kib << 10;
            break;
        }
        meminfo.ignore(1 << 10, '\n');
    }
    return info;
}

namespace {
detail::WorkerPool& pool_of(Device& device) {
    if (!device.is_open()) detail::fail(ErrorKind::Runtime, "measure_limits", "the device is not open");
    return *device.impl()->pool;
}

const ProbeKernels& widest_probes() { return probe_kernels(kernels::best_isa()); }

// Tasks per worker for the probes: more than one so a worker that wakes late does not leave
// the others idle at the end, few enough that dispatch costs nothing.
constexpr int tasks_per_worker = 4;
// Each peak task runs about this long, so one repetition takes tasks_per_worker x this.
constexpr double peak_task_seconds = 0.02;
// Streaming chunk: large enough that a task is mostly streaming, small enough to balance.
constexpr int64_t stream_chunk_bytes = 4 << 20;
}  // namespace

Rate measure_peak_gflops(Device& device, int repeat) {
    detail::WorkerPool& pool = pool_of(device);
    const ProbeKernels& probes = widest_probes();
    // Calibrate on one thread: how many steps make a task of about peak_task_seconds.
    int64_t steps = 1 << 16;
    for (;;) {
        auto start = std::chrono::steady_clock::now();
        probes.fma_chains(steps, 1.0f);
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (seconds > 0.005) {
            steps = std::max<int64_t>(1, int64_t(double(steps) * peak_task_seconds / seconds));
            break;
        }
        steps *= 4;
    }
    const int64_t tasks = int64_t(pool.size()) * tasks_per_worker;
    const double flops = probes.fma_chains(1, 1.0f) * double(steps) * double(tasks);
    Stats seconds = time_it(
        [&] {
            pool.parallel_for(tasks,
                              [&](int64_t task, int) { probes.fma_chains(steps, 1.0f + float(task)); });
        },
        1, repeat);
    Rate r = rate(flops, seconds);
    return {r.min * 1e-9, r.median * 1e-9, r.max * 1e-9};
}

Rate measure_stream_gbps(Device& device, int64_t bytes, int repeat) {
    detail::WorkerPool& pool = pool_of(device);
    const ProbeKernels& probes = widest_probes();
    constexpr int64_t page = 4096;
    bytes = bytes / page * page;
    if (bytes < stream_chunk_bytes)
        detail::fail(ErrorKind::InvalidArgument, "measure_stream_gbps", "bytes=", bytes, " must be at least ",
                     stream_chunk_bytes);
    auto free_buffer = [](float* p) { std::free(p); };
    std::unique_ptr<float, decltype(free_buffer)> buffer(static_cast<float*>(std::aligned_alloc(page, bytes)),
                                                         free_buffer);
    if (!buffer)
        detail::fail(ErrorKind::Runtime, "measure_stream_gbps", "cannot allocate ", bytes,
                     " bytes for the buffer");
    float* data = buffer.get();
    const int64_t floats = bytes / 4;
    const int64_t chunk = stream_chunk_bytes / 4;
    const int64_t chunks = (floats + chunk - 1) / chunk;
    // Written (not just allocated) so every page is real memory, touched first by the worker
    // that will mostly read it.
    pool.parallel_for(chunks, [&](int64_t c, int) {
        const int64_t end = std::min(floats, (c + 1) * chunk);
        for (int64_t i = c * chunk; i < end; ++i) data[i] = float(i & 1023) * 1e-3f;
    });
    std::vector<float> sinks(std::size_t(pool.size()), 0.0f);
    Stats seconds = time_it(
        [&] {
            pool.parallel_for(chunks, [&](int64_t c, int worker) {
                const int64_t begin = c * chunk;
                const int64_t n = std::min(floats, begin + chunk) - begin;
                sinks[std::size_t(worker)] += probes.stream_read(data + begin, n / 64 * 64);
            });
        },
        1, repeat);
    volatile float sink = 0;
    for (float s : sinks) sink = sink + s;
    Rate r = rate(double(bytes), seconds);
    return {r.min * 1e-9, r.median * 1e-9, r.max * 1e-9};
}

int64_t default_stream_bytes(const CpuInfo& cpu) {
    int64_t bytes = std::max<int64_t>(int64_t(1) << 30, 8 * cpu.l3_bytes);
    if (cpu.mem_available > 0) bytes = std::min(bytes, cpu.mem_available / 2);
    return std::max<int64_t>(bytes, stream_chunk_bytes);
}

MachineLimits measure_limits(Device& device, const LimitsOptions& options) {
    MachineLimits limits;
    limits.probe_isa = widest_probes().name;
    limits.workers = device.num_workers();
    limits.stream_bytes =
        options.stream_bytes > 0 ? options.stream_bytes : default_stream_bytes(read_cpu_info());
    if (options.progress)
        options.progress("measuring the FP32 peak (" + limits.probe_isa + ", " +
                         std::to_string(limits.workers) + " workers)");
    limits.peak_gflops = measure_peak_gflops(device, options.repeat);
    if (options.progress)
        options.progress("measuring streaming-read bandwidth (" + std::to_string(limits.stream_bytes >> 20) +
                         " MiB buffer)");
    limits.stream_gbps = measure_stream_gbps(device, limits.stream_bytes, options.repeat);
    return limits;
}

}  // namespace attnn::bench
