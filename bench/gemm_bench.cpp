// attnn_bench: attnn's GEMM against oneDNN's sgemm under Google Benchmark.
//
//   attnn_bench [--workers=N] [--stream_mib=N] [Google Benchmark flags]
//
// Before any benchmark runs it measures the FP32 peak and the streaming bandwidth on the same
// workers (printed as context), then for each shape and weight dtype runs oneDNN and attnn
// back to back. Counters: GFLOP/s, of_peak (fraction of the measured peak) and, for attnn,
// x_onednn (ratio to the oneDNN benchmark of the same shape run just before).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "gemm_suite.hpp"

namespace {

using attnn::bench::GemmCase;

// oneDNN's GFLOP/s in the latest run of each (M, N, K, transpose_b), for x_onednn.
std::map<std::tuple<int64_t, int64_t, int64_t, bool>, double> onednn_gflops_by_shape;

// Times the loop itself (the counters need the rate of this run, not an average over runs).
template <class F>
double run_timed(benchmark::State& state, F&& fn) {
    auto start = std::chrono::steady_clock::now();
    for (auto _ : state) fn();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return seconds / double(state.iterations());
}

void register_case(attnn::Device& device, const attnn::bench::MachineLimits& limits, const GemmCase& gemm) {
    const auto key = std::make_tuple(gemm.m, gemm.n, gemm.k, gemm.linear);
    // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on "/" + std::string.
    std::string suffix = "/";
    suffix += gemm.shape_name();
    suffix += gemm.linear ? "/NT" : "/NN";
    const double peak = limits.peak_gflops.median;
    const int threads = device.num_workers();
    if (!onednn_gflops_by_shape.count(key)) {
        onednn_gflops_by_shape[key] = 0;
        benchmark::RegisterBenchmark(
            ("onednn_sgemm" + suffix).c_str(),
            [=](benchmark::State& state) {
                attnn::bench::OnednnSgemm baseline(gemm.m, gemm.n, gemm.k, gemm.linear, threads);
                baseline.run();
                const double gflops = gemm.flops() * 1e-9 / run_timed(state, [&] { baseline.run(); });
                onednn_gflops_by_shape[key] = gflops;
                state.counters["GFLOP/s"] = gflops;
                state.counters["of_peak"] = gflops / peak;
            })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    }
    const std::string name = "attnn_" + gemm.op_name() + "_" + gemm.dtype_name() + suffix;
    benchmark::RegisterBenchmark(
        name.c_str(),
        [=, &device](benchmark::State& state) {
            attnn::bench::OnednnSgemm baseline(gemm.m, gemm.n, gemm.k, gemm.linear, threads);
            attnn::bench::AttnnGemm ours(device, gemm, baseline);
            ours.run();
            const double gflops = gemm.flops() * 1e-9 / run_timed(state, [&] { ours.run(); });
            state.counters["GFLOP/s"] = gflops;
            state.counters["of_peak"] = gflops / peak;
            if (double onednn = onednn_gflops_by_shape[key]; onednn > 0)
                state.counters["x_onednn"] = gflops / onednn;
        })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
}

// Removes "--name=value" from argv and returns value, or fallback when absent.
int take_int_flag(int& argc, char** argv, const char* name, int fallback) {
    const std::string prefix = std::string("--") + name + "=";
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) {
            char* end = nullptr;
            const long value = std::strtol(argv[i] + prefix.size(), &end, 10);
            if (*end != '\0' || value < 0) {
                std::cerr << "attnn_bench: " << argv[i] << ": expected a non-negative integer\n";
                std::exit(2);
            }
            for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
            --argc;
            return int(value);
        }
    }
    return fallback;
}

}  // namespace

int main(int argc, char** argv) {
    const int workers = take_int_flag(argc, argv, "workers", 0);
    const int stream_mib = take_int_flag(argc, argv, "stream_mib", 0);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    try {
        attnn::Device device = attnn::open_device(0, {.num_workers = workers});
        device.enable_program_cache();
        attnn::bench::LimitsOptions limits_options;
        limits_options.stream_bytes = int64_t(stream_mib) << 20;
        limits_options.progress = [](const std::string& line) {
            std::cerr << "[attnn_bench] " << line << '\n';
        };
        const attnn::bench::MachineLimits limits = attnn::bench::measure_limits(device, limits_options);
        benchmark::AddCustomContext("attnn_isa", device.isa());
        benchmark::AddCustomContext("attnn_workers", std::to_string(device.num_workers()));
        benchmark::AddCustomContext("onednn_version", attnn::bench::onednn_version());
        benchmark::AddCustomContext(
            "fp32_peak_gflops",
            attnn::bench::format_number(limits.peak_gflops.median, 1) + " (" + limits.probe_isa + ")");
        benchmark::AddCustomContext("stream_read_gbps",
                                    attnn::bench::format_number(limits.stream_gbps.median, 1));
        for (const GemmCase& gemm : attnn::bench::gemm_cases(attnn::bench::default_gemm_shapes(),
                                                             attnn::bench::default_weight_dtypes()))
            register_case(device, limits, gemm);
        benchmark::RunSpecifiedBenchmarks();
        benchmark::Shutdown();
        attnn::close_device(device);
    } catch (const std::exception& e) {
        std::cerr << "attnn_bench: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
