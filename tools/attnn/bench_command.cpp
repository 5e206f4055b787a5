// attnn bench gemm: attnn's matmul / linear side by side with oneDNN's sgemm, as fractions of
// the FP32 peak measured just before on the same workers.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "attention_suite.hpp"
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
            {"weight_gbps", r.weight_gbps},
            {"stream_gbps", r.stream_gbps},
            {"weight_of_stream", r.weight_of_stream},
            {"onednn_of_peak", r.onednn_of_peak},
            {"ratio_to_onednn", r.ratio},
            {"max_rel_error", r.max_rel_error}};
}

int run_bench_gemm(const BenchGemmOptions& options) {
    std::vector<std::array<int64_t, 3>> shapes;
    for (const std::string& s : options.shapes) shapes.push_back(parse_shape(s));
    if (shapes.empty()) shapes = bench::default_gemm_shapes();
    std::vector<DataType> dtypes;
    for (const std::string& d : options.dtypes) dtypes.push_back(bench::parse_weight_dtype(d));
    if (dtypes.empty()) dtypes = bench::default_weight_dtypes();
    bench::GemmSuiteOptions suite;
    suite.cases = bench::gemm_cases(shapes, dtypes);
    const int64_t stream_bytes = options.stream_mib > 0 ? options.stream_mib << 20
                                                        : bench::default_stream_bytes(bench::read_cpu_info());
    bench::require_fits(suite.cases, stream_bytes, bench::read_cpu_info().mem_available);
    check_writable(options.json_path);  // after the options: a rejected command line leaves no file

    Device device = open_device(0, {.num_workers = options.workers});
    device.enable_program_cache();
    bench::LimitsOptions limits_options;
    limits_options.stream_bytes = stream_bytes;
    limits_options.progress = progress;
    const bench::MachineLimits limits = bench::measure_limits(device, limits_options);

    suite.repeat = options.repeat;
    suite.progress = progress;
    const std::vector<bench::GemmResult> results = bench::run_gemm_suite(device, limits, suite);

    std::cout << "GEMM, fp32 compute: attnn (" << kernels::table().name << ", " << device.num_workers()
              << " workers) vs oneDNN " << bench::onednn_version() << " sgemm on as many threads\n"
              << "measured FP32 peak " << bench::format_number(limits.peak_gflops.median, 1)
              << " GFLOP/s, stream " << bench::format_number(limits.stream_gbps.median, 1)
              << " GB/s; medians of " << options.repeat << " runs\n"
              << "(weights GB/s: B's stored bytes over attnn's time, what bounds a case with few rows; of stream:\n"
              << " over the stream bandwidth probed just before and after such a case, the better of the two)\n\n";
    bench::Table table({"op", "M x N x K", "weights", "attnn GFLOP/s", "min-max", "of peak", "weights GB/s",
                        "of stream", "oneDNN GFLOP/s", "of peak", "attnn/oneDNN", "max rel err"});
    for (const bench::GemmResult& r : results)
        table.add_row(
            {r.gemm.linear ? "linear w^T" : "matmul", r.gemm.shape_name(), r.gemm.dtype_name(),
             bench::format_number(r.attnn_gflops.median, 1),
             bench::format_number(r.attnn_gflops.min, 0) + "-" + bench::format_number(r.attnn_gflops.max, 0),
             bench::format_number(100 * r.attnn_of_peak, 1) + "%", bench::format_number(r.weight_gbps, 1),
             bench::format_number(100 * r.weight_of_stream, 1) + "%", bench::format_number(r.onednn_gflops.median, 1),
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

struct BenchAttentionOptions {
    int workers = 0;
    bool full = false;
    std::string json_path, svg_path = "attention.svg";
    std::vector<int64_t> seqs, head_dims, users, cache_lens;
    std::vector<std::string> dtypes;
    std::vector<std::string> kv_layouts;  // decode caches: "tile", "row_major"
    std::vector<std::string> math_fidelities;  // BFLOAT8_B decode: "hifi2", "hifi4"
    std::vector<int64_t> windows;  // sliding windows (0: none), each applied to every case that takes one
    std::string only;  // "prefill" or "decode"
    int repeat = 3;
    int64_t stream_mib = 0;
};

nlohmann::json to_json(const bench::PrefillResult& r) {
    nlohmann::json j = {{"batch", r.c.batch},
                        {"heads", r.c.heads},
                        {"seq", r.c.seq},
                        {"head_dim", r.c.head_dim},
                        {"causal", r.c.causal},
                        {"dtype", bench::dtype_name(r.c.dtype)},
                        {"window", r.c.window},
                        {"flops", r.c.flops()},
                        {"flash_seconds", cli::to_json(r.flash_seconds)},
                        {"flash_gflops", cli::to_json(r.flash_gflops)},
                        {"peak_gflops", r.peak_gflops},
                        {"flash_of_peak", r.flash_of_peak},
                        {"flash_peak_bytes", r.flash_peak_bytes}};
    if (r.naive_seconds) {
        j["naive_seconds"] = cli::to_json(*r.naive_seconds);
        j["naive_gflops"] = cli::to_json(*r.naive_gflops);
        j["naive_peak_bytes"] = r.naive_peak_bytes;
        j["speedup_over_naive"] = r.speedup;
        j["pcc_flash_vs_naive"] = r.pcc_vs_naive;
    }
    return j;
}

nlohmann::json to_json(const bench::DecodeResult& r) {
    return {{"users", r.c.users},
            {"cache_len", r.c.cache_len},
            {"q_heads", r.c.q_heads},
            {"kv_heads", r.c.kv_heads},
            {"head_dim", r.c.head_dim},
            {"paged", r.c.paged},
            {"block_size", r.c.block_size},
            {"cache_dtype", bench::dtype_name(r.c.cache_dtype)},
            {"math_fidelity", r.c.cache_dtype == DataType::BFLOAT8_B
                                  ? nlohmann::json("HiFi" + std::to_string(int(r.c.math_fidelity)))
                                  : nlohmann::json(nullptr)},
            {"kv_layout", r.c.layout == Layout::ROW_MAJOR ? "row_major" : "tile"},
            {"window", r.c.window},
            {"kv_bytes", r.c.kv_bytes()},
            {"seconds", cli::to_json(r.seconds)},
            {"tokens_per_second", r.tokens_per_second},
            {"kv_gbps", r.gbps},
            {"stream_gbps", r.stream_gbps},
            {"of_stream", r.of_stream},
            {"vs_bfloat16", r.vs_bfloat16 > 0 ? nlohmann::json(r.vs_bfloat16) : nlohmann::json(nullptr)}};
}

// Each value once, in the order first given: a value repeated on the command line would run its
// cases twice (and pair a BFLOAT16 case with its own copy).
template <class T>
std::vector<T> each_once(const std::vector<T>& values) {
    std::vector<T> out;
    for (const T& v : values)
        if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
    return out;
}

int run_bench_attention(const BenchAttentionOptions& given) {
    BenchAttentionOptions options = given;
    for (auto* values :
         {&options.seqs, &options.head_dims, &options.users, &options.cache_lens, &options.windows})
        *values = each_once(*values);
    for (auto* names : {&options.kv_layouts, &options.math_fidelities}) *names = each_once(*names);
    // An option of the part --only leaves out would be ignored without a word: refused instead.
    auto refuse_unused = [&](bool given_option, const char* option, const char* part) {
        if (given_option)
            detail::fail(ErrorKind::InvalidArgument, "bench attention", option, " chooses ", part,
                         " cases, which --only ", options.only, " leaves out");
    };
    if (options.only == "prefill") {
        refuse_unused(!options.users.empty(), "--users", "decode");
        refuse_unused(!options.cache_lens.empty(), "--cache-len", "decode");
        refuse_unused(!options.kv_layouts.empty(), "--kv-layout", "decode");
        refuse_unused(!options.math_fidelities.empty(), "--math-fidelity", "decode");
    } else if (options.only == "decode") {
        refuse_unused(!options.seqs.empty(), "--seq", "prefill");
        refuse_unused(!options.head_dims.empty(), "--head-dim", "prefill");
        refuse_unused(!options.dtypes.empty(), "--dtype", "prefill");
    }
    bench::AttentionSuiteOptions suite;
    suite.repeat = options.repeat;
    suite.progress = progress;
    if (options.only != "decode") {
        if (options.seqs.empty() && options.head_dims.empty() && options.dtypes.empty()) {
            suite.prefill = bench::default_prefill_cases(options.full);
        } else {
            // Every combination asked for, each axis left out taking the sweep's values: sequence
            // lengths, head dims 64 and 128, BFLOAT16; causal and not.
            std::vector<int64_t> seqs = options.seqs;
            if (seqs.empty())
                for (const bench::PrefillCase& c : bench::default_prefill_cases(options.full))
                    if (c.dtype == DataType::BFLOAT16 &&
                        std::find(seqs.begin(), seqs.end(), c.seq) == seqs.end())
                        seqs.push_back(c.seq);
            const std::vector<int64_t> head_dims =
                options.head_dims.empty() ? std::vector<int64_t>{64, 128} : options.head_dims;
            std::vector<DataType> dtypes;
            for (const std::string& name : options.dtypes) dtypes.push_back(bench::parse_weight_dtype(name));
            dtypes = each_once(dtypes);
            if (dtypes.empty()) dtypes = {DataType::BFLOAT16};
            for (DataType dt : dtypes)
                for (int64_t dh : head_dims)
                    for (bool causal : {false, true})
                        for (int64_t seq : seqs) suite.prefill.push_back({1, 8, seq, dh, causal, dt});
        }
    }
    if (options.only != "prefill") {
        if (options.users.empty() && options.cache_lens.empty()) {
            suite.decode = bench::default_decode_cases(options.full);
        } else {
            for (int64_t u : options.users.empty() ? std::vector<int64_t>{8} : options.users)
                for (int64_t len :
                     options.cache_lens.empty() ? std::vector<int64_t>{32768} : options.cache_lens)
                    for (DataType dt : {DataType::BFLOAT16, DataType::BFLOAT8_B})
                        for (bool paged : {false, true})
                            suite.decode.push_back({u, len, 32, 8, 128, paged, 64, dt});
        }
    }
    if (!options.kv_layouts.empty()) {  // each case in each layout asked for (block floats: TILE only)
        std::vector<bench::DecodeCase> cases;
        for (const std::string& name : options.kv_layouts)
            for (bench::DecodeCase c : suite.decode) {
                c.layout = name == "row_major" ? Layout::ROW_MAJOR : Layout::TILE;
                if (c.layout == Layout::TILE || !is_block_float(c.cache_dtype)) cases.push_back(c);
            }
        suite.decode = cases;
    }
    if (!options.math_fidelities.empty()) {  // each BFLOAT8_B case at each fidelity asked for
        std::vector<bench::DecodeCase> cases;
        for (const bench::DecodeCase& c : suite.decode) {
            if (c.cache_dtype != DataType::BFLOAT8_B) {
                cases.push_back(c);
                continue;
            }
            for (const std::string& name : options.math_fidelities) {
                bench::DecodeCase f = c;
                f.math_fidelity = name == "hifi4" ? MathFidelity::HiFi4 : MathFidelity::HiFi2;
                cases.push_back(f);
            }
        }
        suite.decode = cases;
    }
    if (!options.windows.empty()) {  // each case with each window asked for (prefill: causal cases only)
        std::vector<bench::PrefillCase> prefill;
        for (int64_t w : options.windows)
            for (bench::PrefillCase c : suite.prefill)
                if (w == 0 || c.causal) c.window = w, prefill.push_back(c);
        suite.prefill = prefill;
        std::vector<bench::DecodeCase> decode;
        for (int64_t w : options.windows)
            for (bench::DecodeCase c : suite.decode) c.window = w, decode.push_back(c);
        suite.decode = decode;
    }
    const bool windowed =
        std::any_of(options.windows.begin(), options.windows.end(), [](int64_t w) { return w > 0; });
    for (const auto& c : suite.decode)
        if (c.cache_len % c.block_size != 0)
            detail::fail(ErrorKind::InvalidArgument, "bench attention", "--cache-len ", c.cache_len,
                         " must be a multiple of the block size ", c.block_size);
    suite.stream_bytes = options.stream_mib > 0 ? options.stream_mib << 20
                                                : bench::default_stream_bytes(bench::read_cpu_info());
    bench::require_fits(suite, bench::available_memory_bytes());
    // Last of the checks: a rejected command line leaves no file behind.
    check_writable(options.json_path, "--json");
    check_writable(options.svg_path, "--svg");

    Device device = open_device(0, {.num_workers = options.workers});
    device.enable_program_cache();
    bench::LimitsOptions limits_options;
    limits_options.stream_bytes = suite.stream_bytes;  // the buffer require_fits counted
    limits_options.progress = progress;
    const bench::MachineLimits limits = bench::measure_limits(device, limits_options);
    const auto prefill = bench::run_prefill(device, suite);
    const auto decode = bench::run_decode(device, limits, suite);

    std::cout << "Attention on " << device.num_workers() << " workers (" << kernels::table().name
              << "): measured FP32 peak " << bench::format_number(limits.peak_gflops.median, 1)
              << " GFLOP/s, stream " << bench::format_number(limits.stream_gbps.median, 1) << " GB/s\n\n";
    if (!prefill.empty()) {
        std::cout
            << "Prefill, b=1 h=8 (causal counts half the FLOPs; peak: probed around each case): flash vs naive "
               "matmul-softmax-matmul\n";
        std::vector<std::string> head = {"seq",           "dh",        "causal",  "dtype",
                                         "flash GFLOP/s", "peak",      "of peak", "flash MiB",
                                         "naive GFLOP/s", "naive MiB", "speedup", "PCC"};
        if (windowed) head.insert(head.begin() + 3, "window");
        bench::Table table(head);
        for (const auto& r : prefill) {
            std::vector<std::string> row = {
                std::to_string(r.c.seq),
                std::to_string(r.c.head_dim),
                r.c.causal ? "yes" : "no",
                bench::dtype_name(r.c.dtype),
                bench::format_number(r.flash_gflops.median, 1),
                bench::format_number(r.peak_gflops, 1),
                bench::format_number(100 * r.flash_of_peak, 1) + "%",
                bench::format_number(double(r.flash_peak_bytes) / (1 << 20), 1),
                r.naive_gflops ? bench::format_number(r.naive_gflops->median, 1) : "skipped",
                r.naive_gflops ? bench::format_number(double(r.naive_peak_bytes) / (1 << 20), 1) : "-",
                r.naive_gflops ? bench::format_number(r.speedup, 1) + "x" : "-",
                r.naive_gflops ? bench::format_number(r.pcc_vs_naive, 5) : "-"};
            if (windowed) row.insert(row.begin() + 3, r.c.window ? std::to_string(r.c.window) : "-");
            table.add_row(row);
        }
        table.print(std::cout);
        std::cout << "\n";
    }
    if (!decode.empty()) {
        std::cout << "Decode, GQA 32/8, dh 128, every user at the end of its cache (stream: probed around each case)\n";
        std::cout << "(x bfloat16: tokens/s over the BFLOAT16 cache's, measured in the same rounds)\n";
        std::vector<std::string> head = {"users",    "cache",   "layout",      "cache dtype", "ms/step",
                                         "tokens/s", "KV GB/s", "stream GB/s", "of stream",   "x bfloat16"};
        if (windowed) head.insert(head.begin() + 2, "window");
        bench::Table table(head);
        for (const auto& r : decode) {
            std::vector<std::string> row = {
                std::to_string(r.c.users),
                std::to_string(r.c.cache_len),
                std::string(r.c.paged ? "paged" : "contiguous") +
                    (r.c.layout == Layout::ROW_MAJOR ? ", row-major" : ""),
                r.c.cache_name(),
                bench::format_number(1e3 * r.seconds.median, 2),
                bench::format_number(r.tokens_per_second, 1),
                bench::format_number(r.gbps, 2),
                bench::format_number(r.stream_gbps, 1),
                bench::format_number(100 * r.of_stream, 1) + "%",
                r.vs_bfloat16 > 0 ? bench::format_number(r.vs_bfloat16, 2) + "x" : "-"};
            if (windowed) row.insert(row.begin() + 2, r.c.window ? std::to_string(r.c.window) : "-");
            table.add_row(row);
        }
        table.print(std::cout);
    }
    if (!options.svg_path.empty()) {
        std::ofstream svg(options.svg_path);
        svg << bench::attention_svg(prefill, decode, limits);
        if (!svg) detail::fail(ErrorKind::Runtime, "--svg", "cannot write '", options.svg_path, "'");
        progress("wrote " + options.svg_path);
    }
    if (!options.json_path.empty()) {
        nlohmann::json p = nlohmann::json::array(), d = nlohmann::json::array();
        for (const auto& r : prefill) p.push_back(to_json(r));
        for (const auto& r : decode) d.push_back(to_json(r));
        write_json(options.json_path, {{"attnn_version", ATTNN_VERSION},
                                       {"isa", kernels::table().name},
                                       {"workers", device.num_workers()},
                                       {"limits", cli::to_json(limits)},
                                       {"prefill", p},
                                       {"decode", d}});
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
                    "MxNxK, repeatable (default: 2048x2048x2048, 1024x6144x2048 and 1x6144x4096)");
    app->add_option("--dtype", options->dtypes,
                    "Weight dtype, repeatable: float32, bfloat16, bfloat8_b, bfloat4_b "
                    "(default: float32 bfloat16 bfloat8_b)");
    app->add_option("--repeat", options->repeat, "Timed runs per case; the median is reported")
        ->check(CLI::Range(1, 1000));
    app->add_option("--stream-mib", options->stream_mib,
                    "Streaming-read probe buffer in MiB (default: see info)")
        ->check(CLI::Range(int64_t(4), int64_t(1) << 20));
    // `bench attention`: the second subcommand of `bench`; it runs from the same action.
    auto attention = std::make_shared<BenchAttentionOptions>();
    CLI::App* att = bench_app->add_subcommand(
        "attention", "Flash attention prefill vs naive, and flash decode over KV caches (tables, JSON, SVG)");
    add_workers_option(att, attention->workers);
    att->add_flag("--full", attention->full,
                  "The whole sweep: sequences to 16K (flash to 32K), more decode sizes");
    att->add_option("--json", attention->json_path, "Also write the results as JSON to this file");
    att->add_option("--svg", attention->svg_path, "Write the charts to this SVG file ('' for none)")
        ->capture_default_str();
    att->add_option("--seq", attention->seqs, "Prefill sequence length, repeatable")
        ->check(CLI::Range(int64_t(1), int64_t(1) << 30));
    att->add_option("--head-dim", attention->head_dims, "Prefill head dim, repeatable")
        ->check(CLI::Range(int64_t(1), int64_t(1) << 16));
    att->add_option("--dtype", attention->dtypes, "Prefill dtype, repeatable: float32, bfloat16, bfloat8_b")
        ->check(CLI::IsMember({"float32", "bfloat16", "bfloat8_b"}));
    att->add_option("--users", attention->users, "Decode users, repeatable")
        ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
    att->add_option("--cache-len", attention->cache_lens, "Decode cache length, repeatable (multiple of 64)")
        ->check(CLI::Range(int64_t(64), int64_t(1) << 30));
    att->add_option("--kv-layout", attention->kv_layouts,
                    "Decode cache layout, repeatable: tile, row_major (default tile; row_major skips BFLOAT8_B)")
        ->check(CLI::IsMember({"tile", "row_major"}));
    att->add_option("--math-fidelity", attention->math_fidelities,
                    "BFLOAT8_B decode's int8 query precision, repeatable: hifi2 (default: q rounded to int8, "
                    "outlier rows keeping their residual), hifi4 (every row's residual: as exact as fp32)")
        ->check(CLI::IsMember({"hifi2", "hifi4"}));
    att->add_option("--window", attention->windows,
                    "Sliding window in keys, repeatable (0: none); applies to causal prefill and to decode, "
                    "whose KV GB/s then counts the window's bytes")
        ->check(CLI::Range(int64_t(0), int64_t(1) << 31));
    att->add_option("--only", attention->only, "Run only 'prefill' or 'decode'")
        ->check(CLI::IsMember({"prefill", "decode"}));
    att->add_option("--repeat", attention->repeat, "Timed runs per case; the median is reported")
        ->check(CLI::Range(1, 1000));
    att->add_option("--stream-mib", attention->stream_mib, "Streaming-read probe buffer in MiB")
        ->check(CLI::Range(int64_t(4), int64_t(1) << 20));
    return {bench_app, [options, attention, app, att] {
                if (att->parsed()) return run_bench_attention(*attention);
                return run_bench_gemm(*options);
            }};
}

const CommandRegistration registration(1, setup_bench);

}  // namespace
}  // namespace attnn::cli
