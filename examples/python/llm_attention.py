"""Seed 004, "LLMs in TT-NN", section 2.4: the attention calls of an LLM layer on attnn.

Prefill, one user at a time: fused QKV linear -> nlp_create_qkv_heads -> rotary_embedding_llama
-> paged_fill_cache -> scaled_dot_product_attention (causal) -> nlp_concat_heads -> linear.
Decode, every user at once: linear -> nlp_create_qkv_heads_decode -> rotary_embedding_llama
(decode mode) -> paged_update_cache -> paged_scaled_dot_product_attention_decode ->
nlp_concat_heads_decode -> linear. The KV cache is paged: blocks of 32 positions handed out to
users through a shuffled page table. Each output is checked against a float64 numpy evaluation of
the same attention (GQA, interleaved RoPE).

    python examples/python/llm_attention.py
"""

import numpy as np

import attnn as ttnn

dim, n_q_heads, n_kv_heads, head_dim = 512, 8, 2, 64
bsz, max_seq_len, block_size = 4, 256, 32
prompt_lens = [100, 37, 64, 1]
theta = 500000.0
rng = np.random.default_rng(4)

# Weights as torch's nn.Linear holds them, [out_features, in_features].
wq = rng.standard_normal((n_q_heads * head_dim, dim)) / dim**0.5
wk = rng.standard_normal((n_kv_heads * head_dim, dim)) / dim**0.5
wv = rng.standard_normal((n_kv_heads * head_dim, dim)) / dim**0.5
wo = rng.standard_normal((dim, n_q_heads * head_dim)) / (n_q_heads * head_dim) ** 0.5

# RoPE tables, interleaved pairs (2k, 2k+1) as Meta's Llama checkpoints rotate them.
freqs = theta ** (-np.arange(0, head_dim, 2) / head_dim)
angles = np.repeat(np.arange(max_seq_len)[:, None] * freqs[None, :], 2, axis=1)
cos_table, sin_table = np.cos(angles), np.sin(angles)


def reference_attention(x_tokens):
    """float64: every token of one user attending causally to the ones before it; [s, dim]."""
    s = x_tokens.shape[0]
    pos = np.arange(s)

    def rope(t):  # t [heads, s, dh]
        pairs = t.reshape(t.shape[0], s, head_dim // 2, 2)
        c, sn = np.cos(pos[:, None] * freqs), np.sin(pos[:, None] * freqs)
        a, b = pairs[..., 0], pairs[..., 1]
        return np.stack([a * c - b * sn, b * c + a * sn], axis=-1).reshape(t.shape)

    q = rope((x_tokens @ wq.T).reshape(s, n_q_heads, head_dim).transpose(1, 0, 2))
    k = rope((x_tokens @ wk.T).reshape(s, n_kv_heads, head_dim).transpose(1, 0, 2))
    v = (x_tokens @ wv.T).reshape(s, n_kv_heads, head_dim).transpose(1, 0, 2)
    group = n_q_heads // n_kv_heads
    k, v = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)
    scores = q @ k.transpose(0, 2, 1) / head_dim**0.5
    scores = np.where(pos[None, :] <= pos[:, None], scores, -np.inf)
    p = np.exp(scores - scores.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return (p @ v).transpose(1, 0, 2).reshape(s, n_q_heads * head_dim) @ wo.T


device = ttnn.open_device(device_id=0)
ttnn.enable_program_cache(device)

wqkv = ttnn.from_numpy(np.concatenate([wq, wk, wv]).T.astype(np.float32), dtype=ttnn.bfloat16,
                       layout=ttnn.TILE_LAYOUT, device=device)
wo_t = ttnn.from_numpy(wo.T.astype(np.float32), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=device)
trans_mat = ttnn.experimental.get_rot_transformation_mat(device)

blocks_per_user = max_seq_len // block_size
page_table_np = rng.permutation(bsz * blocks_per_user).reshape(bsz, blocks_per_user).astype(np.int32)
page_table = ttnn.from_numpy(page_table_np, device=device)
cache_shape = (bsz * blocks_per_user, n_kv_heads, block_size, head_dim)
keys = ttnn.from_numpy(np.zeros(cache_shape, np.float32), dtype=ttnn.bfloat8_b, layout=ttnn.TILE_LAYOUT, device=device)
values = ttnn.from_numpy(np.zeros(cache_shape, np.float32), dtype=ttnn.bfloat8_b, layout=ttnn.TILE_LAYOUT, device=device)

tokens = [rng.standard_normal((n + 1, dim)) for n in prompt_lens]  # each prompt plus one decoded token


def to_device(array, dtype=ttnn.bfloat16):
    return ttnn.from_numpy(np.asarray(array, np.float32), dtype=dtype, layout=ttnn.TILE_LAYOUT, device=device)


print(f"Attention layer: dim {dim}, {n_q_heads} query heads, {n_kv_heads} KV heads of {head_dim}; "
      f"paged BFLOAT8_B KV cache of {bsz} users x {max_seq_len} positions in blocks of {block_size}")

# Prefill
for batch_id, seqlen in enumerate(prompt_lens):
    x = to_device(tokens[batch_id][:seqlen].reshape(1, 1, seqlen, dim))
    xqkv_fused = ttnn.linear(x, wqkv, dtype=ttnn.bfloat16)
    Q, K, V = ttnn.experimental.nlp_create_qkv_heads(xqkv_fused, num_heads=n_q_heads, num_kv_heads=n_kv_heads,
                                                     transpose_k_heads=False)
    cos = to_device(cos_table[:seqlen].reshape(1, 1, seqlen, head_dim))
    sin = to_device(sin_table[:seqlen].reshape(1, 1, seqlen, head_dim))
    Q = ttnn.experimental.rotary_embedding_llama(Q, cos, sin, trans_mat)
    K = ttnn.experimental.rotary_embedding_llama(K, cos, sin, trans_mat)
    ttnn.experimental.paged_fill_cache(keys, K, page_table, batch_idx=batch_id)
    ttnn.experimental.paged_fill_cache(values, V, page_table, batch_idx=batch_id)
    attn_output = ttnn.transformer.scaled_dot_product_attention(Q, K, V, is_causal=True)
    attn_output = ttnn.experimental.nlp_concat_heads(attn_output)
    output = ttnn.linear(attn_output, wo_t)
    golden = reference_attention(tokens[batch_id][:seqlen])
    _, pcc = ttnn.comp_pcc(golden, ttnn.to_numpy(output, np.float64).reshape(seqlen, dim))
    print(f"prefill user {batch_id}: {seqlen:3d} tokens -> {output.shape}, PCC vs float64 {pcc:.6f}")

# Decode: one new token per user at position cur_pos[i]
cur_pos = list(prompt_lens)
cur_pos_tensor = ttnn.from_numpy(np.array(cur_pos, np.int32), device=device)
x = to_device(np.stack([tokens[i][cur_pos[i]] for i in range(bsz)]).reshape(1, 1, bsz, dim))
xqkv_fused = ttnn.linear(x, wqkv, dtype=ttnn.bfloat16)
Q, K, V = ttnn.experimental.nlp_create_qkv_heads_decode(
    xqkv_fused, num_heads=n_q_heads, num_kv_heads=n_kv_heads,
    memory_config=ttnn.MemoryConfig(ttnn.TensorMemoryLayout.HEIGHT_SHARDED, ttnn.BufferType.L1))
cos = to_device(cos_table[cur_pos].reshape(1, bsz, 1, head_dim))
sin = to_device(sin_table[cur_pos].reshape(1, bsz, 1, head_dim))
Q = ttnn.experimental.rotary_embedding_llama(Q, cos, sin, trans_mat, is_decode_mode=True)
K = ttnn.experimental.rotary_embedding_llama(K, cos, sin, trans_mat, is_decode_mode=True)
ttnn.experimental.paged_update_cache(keys, K, update_idxs=cur_pos, page_table=page_table)
ttnn.experimental.paged_update_cache(values, V, update_idxs_tensor=cur_pos_tensor, page_table=page_table)
attn_output = ttnn.transformer.paged_scaled_dot_product_attention_decode(Q, keys, values, cur_pos_tensor=cur_pos_tensor,
                                                                         page_table=page_table)
attn_output = ttnn.experimental.nlp_concat_heads_decode(attn_output, num_heads=n_q_heads)
output = ttnn.linear(attn_output, wo_t)
golden = np.stack([reference_attention(tokens[i][: cur_pos[i] + 1])[-1] for i in range(bsz)])
_, pcc = ttnn.comp_pcc(golden, ttnn.to_numpy(output, np.float64).reshape(bsz, dim))
print(f"decode: {bsz} users at positions {cur_pos} -> {output.shape}, PCC vs float64 {pcc:.6f}")
print(f"program cache entries: {device.num_program_cache_entries()}")

ttnn.close_device(device)
