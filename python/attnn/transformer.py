"""ttnn.transformer: the multi-head attention tutorial's ops, flash attention and flash decode."""

from . import _attnn

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


def _positions(cur_pos):
    if cur_pos is None:
        return None
    if isinstance(cur_pos, int):
        raise TypeError("scaled_dot_product_attention_decode: cur_pos: expected a list with one position per user")
    return [int(p) for p in cur_pos]


def scaled_dot_product_attention_decode(input_tensor_q, input_tensor_k, input_tensor_v, *, is_causal=True,
                                        attn_mask=None, cur_pos=None, cur_pos_tensor=None, scale=None,
                                        sliding_window_size=None, attention_sink=None, program_config=None,
                                        compute_kernel_config=None, memory_config=None):
    """Flash decode: q [1, b, nqh, dh] over k/v [b, nkv, s, dh] -> [1, b, nqh, dh].

    Causal: user i attends to keys 0..cur_pos[i] (cur_pos a list, or cur_pos_tensor INT32 [b]);
    -1 skips a user; sliding_window_size=w keeps keys cur_pos[i] - w + 1 .. cur_pos[i]. Non-causal:
    attn_mask [1, b, nqh, s] is added to the scaled scores. attention_sink [1, nqh, 1, 1]: a logit
    per head that joins the softmax with no value."""
    return _t._sdpa_decode(input_tensor_q, input_tensor_k, input_tensor_v, None, is_causal, attn_mask,
                           _positions(cur_pos), cur_pos_tensor, scale, sliding_window_size, attention_sink,
                           program_config, memory_config)


def paged_scaled_dot_product_attention_decode(input_tensor_q, input_tensor_k, input_tensor_v,
                                              page_table_tensor=None, *, page_table=None, is_causal=True,
                                              attn_mask=None, cur_pos=None, cur_pos_tensor=None, scale=None,
                                              sliding_window_size=None, attention_sink=None, program_config=None,
                                              compute_kernel_config=None, memory_config=None):
    """Flash decode over a paged cache: k/v [max_blocks, nkv, block_size, dh] and the page table
    INT32 [b, blocks_per_user] (as page_table_tensor, or page_table as seed 004 writes it)."""
    if page_table_tensor is not None and page_table is not None and page_table_tensor is not page_table:
        raise ValueError("paged_scaled_dot_product_attention_decode: give page_table_tensor or page_table, not both")
    table = page_table_tensor if page_table_tensor is not None else page_table
    if table is None:
        raise ValueError("paged_scaled_dot_product_attention_decode: page_table_tensor: expected an INT32 tensor "
                         "[b, blocks_per_user], given None")
    return _t._sdpa_decode(input_tensor_q, input_tensor_k, input_tensor_v, table, is_causal, attn_mask,
                           _positions(cur_pos), cur_pos_tensor, scale, sliding_window_size, attention_sink,
                           program_config, memory_config)
