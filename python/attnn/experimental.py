"""ttnn.experimental: the LLM attention layer's head, RoPE and paged-cache ops."""

import numbers
import operator

from . import _attnn
from .transformer import _matches_cache, _unset

_e = _attnn.experimental

nlp_create_qkv_heads = _e.nlp_create_qkv_heads
nlp_create_qkv_heads_decode = _e.nlp_create_qkv_heads_decode
nlp_concat_heads = _e.nlp_concat_heads
nlp_concat_heads_decode = _e.nlp_concat_heads_decode
rotary_embedding_llama = _e.rotary_embedding_llama
rotary_embedding = _e.rotary_embedding
get_rot_transformation_mat = _e.get_rot_transformation_mat


def paged_fill_cache(cache_tensor, input_tensor, page_table, *, batch_idx_tensor=None, batch_idx=0,
                     compute_kernel_config=None, mesh_coords=None, block_size=None, cache_position_modulo=None,
                     valid_seq_len_tensor=None):
    """Writes input [1, nkv, s, dh] as positions 0..s-1 of user batch_idx (or the one-element INT32
    tensor batch_idx_tensor) of the paged cache [max_blocks, nkv, block_size, dh]."""
    op = "paged_fill_cache"
    if batch_idx_tensor is not None and batch_idx != 0:
        raise ValueError(f"{op}: give batch_idx or batch_idx_tensor, not both (batch_idx={batch_idx!r})")
    _unset(op, mesh_coords=mesh_coords, cache_position_modulo=cache_position_modulo,
           valid_seq_len_tensor=valid_seq_len_tensor)
    _matches_cache(op, cache_tensor.shape, block_size=block_size)
    return _e.paged_fill_cache(cache_tensor, input_tensor, page_table, batch_idx_tensor=batch_idx_tensor,
                               batch_idx=batch_idx)


def paged_update_cache(cache_tensor, input_tensor, *, update_idxs=None, update_idxs_tensor=None, page_table=None,
                       share_cache=None, batch_offset=0, compute_kernel_config=None, mesh_coords=None,
                       block_size=None, num_kv_heads=None):
    """Writes each user's new K (or V) row [1, b, nkv, dh] at its position (update_idxs, a list
    with -1 to skip a user, or update_idxs_tensor INT32 [b]); page_table for a paged cache."""
    op = "paged_update_cache"
    _unset(op, share_cache=share_cache, mesh_coords=mesh_coords)
    if batch_offset not in (0, None):
        raise NotImplementedError(f"{op}: batch_offset: attnn supports only 0 (one device holds every user), "
                                  f"given {batch_offset!r}")
    _matches_cache(op, cache_tensor.shape, block_size=block_size, num_kv_heads=num_kv_heads)
    if update_idxs is not None:
        if isinstance(update_idxs, numbers.Integral) or not hasattr(update_idxs, "__iter__"):
            raise TypeError(f"{op}: update_idxs: expected a list with one position per user, "
                            f"given {type(update_idxs).__name__}")
        try:  # operator.index: an int, or numpy's; 3.9 must not become position 3
            update_idxs = [operator.index(i) for i in update_idxs]
        except TypeError:
            bad = next(i for i in update_idxs if not hasattr(type(i), "__index__"))
            raise TypeError(f"{op}: update_idxs: expected ints (-1 skips a user), given {bad!r}") from None
    return _e.paged_update_cache(cache_tensor, input_tensor, update_idxs=update_idxs,
                                 update_idxs_tensor=update_idxs_tensor, page_table=page_table)


__all__ = [
    "nlp_create_qkv_heads",
    "nlp_create_qkv_heads_decode",
    "nlp_concat_heads",
    "nlp_concat_heads_decode",
    "rotary_embedding_llama",
    "rotary_embedding",
    "get_rot_transformation_mat",
    "paged_fill_cache",
    "paged_update_cache",
]
