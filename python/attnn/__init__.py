"""attnn: TT-NN's attention stack, running on the CPU.

A TT-NN program runs on attnn with one changed line, ``import attnn as ttnn``: the device, tensors
in ROW_MAJOR or 32x32 TILE layout, BFLOAT16 / BFLOAT8_B / BFLOAT4_B storage, the program cache and
the ops keep TT-NN's names, keyword names and shapes. Every op runs in attnn's C++ library
(attnn._attnn); this package converts arguments and host data.
"""

from . import _attnn
from ._attnn import (
    BufferType,
    CoreGrid,
    DataType,
    Device,
    Layout,
    MemoryConfig,
    Shape,
    Tensor,
    TensorMemoryLayout,
    bfloat4_b,
    bfloat8_b,
    bfloat16,
    float32,
    int32,
    uint32,
    ROW_MAJOR_LAYOUT,
    TILE_LAYOUT,
    TILE_SIZE,
    DRAM_MEMORY_CONFIG,
    L1_MEMORY_CONFIG,
    # device
    close_device,
    disable_and_clear_program_cache,
    enable_program_cache,
    get_num_devices,
    # tensors
    clone,
    deallocate,
    from_device,
    full,
    load_npy,
    ones,
    save_npy,
    to_device,
    to_layout,
    typecast,
    zeros,
    # RoPE tables
    RopeTables,
    rope_cache_tensors,
    rope_decode_tensors,
    rope_frequencies,
    rope_prefill_tensors,
    rope_tables,
    # ops
    EmbeddingsType,
    add,
    copy,
    copy_host_to_device_tensor,
    embedding,
    fill_cache,
    linear,
    matmul,
    multiply,
    permute,
    plus_one,
    reshape,
    slice,
    softmax,
    subtract,
    transpose,
    update_cache,
)
from ._device import Arch, CoreCoord, manage_device, open_device
from ._indexing import _getitem
from ._convert import as_tensor, comp_pcc, from_numpy, from_torch, to_numpy, to_torch
from ._runtime import get_fallback_function, log_runtime
from ._config import (MathFidelity, SoftmaxDefaultProgramConfig, WormholeComputeKernelConfig,
                      init_device_compute_kernel_config)
from . import experimental, kv_cache, model_preprocessing, nn, random, transformer
from .transformer import SDPAProgramConfig

# TT-NN's sharded memory configs: carried on tensors as given (a CPU's memory is one host memory).
L1_HEIGHT_SHARDED_MEMORY_CONFIG = MemoryConfig(TensorMemoryLayout.HEIGHT_SHARDED, BufferType.L1)
L1_WIDTH_SHARDED_MEMORY_CONFIG = MemoryConfig(TensorMemoryLayout.WIDTH_SHARDED, BufferType.L1)
L1_BLOCK_SHARDED_MEMORY_CONFIG = MemoryConfig(TensorMemoryLayout.BLOCK_SHARDED, BufferType.L1)


def to_memory_config(tensor, memory_config, dtype=None):
    """ttnn.to_memory_config: a copy of tensor in memory_config (and dtype, where given)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_memory_config: tensor: expected an attnn.Tensor, given {type(tensor).__name__}")
    return typecast(tensor, tensor.dtype if dtype is None else dtype, memory_config=memory_config)


def unsqueeze_to_4D(tensor):
    """ttnn.unsqueeze_to_4D: tensor reshaped to rank 4 by leading dims of 1 (rank 4 as it is)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"unsqueeze_to_4D: tensor: expected an attnn.Tensor, given {type(tensor).__name__}")
    shape = list(tensor.shape)
    if len(shape) > 4:
        raise ValueError(f"unsqueeze_to_4D: tensor: expected rank <= 4, given shape {shape}")
    return tensor if len(shape) == 4 else reshape(tensor, [1] * (4 - len(shape)) + shape)


def _len(self):
    """len(tensor): the size of its first dim, as torch.Tensor's."""
    return self.shape[0]


def _iter(self):
    """Iterating a tensor gives its sub-tensors along the first dim (tensor[i]), as torch's does. A
    1-D tensor has none (attnn has no 0-d tensors): a TypeError says so, rather than Python's
    fallback through __getitem__ silently yielding nothing."""
    if len(self.shape) < 2:
        raise TypeError("iterating a 1-D attnn.Tensor: attnn has no 0-d tensors to yield; read its values "
                        "with to_torch(tensor).tolist(), or pass the tensor itself where an op takes one")
    return (self[i] for i in range(self.shape[0]))


Tensor.__getitem__ = _getitem
Tensor.__len__ = _len
Tensor.__iter__ = _iter
Device.arch = lambda self: Arch.CPU
Device.arch.__doc__ = "The device's architecture, as TT-NN's device.arch(): Arch.CPU."

__version__ = "0.1.0"
