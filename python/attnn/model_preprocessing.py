"""ttnn.model_preprocessing: torch (or numpy) parameters -> attnn tensors laid out for linear."""

import numpy as np

from ._attnn import TILE_LAYOUT
from ._convert import _is_torch_tensor, from_numpy, from_torch

__all__ = ["preprocess_linear_weight", "preprocess_linear_bias"]


def _transposed(weight):
    if _is_torch_tensor(weight):
        return weight.T.contiguous()
    return np.ascontiguousarray(np.asarray(weight).T)


def preprocess_linear_weight(weight, *, dtype, layout=TILE_LAYOUT):
    """nn.Linear's weight [out, in] -> host tensor [in, out] for linear(x, w)."""
    if len(weight.shape) != 2:
        raise ValueError(f"preprocess_linear_weight: weight: expected rank 2 [out, in], given shape {tuple(weight.shape)}")
    return from_torch(_transposed(weight), dtype=dtype, layout=layout)


def preprocess_linear_bias(bias, *, dtype, layout=TILE_LAYOUT):
    """bias [out] -> host tensor [1, out]."""
    return from_torch(bias.reshape((1, -1)), dtype=dtype, layout=layout)
