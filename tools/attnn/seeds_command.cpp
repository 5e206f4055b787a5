// attnn seeds: the three seed programs of examples/ (see examples/seeds.hpp).
#include <memory>

#include "command.hpp"
#include "seeds.hpp"

namespace attnn::cli {
namespace {

Command setup_seeds(CLI::App& root) {
    auto options = std::make_shared<examples::SeedsOptions>();
    CLI::App* app = root.add_subcommand(
        "seeds", "Run the seed programs: simple attention, SelfAttention v2 and multi-head attention");
    add_workers_option(app, options->workers);
    app->add_flag("--full", options->full, "Use the seeds' own, longer benchmark settings");
    app->add_option("--json", options->json_path, "Also write the results as JSON to this file");
    app->add_option("--only", options->only, "Run only this program");
    return {app, [options] {
                check_writable(options->json_path);  // before the programs run, as info and bench check it
                return examples::run_seeds(*options);
            }};
}

const CommandRegistration registration(2, setup_seeds);

}  // namespace
}  // namespace attnn::cli
