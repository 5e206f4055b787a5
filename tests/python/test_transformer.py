"""ttnn.transformer, ttnn.experimental and the KV cache ops against numpy float64 references."""

import math

import numpy as np
import pytest

import attnn
import reference as ref
from conftest import assert_close, dtype_layouts, put


def assert_moved(actual, expected, dtype, name="output"):
    """Data movement copies values exactly, except that a block-float output re-encodes them:
    values that land in a new face row share a new exponent."""
    if dtype in (attnn.bfloat8_b, attnn.bfloat4_b):
        assert_close(attnn.to_numpy(actual), expected, dtype, name)
    else:
        assert np.array_equal(attnn.to_numpy(actual).astype(np.float64), expected), name

ATTN_DTYPES = dtype_layouts([attnn.float32, attnn.bfloat16, attnn.bfloat8_b])


@pytest.mark.parametrize("dtype,layout", ATTN_DTYPES)
@pytest.mark.parametrize("b,s,nh,nkv,hd", [(1, 1, 1, 1, 1), (2, 33, 4, 4, 31), (1, 31, 8, 2, 32)])
@pytest.mark.parametrize("transpose_key", [True, False])
def test_split_heads_attention_softmax_concatenate(dtype, layout, b, s, nh, nkv, hd, transpose_key, rng, device):
    x, x_ref = put(rng.standard_normal((b, s, (nh + 2 * nkv) * hd)), dtype, layout, device)
    q, k, v = attnn.transformer.split_query_key_value_and_split_heads(
        x, num_heads=nh, num_kv_heads=nkv, transpose_key=transpose_key, memory_config=attnn.L1_MEMORY_CONFIG)
    for got, want in zip((q, k, v), ref.split_heads(x_ref, nh, nkv, transpose_key)):
        assert_moved(got, want, dtype)
    assert_moved(attnn.transformer.concatenate_heads(q),
                 ref.concatenate_heads(attnn.to_numpy(q).astype(np.float64)), dtype, "concatenate_heads")

    scores, s_ref = put(rng.standard_normal((b, nh, s, s)) * 3, dtype, layout, device)
    mask, m_ref = put(rng.standard_normal((b, 1, 1, s)), dtype, layout, device)
    out = attnn.transformer.attention_softmax(scores, head_size=hd, attention_mask=mask)
    assert_close(attnn.to_numpy(out), ref.attention_softmax(s_ref, hd, m_ref), dtype)
    same = attnn.transformer.attention_softmax_(scores, attention_mask=mask, head_size=hd)
    assert_close(attnn.to_numpy(scores), ref.attention_softmax(s_ref, hd, m_ref), dtype, "in place")
    assert np.array_equal(attnn.to_numpy(same), attnn.to_numpy(scores))


@pytest.mark.parametrize("dtype,layout", ATTN_DTYPES)
@pytest.mark.parametrize("b,nqh,nkv,sq,sk,dh", [(1, 1, 1, 1, 1, 32), (2, 4, 2, 33, 33, 31), (1, 8, 1, 31, 95, 64),
                                                (1, 2, 2, 130, 130, 64)])
def test_scaled_dot_product_attention_causal(dtype, layout, b, nqh, nkv, sq, sk, dh, rng, device):
    q, q_ref = put(rng.standard_normal((b, nqh, sq, dh)), dtype, layout, device)
    k, k_ref = put(rng.standard_normal((b, nkv, sk, dh)), dtype, layout, device)
    v, v_ref = put(rng.standard_normal((b, nkv, sk, dh)), dtype, layout, device)
    out = attnn.transformer.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert tuple(out.shape) == (b, nqh, sq, dh)
    assert_close(attnn.to_numpy(out), ref.sdpa(q_ref, k_ref, v_ref, causal=True), dtype)


@pytest.mark.parametrize("dtype,layout", ATTN_DTYPES)
def test_scaled_dot_product_attention_mask_scale_and_program_config(dtype, layout, rng, device):
    b, nh, sq, sk, dh = 2, 3, 33, 70, 40
    q, q_ref = put(rng.standard_normal((b, nh, sq, dh)), dtype, layout, device)
    k, k_ref = put(rng.standard_normal((b, nh, sk, dh)), dtype, layout, device)
    v, v_ref = put(rng.standard_normal((b, nh, sk, dh)), dtype, layout, device)
    m = rng.standard_normal((b, 1, sq, sk))
    m[:, :, :, 5:9] = -np.inf
    mask, m_ref = put(m, attnn.bfloat16, attnn.TILE_LAYOUT, device)
    config = attnn.transformer.SDPAProgramConfig(
        compute_with_storage_grid_size=attnn.CoreCoord(8, 7), q_chunk_size=32, k_chunk_size=32)
    out = attnn.transformer.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, is_causal=False, scale=0.3, program_config=config,
        compute_kernel_config=attnn.WormholeComputeKernelConfig(math_fidelity=attnn.MathFidelity.HiFi2))
    assert_close(attnn.to_numpy(out), ref.sdpa(q_ref, k_ref, v_ref, mask=m_ref, scale=0.3), dtype)


def make_paged_kv(rng, device, dtype, b, nkv, s, dh, block_size):
    """Random K and V caches paged through one shuffled page table: the device caches, the values
    they store, and the table as a device tensor and as numpy."""
    table = rng.permutation(b * (s // block_size)).reshape(b, s // block_size).astype(np.int32)
    k, k_ref = put(ref.scatter_paged(rng.standard_normal((b, nkv, s, dh)), table, block_size), dtype,
                   attnn.TILE_LAYOUT, device)
    v, v_ref = put(ref.scatter_paged(rng.standard_normal((b, nkv, s, dh)), table, block_size), dtype,
                   attnn.TILE_LAYOUT, device)
    return k, k_ref, v, v_ref, attnn.from_numpy(table, device=device), table


@pytest.mark.parametrize("dtype", [attnn.float32, attnn.bfloat16, attnn.bfloat8_b])
def test_sdpa_decode_contiguous_and_paged(dtype, rng, device):
    b, nqh, nkv, s, dh, block = 3, 8, 2, 128, 64, 32
    q, q_ref = put(rng.standard_normal((1, b, nqh, dh)), dtype, attnn.TILE_LAYOUT, device)
    k, k_ref = put(rng.standard_normal((b, nkv, s, dh)), dtype, attnn.TILE_LAYOUT, device)
    v, v_ref = put(rng.standard_normal((b, nkv, s, dh)), dtype, attnn.TILE_LAYOUT, device)
    cur_pos = [0, 77, -1]
    expected = ref.sdpa_decode(q_ref, k_ref, v_ref, cur_pos)
    out = attnn.transformer.scaled_dot_product_attention_decode(q, k, v, cur_pos=cur_pos)
    assert_close(attnn.to_numpy(out), expected, dtype)
    assert np.all(attnn.to_numpy(out)[0, 2].astype(np.float32) == 0)  # a skipped user gets zeros
    pos_tensor = attnn.from_numpy(np.array(cur_pos, np.int32), device=device)
    out2 = attnn.transformer.scaled_dot_product_attention_decode(q, k, v, cur_pos_tensor=pos_tensor)
    assert np.array_equal(attnn.to_numpy(out2).astype(np.float32), attnn.to_numpy(out).astype(np.float32))

    kp, kp_ref, vp, vp_ref, table_t, table = make_paged_kv(rng, device, dtype, b, nkv, s, dh, block)
    expected = ref.sdpa_decode(q_ref, ref.gather_paged(kp_ref, table), ref.gather_paged(vp_ref, table), cur_pos)
    for kwargs in ({"page_table_tensor": table_t}, {"page_table": table_t}):
        out = attnn.transformer.paged_scaled_dot_product_attention_decode(q, kp, vp, cur_pos_tensor=pos_tensor, **kwargs)
        assert_close(attnn.to_numpy(out), expected, dtype)
    with pytest.raises(ValueError, match="page_table_tensor"):
        attnn.transformer.paged_scaled_dot_product_attention_decode(q, kp, vp, cur_pos=cur_pos)


def test_sdpa_decode_non_causal_mask(rng, device):
    b, nh, s, dh = 2, 4, 40, 32
    q, q_ref = put(rng.standard_normal((1, b, nh, dh)), attnn.float32, attnn.TILE_LAYOUT, device)
    k, k_ref = put(rng.standard_normal((b, nh, s, dh)), attnn.float32, attnn.TILE_LAYOUT, device)
    v, v_ref = put(rng.standard_normal((b, nh, s, dh)), attnn.float32, attnn.TILE_LAYOUT, device)
    mask, m_ref = put(rng.standard_normal((1, b, nh, s)), attnn.float32, attnn.TILE_LAYOUT, device)
    out = attnn.transformer.scaled_dot_product_attention_decode(q, k, v, is_causal=False, attn_mask=mask)
    assert_close(attnn.to_numpy(out), ref.sdpa_decode(q_ref, k_ref, v_ref, mask=m_ref), attnn.float32)


@pytest.mark.parametrize("dtype", [attnn.float32, attnn.bfloat16, attnn.bfloat8_b])
def test_chunked_sdpa_over_a_paged_cache(dtype, rng, device):
    b, nh, s, dh, block, chunk, start = 2, 2, 128, 32, 32, 33, 64
    k, k_ref, v, v_ref, table_t, table = make_paged_kv(rng, device, dtype, b, nh, s, dh, block)
    q, q_ref = put(rng.standard_normal((b, nh, chunk, dh)), dtype, attnn.TILE_LAYOUT, device)
    out = attnn.transformer.chunked_scaled_dot_product_attention(q, k, v, table_t, start)
    kk = ref.gather_paged(k_ref, table)[:, :, : start + chunk]
    vv = ref.gather_paged(v_ref, table)[:, :, : start + chunk]
    assert_close(attnn.to_numpy(out), ref.sdpa(q_ref, kk, vv, causal=True), dtype)


@pytest.mark.parametrize("dtype", [attnn.float32, attnn.bfloat16, attnn.bfloat8_b])
def test_sliding_window_and_attention_sinks(dtype, rng, device):
    """TT-NN's sliding_window_size and attention_sink through every attention op."""
    b, nqh, nkv, s, dh, block, window = 2, 4, 2, 96, 32, 32, 20
    sinks = np.array([-np.inf, 0.5, 2.0, -1.0])  # the logits the softmax sees
    # TT-NN takes sinks in the units of the unscaled scores (its kernels scale them with the
    # scores, and gpt-oss divides its sinks by the scale): [1, nqh, 1, 1] for SDPA, and decode's
    # [nqh, 32] with the sink in column 0.
    raw = sinks * math.sqrt(dh)
    sink_t = attnn.from_numpy(raw.reshape(1, nqh, 1, 1).astype(np.float32), device=device)
    decode_sinks = np.pad(raw.reshape(-1, 1), ((0, 0), (0, 31))).astype(np.float32)
    decode_sink_t = attnn.from_numpy(decode_sinks, dtype=attnn.float32, layout=attnn.TILE_LAYOUT, device=device)
    q, q_ref = put(rng.standard_normal((b, nqh, s, dh)), dtype, attnn.TILE_LAYOUT, device)
    k, k_ref = put(rng.standard_normal((b, nkv, s, dh)), dtype, attnn.TILE_LAYOUT, device)
    v, v_ref = put(rng.standard_normal((b, nkv, s, dh)), dtype, attnn.TILE_LAYOUT, device)
    out = attnn.transformer.scaled_dot_product_attention(q, k, v, is_causal=True, sliding_window_size=window,
                                                         attention_sink=sink_t)
    assert_close(attnn.to_numpy(out), ref.sdpa(q_ref, k_ref, v_ref, causal=True, window=window, sinks=sinks), dtype)

    kp, kp_ref, vp, vp_ref, table_t, table = make_paged_kv(rng, device, dtype, b, nkv, s, dh, block)
    kk, vv = ref.gather_paged(kp_ref, table), ref.gather_paged(vp_ref, table)
    chunk, start = 33, 32
    qc, qc_ref = put(rng.standard_normal((b, nqh, chunk, dh)), dtype, attnn.TILE_LAYOUT, device)
    out = attnn.transformer.chunked_scaled_dot_product_attention(qc, kp, vp, table_t, start,
                                                                 sliding_window_size=window, attention_sink=sink_t)
    want = ref.sdpa(qc_ref, kk[:, :, : start + chunk], vv[:, :, : start + chunk], causal=True, window=window,
                    sinks=sinks)
    assert_close(attnn.to_numpy(out), want, dtype)

    qd, qd_ref = put(rng.standard_normal((1, b, nqh, dh)), dtype, attnn.TILE_LAYOUT, device)
    cur_pos = [70, 5]
    out = attnn.transformer.scaled_dot_product_attention_decode(qd, k, v, cur_pos=cur_pos, sliding_window_size=window,
                                                                attention_sink=decode_sink_t)
    assert_close(attnn.to_numpy(out), ref.sdpa_decode(qd_ref, k_ref, v_ref, cur_pos, window=window, sinks=sinks), dtype)
    out = attnn.transformer.paged_scaled_dot_product_attention_decode(qd, kp, vp, table_t, cur_pos=cur_pos,
                                                                      sliding_window_size=window,
                                                                      attention_sink=sink_t)
    assert_close(attnn.to_numpy(out), ref.sdpa_decode(qd_ref, kk, vv, cur_pos, window=window, sinks=sinks), dtype)
    with pytest.raises(ValueError, match="sliding_window_size=20 needs is_causal=true"):
        attnn.transformer.scaled_dot_product_attention(q, k, v, is_causal=False, sliding_window_size=window)


@pytest.mark.parametrize("dtype", [attnn.float32, attnn.bfloat16, attnn.bfloat8_b])
def test_fill_and_update_cache(dtype, rng, device):
    B, nkv, S, dh = 3, 2, 64, 32
    cache = attnn.from_numpy(np.zeros((B, nkv, S, dh), np.float32), dtype=dtype, layout=attnn.TILE_LAYOUT, device=device)
    expected = np.zeros((B, nkv, S, dh))
    x, x_ref = put(rng.standard_normal((1, nkv, 33, dh)), dtype, attnn.TILE_LAYOUT, device)
    attnn.fill_cache(cache, x, 1)
    expected[1, :, :33] = x_ref[0]
    row, row_ref = put(rng.standard_normal((1, nkv, 32, dh)), dtype, attnn.TILE_LAYOUT, device)  # TT-NN's layout
    attnn.update_cache(cache, row, 40, batch_offset=4)
    expected[:, :, 40] = row_ref[0, :, 4 : 4 + B].transpose(1, 0, 2)
    assert_close(attnn.to_numpy(cache), expected, dtype)


def test_cache_index_arguments_are_checked(device):
    # A negative index gets attnn's message (op, argument, value), not nanobind's signature list;
    # a position that is not an int is refused, not truncated (3.9 wrote position 3).
    cache = attnn.from_numpy(np.zeros((2, 1, 64, 32), np.float32), layout=attnn.TILE_LAYOUT, device=device)
    before = attnn.to_numpy(cache).copy()
    x = attnn.from_numpy(np.ones((1, 1, 32, 32), np.float32), layout=attnn.TILE_LAYOUT, device=device)
    with pytest.raises(ValueError, match=r"fill_cache: batch_idx: expected an index in \[0, 2\^32\), given -1"):
        attnn.fill_cache(cache, x, -1)
    row = attnn.from_numpy(np.ones((1, 1, 32, 32), np.float32), layout=attnn.TILE_LAYOUT, device=device)
    with pytest.raises(ValueError, match="update_cache: update_idx: .* given -1"):
        attnn.update_cache(cache, row, -1)
    with pytest.raises(ValueError, match="update_cache: batch_offset: .* given -3"):
        attnn.update_cache(cache, row, 5, batch_offset=-3)
    table = attnn.from_numpy(np.arange(2, dtype=np.int32).reshape(1, 2), device=device)
    paged = attnn.from_numpy(np.zeros((2, 1, 32, 32), np.float32), layout=attnn.TILE_LAYOUT, device=device)
    with pytest.raises(ValueError, match="paged_fill_cache: batch_idx: .* given -1"):
        attnn.experimental.paged_fill_cache(paged, x, table, batch_idx=-1)
    prow = attnn.from_numpy(np.ones((1, 1, 1, 32), np.float32), layout=attnn.TILE_LAYOUT, device=device)
    with pytest.raises(TypeError, match="update_idxs: expected ints .* given 3.9"):
        attnn.experimental.paged_update_cache(paged, prow, update_idxs=[3.9], page_table=table)
    attnn.experimental.paged_update_cache(paged, prow, update_idxs=[np.int64(3)], page_table=table)
    assert np.array_equal(attnn.to_numpy(paged)[0, 0, 3], np.ones(32))
    assert np.array_equal(attnn.to_numpy(cache), before)


@pytest.mark.parametrize("dtype", [attnn.float32, attnn.bfloat16, attnn.bfloat8_b])
def test_paged_fill_and_update_cache(dtype, rng, device):
    b, nkv, s, dh, block = 2, 2, 96, 32, 32
    blocks = b * s // block
    table = rng.permutation(blocks).reshape(b, s // block).astype(np.int32)
    table_t = attnn.from_numpy(table, device=device)
    cache = attnn.from_numpy(np.zeros((blocks, nkv, block, dh), np.float32), dtype=dtype,
                             layout=attnn.TILE_LAYOUT, device=device)
    expected = np.zeros((b, nkv, s, dh))
    x, x_ref = put(rng.standard_normal((1, nkv, 50, dh)), dtype, attnn.TILE_LAYOUT, device)
    attnn.experimental.paged_fill_cache(cache, x, table_t, batch_idx=1)
    expected[1, :, :50] = x_ref[0]
    row, row_ref = put(rng.standard_normal((1, b, nkv, dh)), dtype, attnn.TILE_LAYOUT, device)
    attnn.experimental.paged_update_cache(cache, row, update_idxs=[70, -1], page_table=table_t)
    expected[0, :, 70] = row_ref[0, 0]
    got = ref.gather_paged(attnn.to_numpy(cache).astype(np.float64), table)
    assert_close(got, expected, dtype)
    idx = attnn.from_numpy(np.array([-1, 3], np.int32), device=device)
    attnn.experimental.paged_update_cache(cache, row, update_idxs_tensor=idx, page_table=table_t)
    expected[1, :, 3] = row_ref[0, 1]
    assert_close(ref.gather_paged(attnn.to_numpy(cache).astype(np.float64), table), expected, dtype)


@pytest.mark.parametrize("dtype,layout", ATTN_DTYPES)
@pytest.mark.parametrize("nh,nkv,s,dh", [(1, 1, 1, 32), (4, 2, 33, 31), (8, 1, 31, 64)])
def test_nlp_heads(dtype, layout, nh, nkv, s, dh, rng, device):
    x, x_ref = put(rng.standard_normal((2, 1, s, (nh + 2 * nkv) * dh)), dtype, layout, device)
    for transpose in (True, False):
        q, k, v = attnn.experimental.nlp_create_qkv_heads(x, num_heads=nh, num_kv_heads=nkv, transpose_k_heads=transpose)
        for got, want in zip((q, k, v), ref.nlp_create_qkv_heads(x_ref, nh, nkv, transpose)):
            assert_moved(got, want, dtype)
    concat = attnn.experimental.nlp_concat_heads(q)
    assert_moved(concat, ref.nlp_concat_heads(attnn.to_numpy(q).astype(np.float64)), dtype, "nlp_concat_heads")

    d, d_ref = put(rng.standard_normal((1, 1, 5, (nh + 2 * nkv) * dh)), dtype, layout, device)
    q, k, v = attnn.experimental.nlp_create_qkv_heads_decode(d, num_heads=nh, num_kv_heads=nkv)
    for got, want in zip((q, k, v), ref.nlp_create_qkv_heads_decode(d_ref, nh, nkv)):
        assert_moved(got, want, dtype)
    back = attnn.experimental.nlp_concat_heads_decode(q, num_heads=nh)
    assert_moved(back, attnn.to_numpy(q).astype(np.float64).reshape(1, 1, 5, nh * dh), dtype, "nlp_concat_heads_decode")


def rope_tables(s, dh, theta=10000.0, interleaved=True):
    freqs = theta ** (-np.arange(0, dh, 2) / dh)
    angles = np.arange(s)[:, None] * freqs[None, :]
    if interleaved:
        angles = np.repeat(angles, 2, axis=1)
    else:
        angles = np.concatenate([angles, angles], axis=1)
    return np.cos(angles).reshape(1, 1, s, dh), np.sin(angles).reshape(1, 1, s, dh)


@pytest.mark.parametrize("dtype", [attnn.float32, attnn.bfloat16])
def test_rotary_embedding_llama_prefill_and_decode(dtype, rng, device):
    b, nh, s, dh = 1, 2, 33, 64
    cos, sin = rope_tables(s, dh)
    x, x_ref = put(rng.standard_normal((b, nh, s, dh)), dtype, attnn.TILE_LAYOUT, device)
    cos_t, cos_ref = put(cos, dtype, attnn.TILE_LAYOUT, device)
    sin_t, sin_ref = put(sin, dtype, attnn.TILE_LAYOUT, device)
    trans = attnn.experimental.get_rot_transformation_mat(device)
    assert np.array_equal(attnn.to_numpy(trans).astype(np.float64)[0, 0], ref.rot_transformation_mat())
    out = attnn.experimental.rotary_embedding_llama(x, cos_t, sin_t, trans)
    assert_close(attnn.to_numpy(out), ref.rotary_embedding_llama(x_ref, cos_ref, sin_ref, ref.rot_transformation_mat()), dtype)
    # interleaved RoPE is a rotation of each (2k, 2k+1) pair
    xr = x_ref.reshape(b, nh, s, dh // 2, 2)
    c, s_ = cos_ref[..., ::2], sin_ref[..., ::2]
    rotated = np.stack([xr[..., 0] * c - xr[..., 1] * s_, xr[..., 1] * c + xr[..., 0] * s_], axis=-1)
    assert_close(attnn.to_numpy(out), rotated.reshape(x_ref.shape), dtype, "pair rotation")

    users, positions = 3, [0, 5, 32]
    xd, xd_ref = put(rng.standard_normal((1, users, nh, dh)), dtype, attnn.TILE_LAYOUT, device)
    cd, cd_ref = put(cos[0, 0, positions].reshape(1, users, 1, dh), dtype, attnn.TILE_LAYOUT, device)
    sd, sd_ref = put(sin[0, 0, positions].reshape(1, users, 1, dh), dtype, attnn.TILE_LAYOUT, device)
    out = attnn.experimental.rotary_embedding_llama(xd, cd, sd, trans, is_decode_mode=True)
    expected = ref.rotary_embedding_llama(xd_ref, cd_ref, sd_ref, ref.rot_transformation_mat())
    assert_close(attnn.to_numpy(out), expected, dtype, "decode")


@pytest.mark.parametrize("dtype", [attnn.float32, attnn.bfloat16])
def test_rotary_embedding_rotate_half(dtype, rng, device):
    s, dh, max_seq = 31, 32, 64
    cos, sin = rope_tables(max_seq, dh, interleaved=False)
    x, x_ref = put(rng.standard_normal((1, 2, s, dh)), dtype, attnn.TILE_LAYOUT, device)
    cos_t, cos_ref = put(cos, dtype, attnn.TILE_LAYOUT, device)
    sin_t, sin_ref = put(sin, dtype, attnn.TILE_LAYOUT, device)
    out = attnn.experimental.rotary_embedding(x, cos_t, sin_t)
    assert_close(attnn.to_numpy(out), ref.rotary_embedding(x_ref, cos_ref, sin_ref), dtype)
    xd, xd_ref = put(rng.standard_normal((1, 1, 4, dh)), dtype, attnn.TILE_LAYOUT, device)
    out = attnn.experimental.rotary_embedding(xd, cos_t, sin_t, 40)
    assert_close(attnn.to_numpy(out), ref.rotary_embedding(xd_ref, cos_ref, sin_ref, 40), dtype, "token_index")


@pytest.mark.parametrize("dtype,layout", ATTN_DTYPES)
@pytest.mark.parametrize("transpose_key", [True, False])
def test_split_heads_with_kv_input_tensor(dtype, layout, transpose_key, rng, device):
    """Cross-attention: Q heads from input_tensor, K and V heads from kv_input_tensor's tokens."""
    b, s, s_kv, nh, nkv, hd = 2, 5, 33, 4, 2, 8
    x, x_ref = put(rng.standard_normal((b, s, nh * hd)), dtype, layout, device)
    kv, kv_ref = put(rng.standard_normal((b, s_kv, 2 * nkv * hd)), dtype, layout, device)
    q, k, v = attnn.transformer.split_query_key_value_and_split_heads(
        x, kv, num_heads=nh, num_kv_heads=nkv, transpose_key=transpose_key)
    want_q = ref.split_heads(np.concatenate([x_ref, np.zeros((b, s, 2 * nkv * hd))], -1), nh, nkv, transpose_key)[0]
    _, want_k, want_v = ref.split_heads(np.concatenate([np.zeros((b, s_kv, nh * hd)), kv_ref], -1), nh, nkv,
                                        transpose_key)
    for got, want in ((q, want_q), (k, want_k), (v, want_v)):
        assert_moved(got, want, dtype)
    with pytest.raises(ValueError, match="kv_input_tensor.shape"):
        attnn.transformer.split_query_key_value_and_split_heads(x, x, num_heads=nh, num_kv_heads=1)
