#include "probe_kernels.hpp"

namespace attnn::bench {
namespace avx512 {
extern const ProbeKernels probes;
}
namespace avx2 {
extern const ProbeKernels probes;
}
namespace portable {
extern const ProbeKernels probes;
}

const ProbeKernels& probe_kernels(kernels::Isa isa) {
    switch (isa) {
        case kernels::Isa::avx512:
            return avx512::probes;
        case kernels::Isa::avx2:
            return avx2::probes;
        case kernels::Isa::portable:
            return portable::probes;
    }
    return portable::probes;
}

}  // namespace attnn::bench
