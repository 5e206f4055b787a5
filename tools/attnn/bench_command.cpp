// attnn bench gemm: attnn's matmul / linear side by side with oneDNN's sgemm, as fractions of
// the FP32 peak measured just before on the same workers.
#include <iostream>
#include <memory>
#include <sstream>

#include "attnn/error.hpp"
#include "command.hpp"
#include "gemm_suite.hpp"
#include "kernels/kernels.hpp"

namespace attnn::cli {
namespace {

struct BenchGemmOptions {
    int workers = 0;
    std::string json_path;
    std::vector<std::string> shapes;  // "MxNxK"
    std::vector<std::string> dtypes;  // weight dtypes
    int repeat = 5;
    int64_t stream_mib = 0;
};

std::array<int64_t, 3> parse_shape(const std::string& text) {
    std::array<int64_t, 3> mnk{};
    std::istringstream in(text);
    char x1 = 0, x2 = 0;
    if (!(in >> mnk[0] >> x1 >> mnk[1] >> x2 >> mnk[2]) || x1 != 'x' || x2 != 'x' || !in.eof() ||
        mnk[0] <= 0 || mnk[1] <= 0 || mnk[2] <= 0)
        detail::fail(ErrorKind::InvalidArgument, "bench gemm", "--shape '", text,
                     "' must be MxNxK with three positive integers, e.g. 2048x2048x2048");
    return mnk;
}

nlohmann::json to_json(const bench::GemmResult& r) {
    return {{"op", r.gemm.op_name()},
            {"m", r.gemm.m},
            {"n", r.gemm.n},
            {"k", r.gemm.k},
            {"weight_dtype", r.gemm.dtype_name()},
            {"transpose_b", r.gemm.linear},
            {"flops", r.gemm.flops()},
            {"attnn_seconds", cli::to_json(r.attnn_seconds)},
            {"onednn_seconds", cli::to_json(r.onednn_seconds)},
            {"attnn_gflops", cli::to_json(r.attnn_gflops)},
            {"onednn_gflops", cli::to_json(r.onednn_gflops)},
            {"attnn_of_peak", r.attnn_of_peak},
            {"onednn_of_peak", r.onednn_of_peak},
            {"ratio_to_onednn", r.ratio},
            {"max_rel_error", r.max_rel_error}};
}

int run_bench_gemm(const BenchGemmOptions& options) {
    check_writable(options.json_path);
    std::vector<std::array<int64_t, 3>> shapes;
    for (const std::string& s : options.shapes) shapes.push_back(parse_shape(s));
    if (shapes.empty()) shapes = bench::default_gemm_shapes();
    std::vector<DataType> dtypes;
    for (const std::string& d : options.dtypes) dtypes.push_back(bench::parse_weight_dtype(d));
    if (dtypes.empty()) dtypes = bench::default_weight_dtypes();

    Device device = open_device(0, {.num_workers = options.workers});
    device.enable_program_cache();
    bench::LimitsOptions limits_options;
    limits_options.stream_bytes = options.stream_mib << 20;
    limits_options.progress = progress;
    const bench::MachineLimits limits = bench::measure_limits(device, limits_options);

    bench::GemmSuiteOptions suite;
    suite.cases = bench::gemm_cases(shapes, dtypes);
    suite.repeat = options.repeat;
    suite.progress = progress;
    const std::vector<bench::GemmResult> results = bench::run_gemm_suite(device, limits, suite);

    std::cout << "GEMM, fp32 compute: attnn (" << kernels::table().name << ", " << device.num_workers()
              << " workers) vs oneDNN " << bench::onednn_version() << " sgemm on as many threads\n"
              << "measured FP32 peak " << bench::format_number(limits.peak_gflops.median, 1)
              << " GFLOP/s; medians of " << options.repeat << " runs\n\n";
    bench::Table table({"op", "M x N x K", "weights", "attnn GFLOP/s", "min-max", "of peak", "oneDNN GFLOP/s",
                        "of peak", "attnn/oneDNN", "max rel err"});
    for (const bench::GemmResult& r : results)
        table.add_row(
            {r.gemm.linear ? "linear w^T" : "matmul", r.gemm.shape_name(), r.gemm.dtype_name(),
             bench::format_number(r.attnn_gflops.median, 1),
             bench::format_number(r.attnn_gflops.min, 0) + "-" + bench::format_number(r.attnn_gflops.max, 0),
             bench::format_number(100 * r.attnn_of_peak, 1) + "%",
             bench::format_number(r.onednn_gflops.median, 1),
             bench::format_number(100 * r.onednn_of_peak, 1) + "%", bench::format_number(r.ratio, 2) + "x",
             [&] {
                 std::ostringstream os;
                 os.precision(2);
                 os << std::scientific << r.max_rel_error;
                 return os.str();
             }()});
    table.print(std::cout);

    if (!options.json_path.empty()) {
        nlohmann::json rows = nlohmann::json::array();
        for (const bench::GemmResult& r : results) rows.push_back(to_json(r));
        nlohmann::json json = {{"attnn_version", ATTNN_VERSION},
                               {"isa", kernels::table().name},
                               {"workers", device.num_workers()},
                               {"onednn_version", bench::onednn_version()},
                               {"repeat", options.repeat},
                               {"limits", cli::to_json(limits)},
                               {"results", rows}};
        write_json(options.json_path, json);
        progress("wrote " + options.json_path);
    }
    close_device(device);
    return 0;
}

Command setup_bench(CLI::App& root) {
    auto options = std::make_shared<BenchGemmOptions>();
    CLI::App* bench_app =
        root.add_subcommand("bench", "Benchmarks, as fractions of limits measured in the same run");
    bench_app->require_subcommand(1);
    CLI::App* app = bench_app->add_subcommand(
        "gemm", "attnn matmul/linear vs oneDNN sgemm, fp32 and with BFLOAT16 / BFLOAT8_B weights");
    add_workers_option(app, options->workers);
    app->add_option("--json", options->json_path, "Also write the results as JSON to this file");
    app->add_option("--shape", options->shapes,
                    "MxNxK, repeatable (default: 2048x2048x2048 and 1024x6144x2048)");
    app->add_option("--dtype", options->dtypes,
                    "Weight dtype, repeatable: float32, bfloat16, bfloat8_b, bfloat4_b "
                    "(default: float32 bfloat16 bfloat8_b)");
    app->add_option("--repeat", options->repeat, "Timed runs per case; the median is reported")
        ->check(CLI::Range(1, 1000));
    app->add_option("--stream-mib", options->stream_mib,
                    "Streaming-read probe buffer in MiB (default: see info)")
        ->check(CLI::Range(int64_t(4), int64_t(1) << 20));
    return {app, [options] { return run_bench_gemm(*options); }};
}

const CommandRegistration registration(1, setup_bench);

}  // namespace
}  // namespace attnn::cli
