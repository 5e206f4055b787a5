#include "seeds.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "support.hpp"

namespace attnn::examples {

int run_seeds(const SeedsOptions& options) {
    const std::vector<std::string> programs = {"simple_attention", "self_attention_v2",
                                               "multi_head_attention"};
    if (!options.only.empty() &&
        std::find(programs.begin(), programs.end(), options.only) == programs.end()) {
        std::fprintf(stderr,
                     "attnn seeds: --only=%s is not one of simple_attention, self_attention_v2, "
                     "multi_head_attention\n",
                     options.only.c_str());
        return 2;
    }
    Device device = open_device(0, {.num_workers = options.workers});
    std::printf("attnn seeds on device %d: %d workers, %s kernels\n\n", device.id(), device.num_workers(),
                device.isa().c_str());
    nlohmann::json report = {
        {"device", {{"id", device.id()}, {"workers", device.num_workers()}, {"isa", device.isa()}}}};
    auto selected = [&](const std::string& name) { return options.only.empty() || options.only == name; };
    auto banner = [](const char* title) { std::printf("=== %s ===\n\n", title); };
    if (selected("simple_attention")) {
        banner("003: a very simple attention mechanism");
        report["simple_attention"] = simple_attention(device);
    }
    if (selected("self_attention_v2")) {
        banner("000: simple weighted attention mechanism v2");
        report["self_attention_v2"] = self_attention_v2(device, options.full);
    }
    if (selected("multi_head_attention")) {
        banner("001: multi-head attention");
        report["multi_head_attention"] = multi_head_attention(device);
    }
    close_device(device);
    if (!options.json_path.empty()) {
        std::ofstream file(options.json_path);
        if (!file) {
            std::fprintf(stderr, "attnn seeds: cannot write %s\n", options.json_path.c_str());
            return 1;
        }
        file << report.dump(2) << "\n";
        std::printf("results written to %s\n", options.json_path.c_str());
    }
    return 0;
}

}  // namespace attnn::examples
