// attnn: the command-line tool. Subcommands register themselves (see command.hpp); this file
// parses the command line, runs the chosen one and turns errors into messages and exit codes.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

#include "attnn/error.hpp"
#include "command.hpp"

namespace attnn::cli {

namespace {
std::vector<std::pair<int, CommandSetup>>& registered() {
    static std::vector<std::pair<int, CommandSetup>> commands;
    return commands;
}
const auto start_time = std::chrono::steady_clock::now();
constexpr int max_workers = 4096;  // far beyond any CPU; catches typos before threads start
}  // namespace

CommandRegistration::CommandRegistration(int order, CommandSetup setup) {
    registered().emplace_back(order, setup);
}

void add_workers_option(CLI::App* app, int& workers) {
    app->add_option("-w,--workers", workers,
                    "Worker threads of the device (0: one per CPU this process may run on)")
        ->check(CLI::Range(0, max_workers));
}

void progress(const std::string& line) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
    std::cerr << "[attnn " << bench::format_number(seconds, 1) << "s] " << line << std::endl;
}

void check_writable(const std::string& path, const char* option) {
    if (path.empty()) return;
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::is_directory(path, ec))
        detail::fail(ErrorKind::Runtime, option, "'", path, "' is a folder, not a file");
    if (fs::exists(path, ec)) {
        std::ofstream out(path, std::ios::app);  // an existing file: appending changes nothing
        if (!out) detail::fail(ErrorKind::Runtime, option, "cannot open '", path, "' for writing");
        return;
    }
    fs::path folder = fs::path(path).parent_path();
    if (folder.empty()) folder = ".";
    if (!fs::is_directory(folder, ec) || ::access(folder.c_str(), W_OK | X_OK) != 0)
        detail::fail(ErrorKind::Runtime, option, "cannot create '", path, "': folder '", folder.string(),
                     fs::is_directory(folder, ec) ? "' is not writable" : "' does not exist");
}

void write_json(const std::string& path, const nlohmann::json& json) {
    std::ofstream out(path);
    if (!out) detail::fail(ErrorKind::Runtime, "--json", "cannot open '", path, "' for writing");
    out << json.dump(2) << '\n';
    if (!out) detail::fail(ErrorKind::Runtime, "--json", "cannot write '", path, "'");
}

nlohmann::json to_json(const bench::Rate& rate) {
    return {{"min", rate.min}, {"median", rate.median}, {"max", rate.max}};
}

nlohmann::json to_json(const bench::Stats& seconds) {
    return {
        {"min", seconds.min}, {"median", seconds.median}, {"max", seconds.max}, {"repeats", seconds.repeats}};
}

nlohmann::json to_json(const bench::MachineLimits& limits) {
    return {{"probe_isa", limits.probe_isa},
            {"workers", limits.workers},
            {"fp32_peak_gflops", to_json(limits.peak_gflops)},
            {"stream_read_gbps", to_json(limits.stream_gbps)},
            {"stream_bytes", limits.stream_bytes}};
}

}  // namespace attnn::cli

int main(int argc, char** argv) {
    using namespace attnn::cli;
    CLI::App app{"attnn: TT-NN's attention stack on the CPU"};
    app.set_version_flag("--version", std::string(ATTNN_VERSION));
    app.require_subcommand(1);
    auto commands = registered();
    std::stable_sort(commands.begin(), commands.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<Command> subcommands;
    for (const auto& [order, setup] : commands) subcommands.push_back(setup(app));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // CLI11 reports "a subcommand is required" for a misspelt one, at any depth ("attnn bench
        // foo"); name it instead. Walk the words before the first option down the subcommands.
        CLI::App* at = &app;
        std::string path = "attnn";
        for (int i = 1; i < argc && argv[i][0] != '-'; ++i) {
            CLI::App* next = nullptr;
            for (CLI::App* sub : at->get_subcommands([](CLI::App*) { return true; }))
                if (sub->check_name(argv[i])) next = sub;
            if (next == nullptr) {
                if (at->get_require_subcommand_min() > 0) {
                    std::cerr << "attnn: unknown subcommand '" << argv[i] << "' of '" << path << "'; run "
                              << path << " --help for the list\n";
                    return 2;
                }
                break;
            }
            at = next;
            path += " " + next->get_name();
        }
        return app.exit(e);
    }
    try {
        for (const Command& command : subcommands)
            if (command.app->parsed()) return command.run();
    } catch (const attnn::Error& e) {
        std::cerr << "attnn: error: " << e.what() << '\n';
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "attnn: unexpected error: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
