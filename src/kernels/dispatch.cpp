#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "attnn/error.hpp"
#include "kernels/kernels.hpp"

namespace attnn::kernels {
namespace avx512 {
extern const KernelTable table;
}
namespace avx2 {
extern const KernelTable table;
}
namespace portable {
extern const KernelTable table;
}

namespace {
const KernelTable* table_for(Isa isa) {
    switch (isa) {
        case Isa::avx512:
            return &avx512::table;
        case Isa::avx2:
            return &avx2::table;
        case Isa::portable:
            return &portable::table;
    }
    return &portable::table;
}

bool cpu_supports(Isa isa) {
    __builtin_cpu_init();
    switch (isa) {
        case Isa::avx512:
            return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                   __builtin_cpu_supports("fma");
        case Isa::avx2:
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        case Isa::portable:
            return true;
    }
    return false;
}

const KernelTable* initial_table() {
    Isa isa = best_isa();
    // ATTNN_ISA narrows the choice. A value that names no path, or one this CPU lacks, keeps the
    // best path and says so once on stderr (a typo must not pass for a measured narrower path).
    if (const char* env = std::getenv("ATTNN_ISA"); env && *env) {
        const std::string want = env;
        bool known = false;
        for (Isa candidate : {Isa::portable, Isa::avx2, Isa::avx512})
            if (want == isa_name(candidate)) {
                known = true;
                if (cpu_supports(candidate))
                    isa = candidate;
                else
                    std::fprintf(stderr, "attnn: ATTNN_ISA=%s: this CPU lacks it; using %s\n", env,
                                 isa_name(isa));
            }
        if (!known)
            std::fprintf(stderr,
                         "attnn: ATTNN_ISA=%s names no SIMD path (avx512, avx2, portable); using %s\n", env,
                         isa_name(isa));
    }
    return table_for(isa);
}

std::atomic<const KernelTable*> active{nullptr};
}  // namespace

const KernelTable& table() {
    const KernelTable* t = active.load(std::memory_order_acquire);
    if (!t) {
        t = initial_table();
        active.store(t, std::memory_order_release);
    }
    return *t;
}

Isa best_isa() {
    for (Isa isa : {Isa::avx512, Isa::avx2})
        if (cpu_supports(isa)) return isa;
    return Isa::portable;
}

std::vector<Isa> supported_isas() {
    std::vector<Isa> out;
    for (Isa isa : {Isa::portable, Isa::avx2, Isa::avx512})
        if (cpu_supports(isa)) out.push_back(isa);
    return out;
}

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::avx512:
            return "avx512";
        case Isa::avx2:
            return "avx2";
        case Isa::portable:
            return "portable";
    }
    return "portable";
}

bool has_bf16_dot(int format) {
    // ATTNN_BF16_DOT=0 keeps decode on the fp32 kernels (to compare, or for fp32 products).
    static const bool cpu = [] {
        __builtin_cpu_init();
        const char* env = std::getenv("ATTNN_BF16_DOT");
        return __builtin_cpu_supports("avx512bf16") && !(env && std::string(env) == "0");
    }();
    static const bool vbmi = __builtin_cpu_supports("avx512vbmi");
    return cpu && (format != 2 || vbmi) && table().tile_scores_bf16 != nullptr;
}

bool has_int8_dot() {
    static const bool cpu = [] {
        __builtin_cpu_init();
        const char* env = std::getenv("ATTNN_INT8_DOT");
        return __builtin_cpu_supports("avx512vnni") && !(env && std::string(env) == "0");
    }();
    return cpu && table().tile_scores_q8 != nullptr;
}

void set_isa(Isa isa) {
    if (!cpu_supports(isa))
        detail::fail(ErrorKind::Runtime, "set_isa", "this CPU does not support ", isa_name(isa));
    active.store(table_for(isa), std::memory_order_release);
}

}  // namespace attnn::kernels
