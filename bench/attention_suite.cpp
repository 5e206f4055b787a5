#include "attention_suite.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "attnn/error.hpp"
#include "core/buffer.hpp"

namespace attnn::bench {

namespace {

// The machine is shared and its capacity moves: bandwidth between minutes, and now and then a
// vCPU is taken away for seconds, halving everything. So a case is measured in rounds, each
// the case run for at least round_seconds between two probes of the limit, and the reported
// fraction is the median over rounds of each round's rate over the better of its two probes.
constexpr int rounds = 5;
constexpr double round_seconds = 0.05;

struct Paired {
    Stats seconds;       // per round: the median time of one call
    double limit = 0;    // the median of the rounds' limits
    double ratio = 0;    // the median over rounds of (work / seconds) / limit
    std::vector<double> by_round;  // each round's median time of one call
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// Several cases in the same rounds: each round runs every one of fns (each for at least
// round_seconds) between the two probes, so cases compared with each other meet the same
// minutes of the machine.
template <class Probe>
std::vector<Paired> paired_rounds(Probe&& probe, const std::vector<std::function<void()>>& fns,
                                  const std::vector<double>& work, int repeat, int warmup) {
    const std::size_t n = fns.size();
    std::vector<std::vector<double>> seconds(n), ratios(n);
    std::vector<double> limits;
    double before = probe();
    for (int i = 0; i < rounds; ++i) {
        std::vector<double> t(n);
        for (std::size_t f = 0; f < n; ++f)
            t[f] = time_it(fns[f], i == 0 ? warmup : 0, std::max(1, repeat / rounds), round_seconds).median;
        const double after = probe(), limit = std::max(before, after);
        for (std::size_t f = 0; f < n; ++f) seconds[f].push_back(t[f]), ratios[f].push_back(work[f] / t[f] / limit);
        limits.push_back(limit);
        before = after;
    }
    std::vector<Paired> out;
    for (std::size_t f = 0; f < n; ++f) out.push_back({summarize(seconds[f]), median(limits), median(ratios[f]), seconds[f]});
    return out;
}

template <class Probe, class F>
Paired paired_rounds(Probe&& probe, F&& fn, double work, int repeat, int warmup) {
    return paired_rounds(probe, {std::function<void()>(fn)}, {work}, repeat, warmup)[0];
}

// Resident-set high-water mark, resettable through /proc/self/clear_refs (Linux).
int64_t read_status_kib(const char* field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field, 0) == 0) return std::stoll(line.substr(std::string(field).size()));
    return 0;
}
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }
int64_t peak_rss_bytes() { return read_status_kib("VmHWM:") * 1024; }
int64_t rss_bytes() { return read_status_kib("VmRSS:") * 1024; }

// The decode cases that differ only in the cache dtype (and math fidelity) run in the same rounds.
bool same_geometry(const DecodeCase& a, const DecodeCase& b) {
    return a.users == b.users && a.cache_len == b.cache_len && a.q_heads == b.q_heads &&
           a.kv_heads == b.kv_heads && a.head_dim == b.head_dim && a.paged == b.paged &&
           a.block_size == b.block_size && a.layout == b.layout && a.window == b.window;
}

double round_up32(int64_t n) { return double((n + 31) / 32 * 32); }
double bytes_per_value(DataType dtype) { return double(tile_size_bytes(dtype)) / (TILE_HEIGHT * TILE_WIDTH); }

// Whether naive attention runs for a prefill case: its scores fit the limit (twice: scores and
// their softmax), and it has no window.
bool runs_naive(const PrefillCase& c, const AttentionSuiteOptions& o) {
    const double score_bytes = 4.0 * double(c.batch) * double(c.heads) * double(c.seq) * double(c.seq);
    return score_bytes * 2 <= double(o.naive_memory_limit) && c.window == 0;
}

std::string gib(double bytes) {
    std::ostringstream os;
    os.setf(std::ios::fixed);
    os.precision(1);
    os << bytes / double(int64_t(1) << 30) << " GiB";
    return os.str();
}

// Runs fn once while measuring how far resident memory rose above where it started.
template <class F>
int64_t peak_growth(F&& fn) {
    // Freed memory that attnn's storage cache or the heap keeps would be reused without growing
    // the resident set: the second case of a run would read ~0. Both go back to the system first,
    // so what the call needs is faulted in while it runs.
    detail::trim_storage_cache();
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
    reset_peak_rss();
    const int64_t before = rss_bytes();
    fn();
    return std::max<int64_t>(0, peak_rss_bytes() - before);
}

Tensor random_tensor(Device& device, const Shape& shape, DataType dtype, uint32_t seed) {
    std::vector<float> v(shape.volume());
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (auto& x : v) x = normal(gen);
    return from_host(std::span<const float>(v), shape,
                     {.dtype = dtype, .layout = Layout::TILE, .device = device});
}

// The baseline the tech report measures flash attention against: Q K^T materialised, scaled,
// masked, softmax, times V, each step an op with its output in memory.
Tensor naive_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                       const std::optional<Tensor>& causal_mask, float scale) {
    Tensor scores = matmul(q, k, {.transpose_b = true, .dtype = DataType::FLOAT32});
    scores = multiply(scores, scale);
    if (causal_mask) scores = add(scores, *causal_mask);
    Tensor probs = softmax(scores, -1);
    return matmul(probs, v, {.dtype = q.dtype()});
}

}  // namespace

std::string DecodeCase::cache_name() const {
    std::string name = dtype_name(cache_dtype);
    if (cache_dtype == DataType::BFLOAT8_B && math_fidelity != MathFidelity::HiFi2)
        name += " HiFi" + std::to_string(int(math_fidelity));
    return name;
}

std::string dtype_name(DataType dtype) {
    switch (dtype) {
        case DataType::FLOAT32:
            return "float32";
        case DataType::BFLOAT16:
            return "bfloat16";
        case DataType::BFLOAT8_B:
            return "bfloat8_b";
        case DataType::BFLOAT4_B:
            return "bfloat4_b";
        default:
            return to_string(dtype);
    }
}

double PrefillCase::flops() const {
    // Pairs are counted as areas: causal as half the s x s square (FlashAttention's convention),
    // a window W < s as the band s*W - W^2/2, which meets s^2 / 2 at W = s (the exact counts,
    // s(s+1)/2 and s*W - W(W-1)/2, differ from these by half the diagonal, s/2 or W/2).
    const double per_pair = 4.0 * double(batch) * double(heads) * double(head_dim);
    if (causal && window > 0 && window < seq)
        return per_pair * (double(seq) * double(window) - double(window) * double(window) / 2);
    return per_pair * double(seq) * double(seq) * (causal ? 0.5 : 1.0);
}

double DecodeCase::kv_bytes() const {
    const int64_t keys = window > 0 ? std::min(window, cache_len) : cache_len;
    const double values = 2.0 * double(users) * double(kv_heads) * double(keys) * double(head_dim);
    return values * double(tile_size_bytes(cache_dtype)) / (TILE_HEIGHT * TILE_WIDTH);
}

std::vector<PrefillCase> default_prefill_cases(bool full) {
    std::vector<int64_t> seqs = full ? std::vector<int64_t>{512, 1024, 2048, 4096, 8192, 16384}
                                     : std::vector<int64_t>{512, 1024, 2048, 4096};
    std::vector<PrefillCase> cases;
    for (int64_t dh : {64, 128})
        for (bool causal : {false, true})
            for (int64_t s : seqs) cases.push_back({1, 8, s, dh, causal, DataType::BFLOAT16});
    // Storage dtypes at one shape; flash alone at 32K shows its memory stays flat.
    for (DataType dt : {DataType::FLOAT32, DataType::BFLOAT8_B}) cases.push_back({1, 8, 2048, 128, true, dt});
    if (full) cases.push_back({1, 8, 32768, 128, true, DataType::BFLOAT16});
    return cases;
}

std::vector<DecodeCase> default_decode_cases(bool full) {
    std::vector<DecodeCase> cases;
    const std::vector<std::pair<int64_t, int64_t>> sizes =
        full ? std::vector<std::pair<int64_t, int64_t>>{{1, 1024}, {1, 8192},  {1, 32768}, {8, 1024},
                                                        {8, 8192}, {8, 32768}, {32, 1024}, {32, 8192}}
             : std::vector<std::pair<int64_t, int64_t>>{{1, 8192}, {8, 4096}, {8, 32768}, {32, 2048}};
    for (auto [users, len] : sizes)
        for (DataType dt : {DataType::BFLOAT16, DataType::BFLOAT8_B}) {
            cases.push_back({users, len, 32, 8, 128, false, 64, dt});
            if (users == 8 && len == 32768) cases.push_back({users, len, 32, 8, 128, true, 64, dt});
        }
    return cases;
}

double footprint_bytes(const PrefillCase& c, const AttentionSuiteOptions& o) {
    const double values = double(c.batch) * double(c.heads) * round_up32(c.seq) * round_up32(c.head_dim);
    // q, k, v and the output stored, one fp32 host copy at a time while they are made.
    double bytes = values * (4 * bytes_per_value(c.dtype) + 4);
    if (runs_naive(c, o)) {
        const double square = double(c.batch) * double(c.heads) * double(c.seq) * double(c.seq);
        bytes += 2 * 4 * square;                                   // scores and their softmax
        if (c.causal) bytes += 6 * double(c.seq) * double(c.seq);  // the mask: host fp32, bf16 tiles
    }
    return bytes;
}

double footprint_bytes(const DecodeCase& c, const std::vector<DecodeCase>& others, int64_t stream_bytes) {
    const double values =
        double(c.users) * double(c.kv_heads) * round_up32(c.cache_len) * round_up32(c.head_dim);
    // The fp32 host copy the caches are encoded from, and the stream probe's buffer, allocated
    // around every round while the caches are held.
    double bytes = 4 * values + double(stream_bytes);
    for (const DecodeCase& d : others)
        if (same_geometry(c, d)) bytes += 2 * values * bytes_per_value(d.cache_dtype);  // K and V
    return bytes;
}

int64_t available_memory_bytes() {
    std::ifstream in("/proc/meminfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("MemAvailable:", 0) == 0) return std::stoll(line.substr(13)) * 1024;
    return -1;
}

void require_fits(const AttentionSuiteOptions& o, int64_t available) {
    if (available <= 0) return;
    const double room = 0.9 * double(available);
    for (const PrefillCase& c : o.prefill) {
        const double need = footprint_bytes(c, o);
        if (need > room)
            detail::fail(ErrorKind::InvalidArgument, "bench attention", "prefill s=", c.seq,
                         " dh=", c.head_dim, " ", dtype_name(c.dtype), " needs about ", gib(need),
                         " of memory; ", gib(double(available)), " is available. Ask for a shorter --seq");
    }
    for (const DecodeCase& c : o.decode) {
        const double need = footprint_bytes(c, o.decode, o.stream_bytes);
        if (need > room)
            detail::fail(ErrorKind::InvalidArgument, "bench attention", "decode users=", c.users,
                         " cache=", c.cache_len, " needs about ", gib(need),
                         " of memory (an fp32 host copy, K and V in each cache dtype, the stream probe's ",
                         gib(double(o.stream_bytes)), " buffer); ", gib(double(available)),
                         " is available. Ask for fewer --users or a shorter --cache-len");
    }
}

std::vector<PrefillResult> run_prefill(Device& device, const AttentionSuiteOptions& o) {
    std::vector<PrefillResult> results;
    for (const PrefillCase& c : o.prefill) {
        if (o.progress)
            o.progress("prefill s=" + std::to_string(c.seq) + " dh=" + std::to_string(c.head_dim) +
                       (c.causal ? " causal " : " ") + dtype_name(c.dtype) +
                       (c.window ? " window=" + std::to_string(c.window) : ""));
        const Shape shape{uint32_t(c.batch), uint32_t(c.heads), uint32_t(c.seq), uint32_t(c.head_dim)};
        Tensor q = random_tensor(device, shape, c.dtype, 1), k = random_tensor(device, shape, c.dtype, 2),
               v = random_tensor(device, shape, c.dtype, 3);
        PrefillResult r;
        r.c = c;
        Tensor flash_out;
        auto flash = [&] {
            flash_out = transformer::scaled_dot_product_attention(
                q, k, v, {.is_causal = c.causal, .sliding_window_size = uint32_t(c.window)});
        };
        r.flash_peak_bytes = peak_growth(flash);
        const Paired paired = paired_rounds([&] { return measure_peak_gflops(device, 1).median; }, flash,
                                            c.flops() / 1e9, o.repeat, 0);
        r.flash_seconds = paired.seconds;
        r.peak_gflops = paired.limit;
        r.flash_gflops = rate(c.flops() / 1e9, r.flash_seconds);
        r.flash_of_peak = paired.ratio;

        if (runs_naive(c, o)) {
            std::optional<Tensor> mask;
            if (c.causal) {
                std::vector<float> m(std::size_t(c.seq * c.seq), 0.0f);
                for (int64_t i = 0; i < c.seq; ++i)
                    for (int64_t j = i + 1; j < c.seq; ++j) m[std::size_t(i * c.seq + j)] = -INFINITY;
                mask = from_host(std::span<const float>(m), Shape{1, 1, uint32_t(c.seq), uint32_t(c.seq)},
                                 {.dtype = DataType::BFLOAT16, .layout = Layout::TILE, .device = device});
            }
            const float scale = 1.0f / std::sqrt(float(c.head_dim));
            Tensor naive_out;
            auto naive = [&] { naive_out = naive_attention(q, k, v, mask, scale); };
            r.naive_peak_bytes = peak_growth(naive);
            r.naive_seconds = time_it(naive, 0, o.repeat, rounds * round_seconds);
            r.naive_gflops = rate(c.flops() / 1e9, *r.naive_seconds);
            r.speedup = r.naive_seconds->median / r.flash_seconds.median;
            r.pcc_vs_naive = comp_pcc(to_host<double>(naive_out), to_host<double>(flash_out));
        }
        results.push_back(r);
    }
    return results;
}

std::vector<DecodeResult> run_decode(Device& device, const MachineLimits& limits,
                                     const AttentionSuiteOptions& o) {
    std::vector<DecodeResult> results(o.decode.size());
    std::vector<bool> done(o.decode.size(), false);
    std::vector<float> host;  // reused: the caches are large
    struct Setup {
        Tensor k, v;
    };
    for (std::size_t first = 0; first < o.decode.size(); ++first) {
        if (done[first]) continue;
        // The cases that differ only in the cache dtype run in the same rounds: the ratio of their
        // tokens/s then compares the same minutes of a machine whose bandwidth moves.
        std::vector<std::size_t> group;
        for (std::size_t j = first; j < o.decode.size(); ++j)
            if (!done[j] && same_geometry(o.decode[first], o.decode[j])) group.push_back(j), done[j] = true;
        const DecodeCase& c = o.decode[first];
        if (o.progress) {
            std::string dtypes;
            for (std::size_t j : group) dtypes += (dtypes.empty() ? "" : " + ") + o.decode[j].cache_name();
            o.progress("decode users=" + std::to_string(c.users) + " cache=" + std::to_string(c.cache_len) +
                       " " + dtypes + (c.paged ? " paged" : " contiguous") +
                       (c.layout == Layout::ROW_MAJOR ? " row-major" : "") +
                       (c.window ? " window=" + std::to_string(c.window) : ""));
        }
        const uint32_t users = uint32_t(c.users), nkv = uint32_t(c.kv_heads), dh = uint32_t(c.head_dim);
        const uint32_t blocks_per_user = uint32_t(c.cache_len / c.block_size);
        const Shape cache_shape = c.paged ? Shape{users * blocks_per_user, nkv, uint32_t(c.block_size), dh}
                                          : Shape{users, nkv, uint32_t(c.cache_len), dh};
        host.assign(cache_shape.volume(), 0.0f);
        std::mt19937 gen(7);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        for (std::size_t i = 0; i < host.size(); i += 4099)
            host[i] = normal(gen);  // sparse noise is enough here
        std::vector<Setup> setups;
        for (std::size_t j : group) {
            const TensorOptions cache_options{.dtype = o.decode[j].cache_dtype, .layout = c.layout, .device = device};
            setups.push_back({from_host(std::span<const float>(host), cache_shape, cache_options),
                              from_host(std::span<const float>(host), cache_shape, cache_options)});
        }
        Tensor q = random_tensor(device, Shape{1, users, uint32_t(c.q_heads), dh}, DataType::BFLOAT16, 4);
        std::vector<int32_t> positions(users, int32_t(c.cache_len - 1));
        std::optional<Tensor> page_table;
        if (c.paged) {
            std::vector<int32_t> table(std::size_t(users) * blocks_per_user);
            std::iota(table.begin(), table.end(), 0);
            std::shuffle(table.begin(), table.end(), std::mt19937(11));
            page_table =
                from_host(std::span<const int32_t>(table), Shape{users, blocks_per_user}, {.device = device});
        }
        std::vector<std::function<void()>> steps;
        std::vector<double> work;
        for (std::size_t g = 0; g < group.size(); ++g) {
            const Setup* setup = &setups[g];
            const MathFidelity fidelity = o.decode[group[g]].math_fidelity;
            steps.push_back([&c, &q, &positions, &page_table, setup, fidelity] {
                const transformer::SDPADecodeOptions options{
                    .cur_pos = positions,
                    .sliding_window_size = uint32_t(c.window),
                    .compute_kernel_config = WormholeComputeKernelConfig{.math_fidelity = fidelity}};
                if (c.paged)
                    transformer::paged_scaled_dot_product_attention_decode(q, setup->k, setup->v, *page_table,
                                                                           options);
                else
                    transformer::scaled_dot_product_attention_decode(q, setup->k, setup->v, options);
            });
            work.push_back(o.decode[group[g]].kv_bytes() / 1e9);
        }
        const std::vector<Paired> paired = paired_rounds(
            [&] { return measure_stream_gbps(device, limits.stream_bytes, 1).median; }, steps, work,
            std::max(o.repeat, 5), 1);
        std::optional<std::size_t> bf16;
        for (std::size_t g = 0; g < group.size(); ++g)
            if (o.decode[group[g]].cache_dtype == DataType::BFLOAT16) bf16 = g;
        for (std::size_t g = 0; g < group.size(); ++g) {
            DecodeResult& r = results[group[g]];
            r.c = o.decode[group[g]];
            r.seconds = paired[g].seconds;
            r.stream_gbps = paired[g].limit;
            r.tokens_per_second = double(r.c.users) / r.seconds.median;
            r.gbps = r.c.kv_bytes() / r.seconds.median / 1e9;
            r.of_stream = paired[g].ratio;
            if (bf16 && r.c.cache_dtype != DataType::BFLOAT16) {
                std::vector<double> speedup;
                for (std::size_t i = 0; i < paired[g].by_round.size(); ++i)
                    speedup.push_back(paired[*bf16].by_round[i] / paired[g].by_round[i]);
                r.vs_bfloat16 = median(speedup);
            }
        }
    }
    return results;
}

// ---- the chart ----------------------------------------------------------------------------

namespace {

std::string fmt(double v, int decimals = 1) {
    std::ostringstream os;
    os.setf(std::ios::fixed);
    os.precision(decimals);
    os << v;
    return os.str();
}

// A size as people write it: "32K" for whole multiples of 1024, the number itself otherwise.
std::string size_label(int64_t n) {
    return n >= 1024 && n % 1024 == 0 ? std::to_string(n / 1024) + "K" : std::to_string(n);
}

}  // namespace

std::string attention_svg(const std::vector<PrefillResult>& prefill, const std::vector<DecodeResult>& decode,
                          const MachineLimits& limits) {
    const int width = 900, chart_h = 360, margin = 70, gap = 90;
    const int height = 2 * chart_h + gap + 2 * margin;
    std::ostringstream svg;
    svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height
        << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n";
    const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                            "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

    // Prefill: GFLOP/s against log2(sequence length), one line per (dh, causal) for flash and naive.
    {
        const int x0 = margin, y0 = margin, w = width - 2 * margin - 160, h = chart_h;
        // The drawn cases: one dtype (BFLOAT16 where it ran), without a window; the others are
        // tabled, not drawn.
        DataType chart_dtype = prefill.empty() ? DataType::BFLOAT16 : prefill.front().c.dtype;
        for (const auto& r : prefill)
            if (r.c.dtype == DataType::BFLOAT16) chart_dtype = r.c.dtype;
        auto drawn = [&](const PrefillResult& r) { return r.c.dtype == chart_dtype && r.c.window == 0; };
        double ymax = limits.peak_gflops.median * 1.05, smin = 0, smax = 0;
        std::vector<int64_t> head_dims;
        for (const auto& r : prefill)
            if (drawn(r)) {
                smin = smin == 0 ? double(r.c.seq) : std::min(smin, double(r.c.seq));
                smax = std::max(smax, double(r.c.seq));
                ymax = std::max(ymax, r.flash_gflops.median * 1.05);
                if (std::find(head_dims.begin(), head_dims.end(), r.c.head_dim) == head_dims.end())
                    head_dims.push_back(r.c.head_dim);
            }
        std::sort(head_dims.begin(), head_dims.end());
        if (smax <= smin) smax = smin * 2;
        auto px = [&](double s) {
            return x0 + w * (std::log2(s) - std::log2(smin)) / (std::log2(smax) - std::log2(smin));
        };
        auto py = [&](double g) { return y0 + h - h * g / ymax; };
        svg << "<text x='" << x0 << "' y='" << y0 - 25 << "' font-size='15'>Prefill attention, "
            << to_string(chart_dtype).substr(10) << ", b=1 h=8: GFLOP/s (flash solid, naive dashed)</text>\n";
        svg << "<line x1='" << x0 << "' y1='" << y0 + h << "' x2='" << x0 + w << "' y2='" << y0 + h
            << "' stroke='black'/>\n";
        svg << "<line x1='" << x0 << "' y1='" << y0 << "' x2='" << x0 << "' y2='" << y0 + h
            << "' stroke='black'/>\n";
        const double peak = limits.peak_gflops.median;
        svg << "<line x1='" << x0 << "' y1='" << py(peak) << "' x2='" << x0 + w << "' y2='" << py(peak)
            << "' stroke='gray' stroke-dasharray='2,3'/><text x='" << x0 + 5 << "' y='" << py(peak) - 4
            << "' fill='gray'>measured FP32 peak " << fmt(peak) << "</text>\n";
        for (int t = 0; t <= 4; ++t) {
            double g = ymax * t / 4;
            svg << "<text x='" << x0 - 8 << "' y='" << py(g) + 4 << "' text-anchor='end'>" << fmt(g, 0)
                << "</text>\n";
        }
        if (head_dims.empty())
            svg << "<text x='" << x0 + w / 2 << "' y='" << y0 + h / 2
                << "' text-anchor='middle' fill='gray'>no prefill cases in this run</text>\n";
        else
            for (double s = smin; s <= smax * 1.01; s *= 2)
                svg << "<text x='" << px(s) << "' y='" << y0 + h + 18 << "' text-anchor='middle'>"
                    << int64_t(s) << "</text>\n";
        int series = 0;
        for (int64_t dh : head_dims)
            for (bool causal : {false, true}) {
                const bool any = std::any_of(prefill.begin(), prefill.end(), [&](const PrefillResult& r) {
                    return drawn(r) && r.c.head_dim == dh && r.c.causal == causal;
                });
                if (!any) continue;
                const char* color = colors[series++ % 8];
                for (bool naive : {false, true}) {
                    std::vector<std::pair<int64_t, double>> points;  // (seq, GFLOP/s), drawn in seq order
                    for (const auto& r : prefill) {
                        if (!drawn(r) || r.c.head_dim != dh || r.c.causal != causal) continue;
                        if (naive && !r.naive_gflops) continue;
                        points.emplace_back(r.c.seq, naive ? r.naive_gflops->median : r.flash_gflops.median);
                    }
                    std::sort(points.begin(), points.end());
                    std::ostringstream pts, marks;
                    for (const auto& [seq, g] : points) {
                        pts << px(double(seq)) << "," << py(g) << " ";
                        // A marker per point: a series of one length is a point, not a line.
                        marks << "<circle cx='" << px(double(seq)) << "' cy='" << py(g) << "' r='3' fill='"
                              << (naive ? "white" : color) << "' stroke='" << color << "'/>";
                    }
                    svg << "<polyline fill='none' stroke='" << color << "' stroke-width='2'"
                        << (naive ? " stroke-dasharray='6,4'" : "") << " points='" << pts.str() << "'/>"
                        << marks.str() << "\n";
                }
                int ly = y0 + 20 * series;
                svg << "<line x1='" << x0 + w + 15 << "' y1='" << ly << "' x2='" << x0 + w + 40 << "' y2='"
                    << ly << "' stroke='" << color << "' stroke-width='2'/><text x='" << x0 + w + 45
                    << "' y='" << ly + 4 << "'>dh " << dh << (causal ? " causal" : "") << "</text>\n";
            }
        svg << "<text x='" << x0 + w / 2 << "' y='" << y0 + h + 38
            << "' text-anchor='middle'>sequence length</text>\n";
    }
    // Decode: GB/s of KV read per case, bars, with the measured streaming bandwidth.
    {
        const int x0 = margin, y0 = margin + chart_h + gap, w = width - 2 * margin, h = chart_h;
        double ymax = limits.stream_gbps.median * 1.3;
        for (const auto& r : decode) ymax = std::max(ymax, r.gbps * 1.1);
        auto py = [&](double g) { return y0 + h - h * g / ymax; };
        svg << "<text x='" << x0 << "' y='" << y0 - 25
            << "' font-size='15'>Decode, GQA 32/8, dh 128: GB/s of K and V read</text>\n";
        svg << "<line x1='" << x0 << "' y1='" << y0 + h << "' x2='" << x0 + w << "' y2='" << y0 + h
            << "' stroke='black'/>\n";
        const double stream = limits.stream_gbps.median;
        svg << "<line x1='" << x0 << "' y1='" << py(stream) << "' x2='" << x0 + w << "' y2='" << py(stream)
            << "' stroke='gray' stroke-dasharray='2,3'/><text x='" << x0 + 5 << "' y='" << py(stream) - 4
            << "' fill='gray'>measured stream bandwidth " << fmt(stream) << " GB/s</text>\n";
        if (decode.empty())
            svg << "<text x='" << x0 + w / 2 << "' y='" << y0 + h / 2
                << "' text-anchor='middle' fill='gray'>no decode cases in this run</text>\n";
        const double bar = decode.empty() ? 0 : double(w) / double(decode.size());
        for (std::size_t i = 0; i < decode.size(); ++i) {
            const auto& r = decode[i];
            double x = x0 + bar * double(i) + bar * 0.15, bw = bar * 0.7;
            const char* color = r.c.cache_dtype == DataType::BFLOAT8_B ? colors[1] : colors[0];
            svg << "<rect x='" << x << "' y='" << py(r.gbps) << "' width='" << bw << "' height='"
                << y0 + h - py(r.gbps) << "' fill='" << color << "'"
                << (r.c.paged ? " fill-opacity='0.6'" : "") << "/>\n";
            svg << "<text x='" << x + bw / 2 << "' y='" << py(r.gbps) - 4 << "' text-anchor='middle'>"
                << fmt(r.gbps) << "</text>\n";
            svg << "<text x='" << x + bw / 2 << "' y='" << y0 + h + 16
                << "' text-anchor='middle' font-size='10'>" << r.c.users << "x" << size_label(r.c.cache_len)
                << "</text><text x='" << x + bw / 2 << "' y='" << y0 + h + 29
                << "' text-anchor='middle' font-size='10'>"
                << (r.c.cache_dtype == DataType::BFLOAT8_B ? "bfp8" : "bf16")
                << (r.c.cache_dtype == DataType::BFLOAT8_B && r.c.math_fidelity != MathFidelity::HiFi2
                        ? " HiFi" + std::to_string(int(r.c.math_fidelity))
                        : "")
                << (r.c.paged ? " paged" : "") << (r.c.layout == Layout::ROW_MAJOR ? " rm" : "")
                << (r.c.window ? " w" + size_label(r.c.window) : "") << "</text>\n";
        }
    }
    svg << "</svg>\n";
    return svg.str();
}

}  // namespace attnn::bench
