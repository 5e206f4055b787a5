"""ttnn.experimental: the LLM attention layer's head, RoPE and paged-cache ops."""

from . import _attnn

_e = _attnn.experimental

nlp_create_qkv_heads = _e.nlp_create_qkv_heads
nlp_create_qkv_heads_decode = _e.nlp_create_qkv_heads_decode
nlp_concat_heads = _e.nlp_concat_heads
nlp_concat_heads_decode = _e.nlp_concat_heads_decode
rotary_embedding_llama = _e.rotary_embedding_llama
rotary_embedding = _e.rotary_embedding
get_rot_transformation_mat = _e.get_rot_transformation_mat
paged_fill_cache = _e.paged_fill_cache


def paged_update_cache(cache_tensor, input_tensor, *, update_idxs=None, update_idxs_tensor=None, page_table=None,
                       compute_kernel_config=None):
    """Writes each user's new K (or V) row [1, b, nkv, dh] at its position (update_idxs, a list
    with -1 to skip a user, or update_idxs_tensor INT32 [b]); page_table for a paged cache."""
    if update_idxs is not None:
        update_idxs = [int(i) for i in update_idxs]
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
