"""TT-NN's compute kernel configuration objects.

Tensix kernels trade accuracy for speed through these (math fidelity, fp32 accumulation in the
destination registers). attnn always computes in fp32 with fp32 accumulation, so the ops accept
a compute_kernel_config so TT-NN programs run unchanged, and only math_fidelity has an effect,
only where attnn's fast path is a narrower product: flash decode's int8 scores over a BFLOAT8_B
K cache (LoFi / HiFi2, its default: q rounded to int8 per 16 values, outlier rows keeping their
residual; HiFi3 / HiFi4: every row's residual, scores as exact as fp32 products, 7-17% slower).
"""

import enum
from dataclasses import dataclass

__all__ = ["MathFidelity", "WormholeComputeKernelConfig", "init_device_compute_kernel_config",
           "SoftmaxDefaultProgramConfig"]


class MathFidelity(enum.Enum):
    LoFi = 0
    HiFi2 = 2
    HiFi3 = 3
    HiFi4 = 4


@dataclass
class WormholeComputeKernelConfig:
    """TT-NN's defaults, as its struct has them (a config built without a fidelity is LoFi)."""
    math_fidelity: MathFidelity = MathFidelity.LoFi
    math_approx_mode: bool = True
    fp32_dest_acc_en: bool = False
    packer_l1_acc: bool = False
    dst_full_sync_en: bool = False


def init_device_compute_kernel_config(arch=None, *, math_fidelity=MathFidelity.LoFi, math_approx_mode=True,
                                      fp32_dest_acc_en=False, packer_l1_acc=False, dst_full_sync_en=False):
    return WormholeComputeKernelConfig(math_fidelity, math_approx_mode, fp32_dest_acc_en, packer_l1_acc,
                                       dst_full_sync_en)


@dataclass
class SoftmaxDefaultProgramConfig:
    """TT-NN's default softmax program config (how Tensix cores split the work): accepted by
    attention_softmax / attention_softmax_, with nothing to choose on the CPU."""
