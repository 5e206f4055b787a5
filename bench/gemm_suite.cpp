#include "gemm_suite.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <thread>

#include "attnn/error.hpp"
#include "ops/matmul/gemm.hpp"

namespace attnn::bench {

std::string GemmCase::shape_name() const {
    return std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
}

std::string GemmCase::dtype_name() const {
    switch (weight_dtype) {
        case DataType::FLOAT32:
            return "float32";
        case DataType::BFLOAT16:
            return "bfloat16";
        case DataType::BFLOAT8_B:
            return "bfloat8_b";
        case DataType::BFLOAT4_B:
            return "bfloat4_b";
        default:
            return to_string(weight_dtype);
    }
}

std::vector<GemmCase> gemm_cases(const std::vector<std::array<int64_t, 3>>& shapes,
                                 const std::vector<DataType>& weight_dtypes) {
    std::vector<GemmCase> cases;
    for (const auto& [m, n, k] : shapes) {
        for (DataType dtype : weight_dtypes)
            if (dtype == DataType::FLOAT32) cases.push_back({m, n, k, dtype, false});
        for (DataType dtype : weight_dtypes) cases.push_back({m, n, k, dtype, true});
    }
    return cases;
}

std::vector<std::array<int64_t, 3>> default_gemm_shapes() {
    return {{2048, 2048, 2048}, {1024, 6144, 2048}, {1, 6144, 4096}};
}

double GemmCase::weight_bytes() const {
    const double tiles = double((k + 31) / 32) * double((n + 31) / 32);
    return tiles * double(tile_size_bytes(linear ? weight_dtype : DataType::FLOAT32));
}

std::vector<DataType> default_weight_dtypes() {
    return {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B};
}

DataType parse_weight_dtype(const std::string& name) {
    std::string s = name;
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (s == "float32" || s == "fp32" || s == "f32") return DataType::FLOAT32;
    if (s == "bfloat16" || s == "bf16") return DataType::BFLOAT16;
    if (s == "bfloat8_b" || s == "bfp8" || s == "bfp8_b") return DataType::BFLOAT8_B;
    if (s == "bfloat4_b" || s == "bfp4" || s == "bfp4_b") return DataType::BFLOAT4_B;
    detail::fail(ErrorKind::InvalidArgument, "bench gemm", "weight dtype '", name,
                 "' is not one of float32, bfloat16, bfloat8_b, bfloat4_b");
}

AttnnGemm::AttnnGemm(Device& device, const GemmCase& gemm, OnednnSgemm& baseline) : gemm_(gemm) {
    const uint32_t m = uint32_t(gemm.m), n = uint32_t(gemm.n), k = uint32_t(gemm.k);
    // A GEMV's rows are a decode step's activations, BFLOAT16 in TT-NN's models; the baseline
    // computes on the same (rounded) values, as on the weights below.
    const bool gemv = gemm.m <= detail::gemv_max_rows;
    a_ = from_host(std::span<const float>(baseline.a()), Shape{m, k},
                   {.dtype = gemv ? DataType::BFLOAT16 : DataType::FLOAT32, .layout = Layout::TILE, .device = device});
    if (gemv) baseline.a() = to_host<float>(a_);
    const Shape b_shape = gemm.linear ? Shape{n, k} : Shape{k, n};
    bs_.push_back(from_host(std::span<const float>(baseline.b()), b_shape,
                            {.dtype = gemm.weight_dtype, .layout = Layout::TILE,
                             .device = device}));
    // The baseline computes on the weights as attnn stores them.
    baseline.b() = to_host<float>(bs_[0]);
    if (gemv)
        for (int i = 1, copies = gemv_weight_copies(gemm); i < copies; ++i) bs_.push_back(clone(bs_[0]));
}

int gemv_weight_copies(const GemmCase& gemm) {
    if (gemm.m > detail::gemv_max_rows) return 1;
    const double l3 = double(std::max<int64_t>(read_cpu_info().l3_bytes, int64_t(32) << 20));
    // One more than fills twice the L3 (a copy is at least one 512-byte tile: at most 2^18 here).
    return int(std::min(double(1 << 18), std::floor(2.0 * l3 / gemm.weight_bytes()) + 1));
}

double footprint_bytes(const GemmCase& gemm, int64_t stream_bytes) {
    const double m = double(gemm.m), n = double(gemm.n), k = double(gemm.k);
    const double tiles_a = std::ceil(m / 32) * std::ceil(k / 32),
                 tiles_c = std::ceil(m / 32) * std::ceil(n / 32);
    const bool gemv = gemm.m <= detail::gemv_max_rows;
    double bytes = 4 * (m * k + k * n + m * n);  // oneDNN's A, B, C
    bytes += tiles_a * double(tile_size_bytes(gemv ? DataType::BFLOAT16 : DataType::FLOAT32));  // attnn's A
    bytes += gemm.weight_bytes() * double(gemv_weight_copies(gemm));    // B and its copies
    bytes += 2 * tiles_c * double(tile_size_bytes(DataType::FLOAT32));  // C, and the one being made
    bytes += 4 * std::max(k * n, m * n);                                // B or C read back in fp32
    if (gemv) bytes += double(stream_bytes);
    return bytes;
}

void require_fits(const std::vector<GemmCase>& cases, int64_t stream_bytes, int64_t available) {
    if (available <= 0) return;
    for (const GemmCase& gemm : cases) {
        const double need = footprint_bytes(gemm, stream_bytes);
        if (need > 0.9 * double(available))
            detail::fail(ErrorKind::InvalidArgument, "bench gemm", gemm.op_name(), " ", gemm.shape_name(),
                         " ", gemm.dtype_name(), " needs about ",
                         format_number(need / double(int64_t(1) << 30), 1),
                         " GiB of memory (oneDNN's and attnn's operands, fp32 copies to compare them); ",
                         format_number(double(available) / double(int64_t(1) << 30), 1),
                         " GiB is available. Ask for a smaller --shape");
    }
}

void AttnnGemm::run() {
    last_ = next_;
    next_ = (next_ + 1) % bs_.size();
    const Tensor& b = bs_[last_];
    // fp32 outputs (as the baseline's): the error column then measures the arithmetic alone.
    c_ = gemm_.linear ? linear(a_, b, {.transpose_b = true, .dtype = DataType::FLOAT32})
                      : matmul(a_, b, {.dtype = DataType::FLOAT32});
}

std::vector<float> AttnnGemm::output() const { return to_host<float>(c_); }

GemmResult run_gemm_case(Device& device, const MachineLimits& limits, const GemmCase& gemm, int repeat) {
    GemmResult result;
    result.gemm = gemm;
    // A case with few rows is bound by reading B: its bandwidth is probed just before and just
    // after it (the better of the two counts), as this machine's moves from minute to minute.
    const bool few_rows = gemm.m <= detail::gemv_max_rows;
    const double stream_before = few_rows ? measure_stream_gbps(device, limits.stream_bytes, 1).median : 0;
    OnednnSgemm baseline(gemm.m, gemm.n, gemm.k, gemm.linear, device.num_workers());
    AttnnGemm ours(device, gemm, baseline);
    // Alternated in short runs (up to 3 calls of one side, then of the other), so both sides
    // see the same load on a shared machine, each run starting after a pause and a warm-up call.
    // The pause matters on a machine with as many cores as workers: after a call, oneDNN's
    // OpenMP threads spin-wait before they sleep, and a call of the other side that starts at
    // once shares its cores with them (measured here: attnn 184 -> 196 GFLOP/s at 2048^3).
    auto settle = [] { std::this_thread::sleep_for(std::chrono::milliseconds(50)); };
    std::vector<double> onednn_samples, attnn_samples;
    for (int done = 0; done < repeat;) {
        const int n = std::min(3, repeat - done);
        settle();
        baseline.run();
        for (int r = 0; r < n; ++r) onednn_samples.push_back(time_it([&] { baseline.run(); }, 0, 1).median);
        settle();
        ours.run();
        for (int r = 0; r < n; ++r) attnn_samples.push_back(time_it([&] { ours.run(); }, 0, 1).median);
        done += n;
    }
    result.onednn_seconds = summarize(onednn_samples);
    result.attnn_seconds = summarize(attnn_samples);
    result.onednn_gflops = rate(gemm.flops() * 1e-9, result.onednn_seconds);
    result.attnn_gflops = rate(gemm.flops() * 1e-9, result.attnn_seconds);
    result.attnn_of_peak = result.attnn_gflops.median / limits.peak_gflops.median;
    result.onednn_of_peak = result.onednn_gflops.median / limits.peak_gflops.median;
    result.ratio = result.attnn_gflops.median / result.onednn_gflops.median;
    result.weight_gbps = gemm.weight_bytes() / result.attnn_seconds.median * 1e-9;
    result.stream_gbps =
        few_rows ? std::max(stream_before, measure_stream_gbps(device, limits.stream_bytes, 1).median)
                 : limits.stream_gbps.median;
    result.weight_of_stream = result.weight_gbps / result.stream_gbps;

    const std::vector<float> c = ours.output();
    const std::vector<float>& expected = baseline.c();
    double max_diff = 0, max_ref = 0;
    for (std::size_t i = 0; i < c.size(); ++i) {
        max_diff = std::max(max_diff, std::abs(double(c[i]) - double(expected[i])));
        max_ref = std::max(max_ref, std::abs(double(expected[i])));
    }
    result.max_rel_error = max_ref > 0 ? max_diff / max_ref : max_diff;
    return result;
}

std::vector<GemmResult> run_gemm_suite(Device& device, const MachineLimits& limits,
                                       const GemmSuiteOptions& options) {
    std::vector<GemmResult> results;
    for (std::size_t i = 0; i < options.cases.size(); ++i) {
        const GemmCase& gemm = options.cases[i];
        if (options.progress)
            options.progress("gemm " + std::to_string(i + 1) + "/" + std::to_string(options.cases.size()) +
                             ": " + gemm.op_name() + " " + gemm.shape_name() + " " + gemm.dtype_name() +
                             " weights");
        results.push_back(run_gemm_case(device, limits, gemm, options.repeat));
    }
    return results;
}

}  // namespace attnn::bench
