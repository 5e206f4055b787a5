"""Plain numpy float64 references for the bound ops (the Python twin of tests/reference/)."""

import math

import numpy as np

_erf = np.vectorize(math.erf)


def matmul(a, b, transpose_a=False, transpose_b=False):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if transpose_a:
        a = np.swapaxes(a, -1, -2)
    if transpose_b:
        b = np.swapaxes(b, -1, -2)
    return np.matmul(a, b)


def activation(x, name):
    if name in (None, ""):
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "gelu":
        return 0.5 * x * (1 + _erf(x / math.sqrt(2)))
    if name == "silu":
        return x / (1 + np.exp(-x))
    raise ValueError(name)


def linear(a, w, bias=None, transpose_b=False, act=None):
    out = matmul(a, w, transpose_b=transpose_b)
    if bias is not None:
        out = out + np.asarray(bias, np.float64).reshape(-1)
    return activation(out, act)


def softmax(x, dim=-1):
    x = np.asarray(x, np.float64)
    m = np.max(x, axis=dim, keepdims=True)
    m = np.where(np.isneginf(m), 0.0, m)
    e = np.exp(x - m)
    s = np.sum(e, axis=dim, keepdims=True)
    return np.divide(e, s, out=np.zeros_like(e), where=s > 0)


def split_heads(x, num_heads, num_kv_heads, transpose_key):
    b, s, width = x.shape
    hd = width // (num_heads + 2 * num_kv_heads)
    q = x[..., : num_heads * hd].reshape(b, s, num_heads, hd).transpose(0, 2, 1, 3)
    k = x[..., num_heads * hd : (num_heads + num_kv_heads) * hd].reshape(b, s, num_kv_heads, hd).transpose(0, 2, 1, 3)
    v = x[..., (num_heads + num_kv_heads) * hd :].reshape(b, s, num_kv_heads, hd).transpose(0, 2, 1, 3)
    if transpose_key:
        k = k.transpose(0, 1, 3, 2)
    return q, k, v


def attention_softmax(x, head_size=None, mask=None):
    scores = np.asarray(x, np.float64) * (1.0 / math.sqrt(head_size) if head_size else 1.0)
    if mask is not None:
        scores = scores + mask
    return softmax(scores, -1)


def concatenate_heads(x):
    b, nh, s, hd = x.shape
    return x.transpose(0, 2, 1, 3).reshape(b, s, nh * hd)


def sdpa(q, k, v, mask=None, causal=False, scale=None, window=None, sinks=None):
    """q [b, nqh, sq, dh], k/v [b, nkv, sk, dh]; causal with sq <= sk puts the queries last; a
    window keeps each query's last `window` positions; sinks (one logit per query head) join the
    softmax with no value."""
    q, k, v = (np.asarray(t, np.float64) for t in (q, k, v))
    b, nqh, sq, dh = q.shape
    nkv, sk = k.shape[1], k.shape[2]
    scale = 1.0 / math.sqrt(dh) if scale is None else scale
    group = nqh // nkv
    k = np.repeat(k, group, axis=1)
    v = np.repeat(v, group, axis=1)
    scores = np.matmul(q, np.swapaxes(k, -1, -2)) * scale
    if causal:
        offset = sk - sq
        allowed = np.arange(sk)[None, :] <= (np.arange(sq)[:, None] + offset)
        if window:
            allowed &= np.arange(sk)[None, :] > (np.arange(sq)[:, None] + offset - window)
        scores = np.where(allowed, scores, -np.inf)
    if mask is not None:
        scores = scores + mask
    if sinks is None:
        return np.matmul(softmax(scores, -1), v)
    sink = np.broadcast_to(np.asarray(sinks, np.float64).reshape(1, nqh, 1, 1), scores.shape[:-1] + (1,))
    return np.matmul(softmax(np.concatenate([scores, sink], -1), -1)[..., :-1], v)


def sdpa_decode(q, k, v, cur_pos=None, mask=None, scale=None, window=None, sinks=None):
    """q [1, b, nqh, dh], k/v [b, nkv, s, dh] -> [1, b, nqh, dh]; user i sees keys 0..cur_pos[i]
    (the last `window` of them with a window)."""
    q = np.asarray(q, np.float64)
    _, b, nqh, dh = q.shape
    out = np.zeros_like(q)
    for i in range(b):
        if cur_pos is not None and cur_pos[i] < 0:
            continue
        length = k.shape[2] if cur_pos is None else cur_pos[i] + 1
        first = max(0, length - window) if window else 0
        ki = k[i : i + 1, :, first:length]
        vi = v[i : i + 1, :, first:length]
        m = None if mask is None else mask[:, i : i + 1, :, :length].reshape(1, nqh, 1, length)
        out[0, i] = sdpa(q[0, i].reshape(1, nqh, 1, dh), ki, vi, mask=m, scale=scale, sinks=sinks)[0, :, 0]
    return out


def scatter_paged(contiguous, page_table, block_size):
    """A contiguous cache [b, nkv, S, dh] laid out as a paged one [blocks, nkv, block_size, dh]."""
    b, nkv, s, dh = contiguous.shape
    paged = np.zeros((page_table.size, nkv, block_size, dh))
    for u in range(b):
        for j in range(s // block_size):
            paged[int(page_table[u, j])] = contiguous[u, :, j * block_size : (j + 1) * block_size]
    return paged


def gather_paged(cache, page_table):
    """A paged cache [blocks, nkv, block_size, dh] as a contiguous one [b, nkv, S, dh]."""
    users = []
    for row in page_table:
        users.append(np.concatenate([cache[int(blk)] for blk in row], axis=1))
    return np.stack(users)


def nlp_create_qkv_heads(x, num_heads, num_kv_heads, transpose_k_heads):
    b, _, s, width = x.shape
    return split_heads(x.reshape(b, s, width), num_heads, num_kv_heads, transpose_k_heads)


def nlp_create_qkv_heads_decode(x, num_heads, num_kv_heads):
    users, width = x.shape[2], x.shape[3]
    dh = width // (num_heads + 2 * num_kv_heads)
    rows = x.reshape(users, width)
    q = rows[:, : num_heads * dh].reshape(1, users, num_heads, dh)
    k = rows[:, num_heads * dh : (num_heads + num_kv_heads) * dh].reshape(1, users, num_kv_heads, dh)
    v = rows[:, (num_heads + num_kv_heads) * dh :].reshape(1, users, num_kv_heads, dh)
    return q, k, v


def nlp_concat_heads(x):
    b, nh, s, dh = x.shape
    return x.transpose(0, 2, 1, 3).reshape(b, 1, s, nh * dh)


def rot_transformation_mat():
    m = np.zeros((32, 32))
    for k in range(16):
        m[2 * k, 2 * k + 1] = 1
        m[2 * k + 1, 2 * k] = -1
    return m


def rotary_embedding_llama(x, cos, sin, trans):
    """Prefill: x [b, nh, s, dh], cos/sin broadcastable [1, 1|nh, s, dh]; trans applied per 32 block."""
    dh = x.shape[-1]
    rotated = np.zeros_like(x, dtype=np.float64)
    for b0 in range(0, dh, 32):
        rotated[..., b0 : b0 + 32] = np.matmul(x[..., b0 : b0 + 32], trans)
    return x * cos + rotated * sin


def rotary_embedding(x, cos_cache, sin_cache, token_index=None):
    dh = x.shape[-1]
    s = x.shape[-2]
    half = dh // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    if token_index is None:
        cos, sin = cos_cache[0, 0, :s], sin_cache[0, 0, :s]
    else:
        cos, sin = cos_cache[0, 0, token_index], sin_cache[0, 0, token_index]
    return x * cos + rotated * sin


def pcc(a, b):
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    if np.all(a == a[0]) and np.all(b == b[0]):
        return 1.0 if np.allclose(a, b) else 0.0
    return float(np.corrcoef(a, b)[0, 1])


def llama_attention(x_tokens, wq, wk, wv, wo, num_heads, num_kv_heads, head_dim, theta):
    """Every token of one user attending causally to the ones before it, interleaved RoPE; [s, dim]."""
    s = x_tokens.shape[0]
    pos = np.arange(s)
    freqs = theta ** (-np.arange(0, head_dim, 2) / head_dim)

    def rope(t):  # [heads, s, dh]
        pairs = t.reshape(t.shape[0], s, head_dim // 2, 2)
        c, sn = np.cos(pos[:, None] * freqs), np.sin(pos[:, None] * freqs)
        a, b = pairs[..., 0], pairs[..., 1]
        return np.stack([a * c - b * sn, b * c + a * sn], axis=-1).reshape(t.shape)

    q = rope((x_tokens @ wq.T).reshape(s, num_heads, head_dim).transpose(1, 0, 2))
    k = rope((x_tokens @ wk.T).reshape(s, num_kv_heads, head_dim).transpose(1, 0, 2))
    v = (x_tokens @ wv.T).reshape(s, num_kv_heads, head_dim).transpose(1, 0, 2)
    out = sdpa(q[None], k[None], v[None], causal=True)[0]
    return out.transpose(1, 0, 2).reshape(s, num_heads * head_dim) @ wo.T
