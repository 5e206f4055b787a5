"""Host data <-> attnn tensors: numpy always, PyTorch when it is importable.

bfloat16 travels as ml_dtypes.bfloat16 in numpy and torch.bfloat16 in PyTorch, bit for bit.
Tensors come back in their logical shape: FLOAT32, BFLOAT8_B and BFLOAT4_B as float32 (the
block floats decoded), BFLOAT16 as bfloat16, INT32 as int32, UINT32 as uint32.
"""

import numpy as np

from . import _attnn
from ._attnn import DataType, Layout, Tensor
from .transformer import _unset

try:
    import ml_dtypes

    _BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - ml_dtypes is a dependency
    _BF16 = None

__all__ = ["from_numpy", "to_numpy", "from_torch", "to_torch", "comp_pcc"]

_NATIVE = {np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int32), np.dtype(np.uint32)}


def _torch():
    try:
        import torch
    except ImportError as e:
        raise ImportError("attnn: to_torch/from_torch need PyTorch; use to_numpy/from_numpy without it") from e
    return torch


def _is_torch_tensor(x):
    t = type(x)
    return t.__module__.startswith("torch") and t.__name__ in ("Tensor", "Parameter")


def _prepare(op, array):
    """A C-contiguous array of a dtype the core takes, and whether it holds bfloat16 bits."""
    if not isinstance(array, np.ndarray):
        array = np.asarray(array)
    if array.ndim == 0:  # a scalar becomes a tensor of shape [1], as attnn shapes have rank >= 1
        array = array.reshape(1)
    dt = array.dtype
    if _BF16 is not None and dt == _BF16:
        return np.ascontiguousarray(array).view(np.uint16), True
    if dt in _NATIVE:
        return np.ascontiguousarray(array), False
    if dt == np.float16 or dt == np.bool_:
        return np.ascontiguousarray(array, dtype=np.float32), False
    if dt.kind in "iu":
        if array.size and (array.min() < np.iinfo(np.int32).min or array.max() > np.iinfo(np.uint32).max):
            raise ValueError(f"{op}: tensor: integer values outside int32/uint32 range")
        if array.size and array.min() < 0 and array.max() > np.iinfo(np.int32).max:
            raise ValueError(f"{op}: tensor: integer values span negatives and values above 2**31 - 1 "
                             f"(min {array.min()}, max {array.max()}): neither INT32 nor UINT32 holds them all")
        if dt.kind == "u" or (array.size and array.min() >= 0 and array.max() > np.iinfo(np.int32).max):
            return np.ascontiguousarray(array, dtype=np.uint32), False
        return np.ascontiguousarray(array, dtype=np.int32), False
    raise TypeError(
        f"{op}: tensor: expected float32, float64, bfloat16, float16, bool or integer data, given dtype {dt}"
    )


def _from_host(op, array, dtype, layout, device, memory_config, pad_value):
    if not isinstance(layout, Layout):
        raise TypeError(f"{op}: layout: expected attnn.ROW_MAJOR_LAYOUT or attnn.TILE_LAYOUT, given {layout!r}")
    if dtype is not None and not isinstance(dtype, DataType):
        raise TypeError(f"{op}: dtype: expected an attnn data type (e.g. attnn.bfloat16), given {dtype!r}")
    data, bf16_bits = _prepare(op, array)
    return _attnn._from_array(op, data, bf16_bits, dtype, layout, device, memory_config, pad_value)


def from_numpy(array, dtype=None, *, layout=Layout.ROW_MAJOR, device=None, memory_config=None, pad_value=None):
    """numpy array (or anything np.asarray takes) -> Tensor.

    dtype defaults to the array's (float64 becomes FLOAT32); BFLOAT8_B and BFLOAT4_B need
    TILE layout. pad_value fills the tile padding (use -inf for masks).
    """
    return _from_host("from_numpy", array, dtype, layout, device, memory_config, pad_value)


def from_torch(tensor, dtype=None, *, layout=Layout.ROW_MAJOR, device=None, memory_config=None, pad_value=None,
               tile=None, spec=None, mesh_mapper=None, cq_id=None):
    """torch.Tensor -> Tensor, as ttnn.from_torch. numpy arrays are accepted too.

    TT-NN's mesh_mapper (multi-device) and spec must be None; tile, where given, must be the 32x32
    tile attnn uses; cq_id is accepted and has no effect."""
    _unset("from_torch", mesh_mapper=mesh_mapper, spec=spec)
    if tile is not None:
        shape = tuple(getattr(tile, "tile_shape", tile))
        if shape != (32, 32):
            raise ValueError(f"from_torch: tile: attnn's TILE layout is 32x32, given {shape}")
    if _is_torch_tensor(tensor):
        torch = _torch()
        t = tensor.detach().cpu().contiguous()
        if t.dtype == torch.bfloat16:
            array = t.view(torch.int16).numpy().view(np.uint16)
            if _BF16 is not None:
                array = array.view(_BF16)
        else:
            array = t.numpy()
    else:
        array = tensor
    return _from_host("from_torch", array, dtype, layout, device, memory_config, pad_value)


def _host_array(tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_numpy: expected an attnn.Tensor, given {type(tensor).__name__}")
    array = _attnn._to_array(tensor)
    if tensor.dtype == DataType.BFLOAT16 and _BF16 is not None:
        array = array.view(_BF16)
    return array


def to_numpy(tensor, dtype=None):
    """Tensor -> numpy array of its logical shape (see the module doc for the dtypes)."""
    array = _host_array(tensor)
    return array if dtype is None else array.astype(dtype)


def as_tensor(tensor, dtype=None, *, layout=Layout.ROW_MAJOR, device=None, memory_config=None,
              cache_file_name=None, preprocess=None, mesh_mapper=None, use_device_tilizer=False):
    """ttnn.as_tensor: from_torch after ``preprocess`` (if given). TT-NN caches the converted
    tensor in cache_file_name; attnn converts on every call, so the name has no effect."""
    if preprocess is not None:
        tensor = preprocess(tensor)
    return from_torch(tensor, dtype, layout=layout, device=device, memory_config=memory_config,
                      mesh_mapper=mesh_mapper)


def to_torch(tensor, dtype=None, *, mesh_composer=None, device=None, cq_id=None):
    """Tensor -> torch.Tensor, as ttnn.to_torch (BFLOAT16 gives torch.bfloat16). TT-NN's
    mesh_composer (multi-device) must be None; device and cq_id have no effect."""
    _unset("to_torch", mesh_composer=mesh_composer)
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_torch: expected an attnn.Tensor, given {type(tensor).__name__}")
    torch = _torch()
    array = _attnn._to_array(tensor)
    if tensor.dtype == DataType.BFLOAT16:
        out = torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
    else:
        out = torch.from_numpy(array)
    return out if dtype is None else out.to(dtype)


def _float64(x):
    if isinstance(x, Tensor):
        return _host_array(x).astype(np.float64)
    if _is_torch_tensor(x):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def comp_pcc(golden, calculated, pcc=0.99):
    """TT-NN's comp_pcc: (passed, pcc) with the Pearson correlation of the flattened values.

    Takes attnn tensors, numpy arrays or torch tensors; NaN and inf are zeroed first."""
    a = np.ascontiguousarray(_float64(golden).ravel())
    b = np.ascontiguousarray(_float64(calculated).ravel())
    if a.size != b.size:
        raise ValueError(f"comp_pcc: golden has {a.size} values, calculated {b.size}")
    value = _attnn._comp_pcc(a, b)
    return value >= pcc, value
