// Probe kernels of one instruction set. Compiled once per ISA with ATTNN_PROBE_NS set to
// avx512, avx2 or portable and the matching -m flags. As in src/kernels/isa_kernels.cpp, no
// inline function of a shared header may be used here: the linker could keep a copy compiled
// for a wider ISA than the CPU has. Builtins, vector extensions and plain loops only.
#include "probe_kernels.hpp"

#include <cstdint>

#ifndef ATTNN_PROBE_NS
#error "ATTNN_PROBE_NS must name the ISA this translation unit is compiled for"
#endif

namespace attnn::bench::ATTNN_PROBE_NS {
namespace {

#if defined(__AVX512F__)
constexpr int W = 16;
// 16 chains x 4-cycle FMA latency covers 2 FMA ports with room to spare; 16 + 2 of 32 zmm.
constexpr int chains = 16;
constexpr kernels::Isa this_isa = kernels::Isa::avx512;
constexpr const char* isa_label = "avx512";
#elif defined(__AVX2__)
constexpr int W = 8;
constexpr int chains = 12;  // 12 + 2 of 16 ymm; covers latency 4-5 x 2 ports
constexpr kernels::Isa this_isa = kernels::Isa::avx2;
constexpr const char* isa_label = "avx2";
#else
constexpr int W = 4;
constexpr int chains = 12;  // separate mul and add (no FMA in baseline x86-64): 12 + 2 of 16 xmm
constexpr kernels::Isa this_isa = kernels::Isa::portable;
constexpr const char* isa_label = "portable";
#endif

typedef float vf __attribute__((vector_size(W * 4)));

// acc = acc * m + a with m just below 1 converges to a / (1 - m): no overflow, no denormals,
// and every step depends on the last, so the chains must run side by side to fill the ports.
double fma_chains(int64_t iterations, float seed) {
    vf acc[chains];
    for (int c = 0; c < chains; ++c) acc[c] = vf{} + (seed + float(c));
    const vf m = vf{} + 0.999999f;
    const vf a = vf{} + seed * 1e-6f;
    for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 16
        for (int c = 0; c < chains; ++c) acc[c] = acc[c] * m + a;
    }
    vf total = vf{};
    for (int c = 0; c < chains; ++c) total += acc[c];
    float sum = 0;
    for (int l = 0; l < W; ++l) sum += total[l];
    // Keeps the chains alive: a result the caller could observe.
    __asm__ volatile("" : : "x"(sum));
    return 2.0 * double(W) * chains * double(iterations);
}

// Four independent accumulators so the adds do not bound the loop; the loads do.
float stream_read(const float* p, int64_t n) {
    vf s0 = vf{}, s1 = vf{}, s2 = vf{}, s3 = vf{};
    const vf* v = reinterpret_cast<const vf*>(__builtin_assume_aligned(p, 64));
    const int64_t nv = n / W;
    for (int64_t i = 0; i + 4 <= nv; i += 4) {
        s0 += v[i];
        s1 += v[i + 1];
        s2 += v[i + 2];
        s3 += v[i + 3];
    }
    vf s = (s0 + s1) + (s2 + s3);
    float sum = 0;
    for (int l = 0; l < W; ++l) sum += s[l];
    return sum;
}

}  // namespace

extern const ProbeKernels probes;
const ProbeKernels probes{this_isa, isa_label, fma_chains, stream_read};

}  // namespace attnn::bench::ATTNN_PROBE_NS
