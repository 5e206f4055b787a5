// The three seed programs of ../shared/seeds/, ported to attnn, and the `attnn seeds` driver.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "attnn/attnn.hpp"

namespace attnn::examples {

struct SeedsOptions {
    bool full = false;      // the seeds' own sizes (e.g. 10000 forward passes): hours, not minutes
    std::string json_path;  // also write the results as JSON
    std::string only;       // run one program: simple_attention, self_attention_v2, multi_head_attention
    int workers = 0;        // 0: one per CPU this process may run on
};

// Runs the selected seed programs, printing their results; returns a process exit code.
int run_seeds(const SeedsOptions& options);

// Each program prints what its notebook printed and returns the same as JSON.
nlohmann::json simple_attention(Device& device);
nlohmann::json self_attention_v2(Device& device, bool full);  // the 6x3 example, then the benchmark
nlohmann::json self_attention_v2_example(Device& device);
nlohmann::json multi_head_attention(Device& device);

}  // namespace attnn::examples
