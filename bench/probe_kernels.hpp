// The machine-limit probe kernels, one set per instruction set, chosen at run time.
//
// probe_kernels.cpp is compiled three times (AVX-512, AVX2+FMA, portable) into separate
// namespaces, as src/kernels/isa_kernels.cpp is, so one binary measures the widest vector
// unit of whatever x86-64 it runs on.
#pragma once
#include <cstdint>

#include "kernels/kernels.hpp"

namespace attnn::bench {

struct ProbeKernels {
    kernels::Isa isa;
    const char* name;
    // Runs `iterations` steps of independent multiply-add chains and returns the FLOPs done
    // (2 per lane per chain per step). `seed` keeps the compiler from folding the chains.
    double (*fma_chains)(int64_t iterations, float seed);
    // Reads n floats (n a multiple of 64, p 64-byte aligned) and returns their sum, so the
    // loads cannot be dropped.
    float (*stream_read)(const float* p, int64_t n);
};

const ProbeKernels& probe_kernels(kernels::Isa isa);

}  // namespace attnn::bench
