// The attention benchmark of `attnn bench attention`: the tables of tt-metal's FlashAttention
// tech report for this machine. Prefill: flash attention against the naive matmul -> softmax ->
// matmul with the s x s scores materialised. Decode: flash decode over contiguous and paged
// caches in BFLOAT16 and BFLOAT8_B. Every figure is a fraction of a limit measured in the run.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "attnn/attnn.hpp"
#include "limits.hpp"

namespace attnn::bench {

struct PrefillCase {
    int64_t batch = 1, heads = 8, seq = 2048, head_dim = 128;
    bool causal = true;
    DataType dtype = DataType::BFLOAT16;
    int64_t window = 0;  // causal sliding window (0: none)
    // FLOPs as performance.md counts them: 4 b h s^2 dh, half of that when causal; with a window,
    // 4 b h dh times the (query, key) pairs inside the windows.
    double flops() const;
};

struct PrefillResult {
    PrefillCase c;
    Stats flash_seconds;
    Rate flash_gflops;
    double peak_gflops = 0;    // FP32 peak: the median over the case's rounds of the better probe around each
    double flash_of_peak = 0;  // the median over rounds of flash GFLOP/s over the round's peak
    int64_t flash_peak_bytes = 0;        // resident-memory growth while the op ran (VmHWM)
    std::optional<Stats> naive_seconds;  // absent where the scores would not fit
    std::optional<Rate> naive_gflops;
    int64_t naive_peak_bytes = 0;
    double speedup = 0;  // naive median / flash median
    double pcc_vs_naive = 0;
};

struct DecodeCase {
    int64_t users = 8, cache_len = 32768, q_heads = 32, kv_heads = 8, head_dim = 128;
    bool paged = false;
    int64_t block_size = 64;
    DataType cache_dtype = DataType::BFLOAT16;
    Layout layout = Layout::TILE;  // ROW_MAJOR: FLOAT32 / BFLOAT16 caches only
    int64_t window = 0;            // sliding window: a step reads each user's last `window` positions
    // A BFLOAT8_B cache's int8 scores: the query's precision (HiFi2, the op's default, or HiFi4).
    MathFidelity math_fidelity = MathFidelity::HiFi2;
    double kv_bytes() const;  // K and V bytes one decode step reads
    std::string cache_name() const;  // "bfloat16", "bfloat8_b", "bfloat8_b HiFi4"
};

struct DecodeResult {
    DecodeCase c;
    Stats seconds;
    double tokens_per_second = 0;
    double gbps = 0;
    double stream_gbps = 0;  // streaming read: the median over rounds of the better probe around each
    double of_stream = 0;    // the median over rounds of KV GB/s over the round's stream
    // Where the same geometry also ran with a BFLOAT16 cache (in the same rounds): the median over
    // rounds of this case's tokens/s over BFLOAT16's; 0 otherwise.
    double vs_bfloat16 = 0;
};

struct AttentionSuiteOptions {
    std::vector<PrefillCase> prefill;
    std::vector<DecodeCase> decode;
    int repeat = 3;
    // Skip naive where its scores and their softmax (2 x 4 bytes x b x h x s^2) exceed this.
    int64_t naive_memory_limit = int64_t(4) << 30;
    // The stream probe's buffer, held beside each decode group's caches (counted in their memory).
    int64_t stream_bytes = 0;
    std::function<void(const std::string&)> progress;
};

// The default sweep (about a minute and a half here) or the whole one (--full).
std::vector<PrefillCase> default_prefill_cases(bool full);
std::vector<DecodeCase> default_decode_cases(bool full);

// Bytes a case holds at its peak: inputs, outputs, the fp32 host copy they are made from and, for
// prefill, naive's scores and mask where it runs; a decode case counts K and V in the cache dtype
// of every case in `others` with its geometry (they run side by side).
double footprint_bytes(const PrefillCase& c, const AttentionSuiteOptions& o);
double footprint_bytes(const DecodeCase& c, const std::vector<DecodeCase>& others, int64_t stream_bytes);
// /proc/meminfo's MemAvailable; -1 where unknown.
int64_t available_memory_bytes();
// Refuses (attnn::Error, naming the case, what it needs and what is available) a suite with a
// case that would not fit in 90% of `available` bytes; nothing where available <= 0.
void require_fits(const AttentionSuiteOptions& o, int64_t available);

std::vector<PrefillResult> run_prefill(Device& device, const AttentionSuiteOptions& o);
std::vector<DecodeResult> run_decode(Device& device, const MachineLimits& limits,
                                     const AttentionSuiteOptions& o);

// An SVG with both charts: prefill GFLOP/s against sequence length (flash and naive, per head
// dim and causality), and decode GB/s of KV read per case, with the measured limits drawn in.
std::string attention_svg(const std::vector<PrefillResult>& prefill, const std::vector<DecodeResult>& decode,
                          const MachineLimits& limits);

std::string dtype_name(DataType dtype);

}  // namespace attnn::bench
