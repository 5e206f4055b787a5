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


def test_llama_attention_config_reads_back_and_checks_its_values():
    scaling = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 8192}
    c = attnn.nn.LlamaAttentionConfig(dim=64, num_heads=2, num_kv_heads=1, head_dim=32, rope_theta=1e4,
                                      rope_scaling=scaling, rope_pairing="rotate_half", cache_dtype=attnn.bfloat8_b,
                                      weight_dtype=attnn.float32, activation_dtype=attnn.float32)
    assert (c.rope_theta, c.rope_scaling, c.rope_pairing) == (1e4, scaling, "rotate_half")
    assert (c.weight_dtype, c.activation_dtype, c.cache_dtype) == (attnn.float32, attnn.float32, attnn.bfloat8_b)
    assert "rope_pairing='rotate_half'" in repr(c) and "cache_dtype=DataType::BFLOAT8_B" in repr(c)
    assert attnn.nn.LlamaAttentionConfig().rope_scaling is None
    with pytest.raises(ValueError, match="LlamaAttentionConfig: dim: expected a size in"):
        attnn.nn.LlamaAttentionConfig(dim=-1)
    with pytest.raises(ValueError, match="pairing 'sideways'"):
        attnn.nn.LlamaAttentionConfig(rope_pairing="sideways")


def test_llama_attention_decode_takes_positions_as_a_tensor(rng, device):
    """tt_transformers keeps current_pos as an INT32 tensor [b]; the layer takes it as it takes a list.
    Bad positions and users are ValueErrors naming them."""
    dim = 64
    config = attnn.nn.LlamaAttentionConfig(dim=dim, num_heads=2, num_kv_heads=1, head_dim=32, max_batch=2,
                                           max_seq_len=64, weight_dtype=attnn.float32,
                                           activation_dtype=attnn.float32, cache_dtype=attnn.float32)
    w = lambda o, i: (rng.standard_normal((o, i)) / i**0.5).astype(np.float32)
    layer = attnn.nn.LlamaAttention(device, config, w(64, 64), w(32, 64), w(32, 64), w(64, 64))
    x = attnn.from_numpy(rng.standard_normal((1, 1, 2, dim)).astype(np.float32), layout=attnn.TILE_LAYOUT,
                         device=device)
    listed = attnn.to_numpy(layer.decode(x, [5, -1]))
    pos = attnn.from_numpy(np.array([5, -1], np.int32), device=device)
    assert np.array_equal(attnn.to_numpy(layer.decode(x, pos)), listed)
    with pytest.raises(ValueError, match="positions\\[0\\]=2147483648"):
        layer.decode(x, [2**31, 1])
    with pytest.raises(ValueError, match="LlamaAttention::prefill: user: expected an index in"):
        layer.prefill(x, -1)
    assert len(pos) == 2
    with pytest.raises(TypeError, match="1-D attnn.Tensor"):
        list(pos)
    rows = [attnn.to_numpy(r) for r in x[0, 0]]  # a 2-D tensor iterates over its rows
    assert len(rows) == 2 and np.array_equal(rows[1], attnn.to_numpy(x)[0, 0, 1])
