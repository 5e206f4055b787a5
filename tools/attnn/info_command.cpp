// attnn info: the device, its SIMD path and workers, and the limits measured on them.
#include <iostream>
#include <memory>

#include "command.hpp"
#include "kernels/kernels.hpp"

namespace attnn::cli {
namespace {

struct InfoOptions {
    int workers = 0;
    std::string json_path;
    int64_t stream_mib = 0;
    int repeat = 7;
};

std::string bytes_text(int64_t bytes) {
    if (bytes <= 0) return "unknown";
    if (bytes >= (int64_t(1) << 30)) return bench::format_number(double(bytes) / double(1 << 30), 1) + " GiB";
    if (bytes >= (int64_t(1) << 20)) return bench::format_number(double(bytes) / double(1 << 20), 1) + " MiB";
    return std::to_string(bytes >> 10) + " KiB";
}

std::string range_text(const bench::Rate& r, const char* unit) {
    return bench::format_number(r.median, 1) + " " + unit + " (min " + bench::format_number(r.min, 1) +
           ", max " + bench::format_number(r.max, 1) + ")";
}

int run_info(const InfoOptions& options) {
    check_writable(options.json_path);
    const bench::CpuInfo cpu = bench::read_cpu_info();
    Device device = open_device(0, {.num_workers = options.workers});
    nlohmann::json isas = nlohmann::json::array();
    std::string isa_list;
    for (kernels::Isa isa : kernels::supported_isas()) {
        isas.push_back(kernels::isa_name(isa));
        isa_list += (isa_list.empty() ? "" : ", ") + std::string(kernels::isa_name(isa));
    }
    // The flash-decode dot products this CPU runs (each can be switched off by its variable).
    nlohmann::json dots = nlohmann::json::array();
    std::string dot_list;
    auto dot = [&](bool has, const char* name, const char* what) {
        if (!has) return;
        dots.push_back(name);
        dot_list += (dot_list.empty() ? "" : ", ") + std::string(what);
    };
    dot(kernels::has_bf16_dot(1), "bf16", "bf16 (BFLOAT16 K and V, P V)");
    dot(kernels::has_bf16_dot(2), "bf16_bfloat8_b", "bf16 on BFLOAT8_B V");
    dot(kernels::has_int8_dot(), "int8_bfloat8_b", "int8 on BFLOAT8_B K");
    std::cout << "attnn " << ATTNN_VERSION << "\n"
              << "device           " << device.id() << " (CPU)\n"
              << "SIMD path        " << kernels::table().name << " (supported: " << isa_list << ")\n"
              << "decode products  " << (dot_list.empty() ? "fp32" : dot_list) << "\n"
              << "workers          " << device.num_workers()
              << " (core grid y=1, x=" << device.compute_with_storage_grid_size().x << ")\n"
              << "CPU              " << (cpu.model.empty() ? "unknown" : cpu.model) << ", "
              << cpu.hardware_threads << " hardware threads\n"
              << "L2 per core      " << bytes_text(cpu.l2_bytes) << "\n"
              << "L3               " << bytes_text(cpu.l3_bytes) << "\n"
              << std::flush;

    bench::LimitsOptions limits_options;
    limits_options.stream_bytes = options.stream_mib << 20;
    limits_options.repeat = options.repeat;
    limits_options.progress = progress;
    const bench::MachineLimits limits = bench::measure_limits(device, limits_options);
    std::cout << "FP32 peak        " << range_text(limits.peak_gflops, "GFLOP/s") << ", " << limits.probe_isa
              << " FMA chains on " << limits.workers << " workers\n"
              << "stream read      " << range_text(limits.stream_gbps, "GB/s") << ", "
              << bytes_text(limits.stream_bytes) << " buffer on " << limits.workers << " workers\n";

    if (!options.json_path.empty()) {
        nlohmann::json json = {{"attnn_version", ATTNN_VERSION},
                               {"device",
                                {{"id", device.id()},
                                 {"kind", "cpu"},
                                 {"isa", kernels::table().name},
                                 {"supported_isas", isas},
                                 {"decode_dot_products", dots},
                                 {"workers", device.num_workers()},
                                 {"core_grid",
                                  {{"y", device.compute_with_storage_grid_size().y},
                                   {"x", device.compute_with_storage_grid_size().x}}}}},
                               {"cpu",
                                {{"model", cpu.model},
                                 {"hardware_threads", cpu.hardware_threads},
                                 {"l2_bytes", cpu.l2_bytes},
                                 {"l3_bytes", cpu.l3_bytes},
                                 {"mem_available_bytes", cpu.mem_available}}},
                               {"limits", to_json(limits)}};
        write_json(options.json_path, json);
        progress("wrote " + options.json_path);
    }
    close_device(device);
    return 0;
}

Command setup_info(CLI::App& root) {
    auto options = std::make_shared<InfoOptions>();
    CLI::App* app = root.add_subcommand("info",
                                        "Print the device, its SIMD path and workers, and the measured "
                                        "FP32 peak and streaming-read bandwidth");
    add_workers_option(app, options->workers);
    app->add_option("--json", options->json_path, "Also write the results as JSON to this file");
    app->add_option("--stream-mib", options->stream_mib,
                    "Streaming-read buffer in MiB (default: max(1 GiB, 8x L3), at most half the free memory)")
        ->check(CLI::Range(int64_t(4), int64_t(1) << 20));
    app->add_option("--repeat", options->repeat, "Timed repetitions of each probe; the median is reported")
        ->check(CLI::Range(1, 1000));
    return {app, [options] { return run_info(*options); }};
}

const CommandRegistration registration(0, setup_info);

}  // namespace
}  // namespace attnn::cli
