// The seed programs: simple attention (seed 003), SelfAttention v2 (seed 000) and multi-head
// attention (seed 001), run one after another by `attnn seeds`.
#pragma once
#include <string>

namespace attnn::examples {

struct SeedsOptions {
    bool full = false;      // the seeds' own, longer benchmark settings
    std::string json_path;  // also write the results as JSON here when not empty
    std::string only;       // run only this program when not empty
    int workers = 0;        // device workers (0: one per hardware thread)
};

// Runs the seed programs, printing their values and tables; returns the process exit code.
int run_seeds(const SeedsOptions& options);

}  // namespace attnn::examples
