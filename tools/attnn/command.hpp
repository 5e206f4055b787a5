// The attnn CLI's subcommands. Each lives in its own source file and registers itself here,
// so a subcommand whose library is not built (the seed programs, the GEMM benchmark before
// matmul exists) is simply absent from the binary.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "attnn/device.hpp"
#include "limits.hpp"

namespace attnn::cli {

// What a subcommand's setup returns: the parsed subcommand and the action to run if the user
// chose it; the action returns the process exit code.
struct Command {
    CLI::App* app = nullptr;
    std::function<int()> run;
};

// Adds a subcommand to the root app; `order` sorts them in --help.
using CommandSetup = Command (*)(CLI::App& root);
struct CommandRegistration {
    CommandRegistration(int order, CommandSetup setup);
};

// --workers N on `app`, into `workers` (0: one per CPU this process may run on).
void add_workers_option(CLI::App* app, int& workers);

// A progress line on stderr: "[attnn 12.3s] text".
void progress(const std::string& line);

// Checks that `option`'s file can be written, without creating it: an existing file must open
// for appending, a new one needs a writable folder. A rejected command line leaves no files.
void check_writable(const std::string& path, const char* option = "--json");

// Writes `json` to `path` (pretty-printed); throws attnn::Error when the file cannot be written.
void write_json(const std::string& path, const nlohmann::json& json);

nlohmann::json to_json(const bench::Rate& rate);
nlohmann::json to_json(const bench::Stats& seconds);
nlohmann::json to_json(const bench::MachineLimits& limits);

}  // namespace attnn::cli
