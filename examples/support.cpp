#include "support.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

namespace attnn::examples {

namespace {
std::string format_value(float v, bool integral) {
    char buf[32];
    if (integral)
        std::snprintf(buf, sizeof buf, "%.0f.", v);
    else
        std::snprintf(buf, sizeof buf, "%.4f", v);
    return buf;
}
}  // namespace

std::string torch_format(const std::vector<float>& values, const std::vector<uint32_t>& shape,
                         const std::string& prefix, const std::string& suffix) {
    // PyTorch pads every entry to the widest one and prints integral tensors as "1.".
    bool integral = std::all_of(values.begin(), values.end(), [](float v) { return v == std::floor(v); });
    std::size_t width = 0;
    for (float v : values) width = std::max(width, format_value(v, integral).size());
    auto entry = [&](float v) {
        std::string s = format_value(v, integral);
        return std::string(width - s.size(), ' ') + s;
    };
    std::string out = prefix;
    if (shape.empty()) return out + entry(values.at(0)) + suffix;
    const std::size_t cols = shape.back(), rows = values.size() / cols;
    if (shape.size() == 1) {
        out += "[";
        for (std::size_t j = 0; j < cols; ++j) out += (j ? ", " : "") + entry(values[j]);
        return out + "]" + suffix;
    }
    out += "[";
    for (std::size_t i = 0; i < rows; ++i) {
        if (i) out += ",\n" + std::string(prefix.size() + 1, ' ');
        out += "[";
        for (std::size_t j = 0; j < cols; ++j) out += (j ? ", " : "") + entry(values[i * cols + j]);
        out += "]";
    }
    return out + "]" + suffix;
}

void matmul_f64(const double* a, const double* b, double* c, int64_t m, int64_t n, int64_t k,
                bool transpose_b) {
    // Rows split over two threads; the i-k-j order keeps the inner loop contiguous.
    auto rows = [&](int64_t r0, int64_t r1) {
        std::vector<double> bt;
        for (int64_t i = r0; i < r1; ++i) {
            double* ci = c + i * n;
            if (transpose_b) {
                for (int64_t j = 0; j < n; ++j) {
                    double s = 0;
                    const double* ai = a + i * k;
                    const double* bj = b + j * k;
                    for (int64_t kk = 0; kk < k; ++kk) s += ai[kk] * bj[kk];
                    ci[j] = s;
                }
            } else {
                std::fill(ci, ci + n, 0.0);
                for (int64_t kk = 0; kk < k; ++kk) {
                    const double aik = a[i * k + kk];
                    const double* bk = b + kk * n;
                    for (int64_t j = 0; j < n; ++j) ci[j] += aik * bk[j];
                }
            }
        }
    };
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(rows, m * t / threads, m * (t + 1) / threads);
    for (auto& th : pool) th.join();
}

void softmax_rows_f64(double* x, int64_t rows, int64_t cols) {
    for (int64_t i = 0; i < rows; ++i) {
        double* r = x + i * cols;
        double mx = *std::max_element(r, r + cols), s = 0;
        for (int64_t j = 0; j < cols; ++j) s += (r[j] = std::exp(r[j] - mx));
        for (int64_t j = 0; j < cols; ++j) r[j] /= s;
    }
}

std::vector<double> widen(const std::vector<float>& v) { return {v.begin(), v.end()}; }

void progress(const std::string& label, int64_t done, int64_t total) {
    // On a terminal, one line rewritten in place; in a log, a line at every tenth of the run.
    static const bool terminal = isatty(2);
    if (terminal) {
        std::fprintf(stderr, "\r  %s [%lld/%lld]%s", label.c_str(), (long long)done, (long long)total,
                     done == total ? "\n" : "");
    } else if (done == total || (total >= 10 && done % (total / 10) == 0)) {
        std::fprintf(stderr, "  %s [%lld/%lld]\n", label.c_str(), (long long)done, (long long)total);
    }
    std::fflush(stderr);
}

}  // namespace attnn::examples
