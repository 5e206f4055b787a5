"""attnn.nn.LlamaAttention: prefill and decode against a float64 numpy evaluation."""

import numpy as np
import pytest

import attnn
import reference as ref


@pytest.mark.parametrize("paged", [False, True])
@pytest.mark.parametrize("cache_dtype", [attnn.float32, attnn.bfloat16, attnn.bfloat8_b])
def test_llama_attention_prefill_then_decode(paged, cache_dtype, rng, device):
    dim, nh, nkv, hd, theta = 96, 4, 2, 32, 10000.0
    # A paged BFLOAT8_B cache decodes at HiFi4 here (q as exact as fp32 products), the others at
    # the default HiFi2.
    fidelity = attnn.MathFidelity.HiFi4 if paged and cache_dtype == attnn.bfloat8_b else attnn.MathFidelity.HiFi2
    config = attnn.nn.LlamaAttentionConfig(dim=dim, num_heads=nh, num_kv_heads=nkv, head_dim=hd, max_batch=2,
                                           max_seq_len=64, rope_theta=theta, weight_dtype=attnn.float32,
                                           activation_dtype=attnn.float32, cache_dtype=cache_dtype, paged=paged,
                                           block_size=32, decode_math_fidelity=fidelity)
    assert config.decode_math_fidelity == fidelity
    wq = rng.standard_normal((nh * hd, dim)) / dim**0.5
    wk = rng.standard_normal((nkv * hd, dim)) / dim**0.5
    wv = rng.standard_normal((nkv * hd, dim)) / dim**0.5
    wo = rng.standard_normal((dim, nh * hd)) / (nh * hd) ** 0.5
    layer = attnn.nn.LlamaAttention(device, config, wq, wk, wv, wo)
    assert layer.config.paged == paged and (layer.page_table is not None) == paged
    lengths = [33, 5]
    tokens = [rng.standard_normal((n + 1, dim)) for n in lengths]
    threshold = 0.9999 if cache_dtype != attnn.bfloat8_b else 0.999
    for user, n in enumerate(lengths):
        x = attnn.from_numpy(tokens[user][:n].reshape(1, 1, n, dim).astype(np.float32), layout=attnn.TILE_LAYOUT,
                             device=device)
        out = attnn.to_numpy(layer.prefill(x, user), np.float64).reshape(n, dim)
        golden = ref.llama_attention(tokens[user][:n], wq, wk, wv, wo, nh, nkv, hd, theta)
        assert ref.pcc(golden, out) > 0.99999
    x = np.stack([tokens[u][lengths[u]] for u in range(2)]).reshape(1, 1, 2, dim).astype(np.float32)
    out = attnn.to_numpy(layer.decode(attnn.from_numpy(x, layout=attnn.TILE_LAYOUT, device=device), lengths),
                         np.float64).reshape(2, dim)
    for u in range(2):
        golden = ref.llama_attention(tokens[u][: lengths[u] + 1], wq, wk, wv, wo, nh, nkv, hd, theta)[-1]
        assert ref.pcc(golden, out[u]) > threshold


def test_llama_attention_rejects_wrong_weights(device):
    config = attnn.nn.LlamaAttentionConfig(dim=64, num_heads=2, num_kv_heads=2, head_dim=32, max_seq_len=64)
    w = np.zeros((64, 64), np.float32)
    with pytest.raises(ValueError, match="wo"):
        attnn.nn.LlamaAttention(device, config, w, w, w, np.zeros((64, 32), np.float32))
    bad = attnn.nn.LlamaAttentionConfig(dim=64, num_heads=3, num_kv_heads=2, head_dim=32, max_seq_len=64)
    wq, wo = np.zeros((96, 64), np.float32), np.zeros((64, 96), np.float32)
    with pytest.raises(ValueError, match="num_heads=3"):
        attnn.nn.LlamaAttention(device, bad, wq, w, w, wo)
    with pytest.raises(TypeError, match="decode_math_fidelity: expected a MathFidelity, given str"):
        attnn.nn.LlamaAttentionConfig(decode_math_fidelity="HiFi4")
    with pytest.raises(TypeError, match="decode_math_fidelity: expected a MathFidelity, given int"):
        attnn.nn.LlamaAttentionConfig(decode_math_fidelity=4)
    assert attnn.nn.LlamaAttentionConfig().decode_math_fidelity == attnn.MathFidelity.HiFi2
