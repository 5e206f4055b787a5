"""ttnn.transformer: the multi-head attention tutorial's ops, flash attention and flash decode."""

import numbers
import operator

import numpy as np

from . import _attnn
from ._config import MathFidelity, WormholeComputeKernelConfig

_t = _attnn.transformer

SDPAProgramConfig = _t.SDPAProgramConfig
split_query_key_value_and_split_heads = _t.split_query_key_value_and_split_heads
attention_softmax = _t.attention_softmax
attention_softmax_ = _t.attention_softmax_
concatenate_heads = _t.concatenate_heads
scaled_dot_product_attention = _t.scaled_dot_product_attention
chunked_scaled_dot_product_attention = _t.chunked_scaled_dot_product_attention

__all__ = [
    "SDPAProgramConfig",
    "split_query_key_value_and_split_heads",
    "attention_softmax",
    "attention_softmax_",
    "concatenate_heads",
    "scaled_dot_product_attention",
    "chunked_scaled_dot_product_attention",
    "scaled_dot_product_attention_decode",
    "paged_scaled_dot_product_attention_decode",
]


def _positions(op, cur_pos):
    if cur_pos is None:
        return None
    if isinstance(cur_pos, numbers.Integral) or not hasattr(cur_pos, "__iter__"):
        raise TypeError(f"{op}: cur_pos: expected a list with one position per user, given {type(cur_pos).__name__}")
    positions = []
    for i, p in enumerate(cur_pos):
        try:
            value = operator.index(p)  # ints, numpy ints and 0-d integer arrays / tensors
        except TypeError:
            value = None
        if value is None or not -1 <= value < 2**31:
            raise ValueError(f"{op}: cur_pos[{i}]: expected an int in [-1, 2**31), given {p!r}")
        positions.append(value)
    return positions


def _unset(op, **kwargs):
    """TT-NN keywords attnn takes at their no-op value only (sharing a cache between users,
    multi-device placement): anything else is refused by name."""
    for name, value in kwargs.items():
        if value is not None and not (isinstance(value, (bool, np.bool_)) and not value):
            raise NotImplementedError(f"{op}: {name}: attnn supports only None here, given {value!r}")


def _matches_cache(op, shape, **kwargs):
    """TT-NN's block_size= / num_kv_heads= restate the paged cache's shape [., nkv, block_size, .]:
    where given, they must agree with it."""
    for name, value in kwargs.items():
        dim = {"block_size": 2, "num_kv_heads": 1}[name]
        if value is not None and len(shape) == 4 and int(value) != shape[dim]:
            raise ValueError(f"{op}: {name}={value} differs from the cache's {shape[dim]} (cache.shape={shape})")


def _tensors(op, **kwargs):
    for name, value in kwargs.items():
        if not isinstance(value, _attnn.Tensor):
            raise TypeError(f"{op}: {name}: expected an attnn.Tensor, given {type(value).__name__}")


def _config_arg(op, config):
    if config is not None and not isinstance(config, SDPAProgramConfig):
        raise TypeError(f"{op}: program_config: expected an SDPAProgramConfig, given {type(config).__name__}")
    return config


def _math_fidelity(op, config):
    """compute_kernel_config's math fidelity as the C++ op takes it (None: the op's default)."""
    if config is None:
        return None
    if not isinstance(config, WormholeComputeKernelConfig):
        raise TypeError(f"{op}: compute_kernel_config: expected a WormholeComputeKernelConfig, "
                        f"given {type(config).__name__}")
    if not isinstance(config.math_fidelity, MathFidelity):
        raise TypeError(f"{op}: compute_kernel_config.math_fidelity: expected a MathFidelity, "
                        f"given {type(config.math_fidelity).__name__}")
    return config.math_fidelity.value


def _tensor_arg(op, name, value):
    if value is not None and not isinstance(value, _attnn.Tensor):
        raise TypeError(f"{op}: {name}: expected an attnn.Tensor, given {type(value).__name__}")
    return value


def scaled_dot_product_attention_decode(input_tensor_q, input_tensor_k, input_tensor_v, *, is_causal=True,
                                        attn_mask=None, cur_pos=None, cur_pos_tensor=None, scale=None,
                                        sliding_window_size=None, attention_sink=None, program_config=None,
                                        compute_kernel_config=None, memory_config=None, share_cache=None):
    """Flash decode: q [1, b, nqh, dh] over k/v [b, nkv, s, dh] -> [1, b, nqh, dh].

    Causal: user i attends to keys 0..cur_pos[i] (cur_pos a list, or cur_pos_tensor INT32 [b]);
    -1 skips a user; sliding_window_size=w keeps keys cur_pos[i] - w + 1 .. cur_pos[i]. Non-causal:
    attn_mask [1, b, nqh, s] is added to the scaled scores. attention_sink [1, nqh, 1, 1]: a logit
    per head that joins the softmax with no value. compute_kernel_config's math_fidelity sets how
    exactly a BFLOAT8_B K cache's int8 scores see q (None: HiFi2; HiFi3 / HiFi4: as fp32 products)."""
    op = "scaled_dot_product_attention_decode"
    _unset(op, share_cache=share_cache)
    _tensors(op, input_tensor_q=input_tensor_q, input_tensor_k=input_tensor_k, input_tensor_v=input_tensor_v)
    return _t._sdpa_decode(input_tensor_q, input_tensor_k, input_tensor_v, None, is_causal,
                           _tensor_arg(op, "attn_mask", attn_mask),
                           _positions(op, cur_pos), _tensor_arg(op, "cur_pos_tensor", cur_pos_tensor), scale,
                           sliding_window_size, _tensor_arg(op, "attention_sink", attention_sink),
                           _config_arg(op, program_config), _math_fidelity(op, compute_kernel_config),
                           memory_config)


def paged_scaled_dot_product_attention_decode(input_tensor_q, input_tensor_k, input_tensor_v,
                                              page_table_tensor=None, *, page_table=None, is_causal=True,
                                              attn_mask=None, cur_pos=None, cur_pos_tensor=None, scale=None,
                                              sliding_window_size=None, attention_sink=None, program_config=None,
                                              compute_kernel_config=None, memory_config=None, share_cache=None,
                                              block_size=None, num_kv_heads=None, cache_position_modulo=None):
    """Flash decode over a paged cache: k/v [max_blocks, nkv, block_size, dh] and the page table
    INT32 [b, blocks_per_user] (as page_table_tensor, or page_table as seed 004 writes it).
    block_size and num_kv_heads, where given, must match the cache's shape [., nkv, block_size, .]."""
    op = "paged_scaled_dot_product_attention_decode"
    _unset(op, share_cache=share_cache, cache_position_modulo=cache_position_modulo)
    _tensors(op, input_tensor_q=input_tensor_q, input_tensor_k=input_tensor_k, input_tensor_v=input_tensor_v)
    _matches_cache(op, input_tensor_k.shape, block_size=block_size, num_kv_heads=num_kv_heads)
    if page_table_tensor is not None and page_table is not None and page_table_tensor is not page_table:
        raise ValueError("paged_scaled_dot_product_attention_decode: give page_table_tensor or page_table, not both")
    table = page_table_tensor if page_table_tensor is not None else page_table
    if table is None:
        raise ValueError("paged_scaled_dot_product_attention_decode: page_table_tensor: expected an INT32 tensor "
                         "[b, blocks_per_user], given None")
    return _t._sdpa_decode(input_tensor_q, input_tensor_k, input_tensor_v,
                           _tensor_arg(op, "page_table_tensor", table), is_causal,
                           _tensor_arg(op, "attn_mask", attn_mask), _positions(op, cur_pos),
                           _tensor_arg(op, "cur_pos_tensor", cur_pos_tensor), scale, sliding_window_size,
                           _tensor_arg(op, "attention_sink", attention_sink), _config_arg(op, program_config),
                           _math_fidelity(op, compute_kernel_config), memory_config)
