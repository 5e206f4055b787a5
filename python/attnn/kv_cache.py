"""ttnn.kv_cache: the in-place KV cache writes TT-NN's older models call by these names."""

from . import _attnn

__all__ = ["fill_cache_for_user_", "update_cache_for_token_"]


def fill_cache_for_user_(cache, user_entry, user_index):
    """Writes user_entry [1, nkv, s, dh] as positions 0..s-1 of user `user_index` (ttnn.fill_cache)."""
    return _attnn.fill_cache(cache, user_entry, user_index)


def update_cache_for_token_(cache, token, update_index, batch_offset=0):
    """Writes each user's row of token [1, nkv, rows, dh] at position update_index
    (ttnn.update_cache, users side by side from batch_offset)."""
    return _attnn.update_cache(cache, token, update_index, batch_offset)
