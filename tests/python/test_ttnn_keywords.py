"""TT-NN programs' keywords around the attention ops: the names, defaults and no-op options that
tt-metal's bindings and models (tt_transformers' attention.py and rope.py) pass, and what attnn
refuses by name where a value would need sharding, several devices or a shared cache."""

import numpy as np
import pytest

import attnn as ttnn


def tensor(rng, shape, device, dtype=ttnn.bfloat16):
    return ttnn.from_numpy(rng.standard_normal(shape).astype(np.float32), dtype=dtype, layout=ttnn.TILE_LAYOUT,
                           device=device)


def test_sdpa_program_config_as_tt_transformers_builds_it(device):
    config = ttnn.SDPAProgramConfig(compute_with_storage_grid_size=(8, 4), q_chunk_size=64, k_chunk_size=128,
                                    exp_approx_mode=None, sub_core_grids=None)
    assert config is not None and ttnn.SDPAProgramConfig is ttnn.transformer.SDPAProgramConfig
    grid = config.compute_with_storage_grid_size
    assert (grid.x, grid.y) == (8, 4) and config.exp_approx_mode is False
    assert "q_chunk_size=64" in repr(config) and "k_chunk_size=128" in repr(config)
    assert ttnn.SDPAProgramConfig(compute_with_storage_grid_size=ttnn.CoreCoord(2, 3)).compute_with_storage_grid_size.y == 3
    for bad in ((8, 0), (8.0, 4), ("a", 4), (2**70, 4), (1, 2, 3)):
        with pytest.raises(ValueError, match="SDPAProgramConfig: compute_with_storage_grid_size"):
            ttnn.SDPAProgramConfig(compute_with_storage_grid_size=bad)
    with pytest.raises(NotImplementedError, match="SDPAProgramConfig: sub_core_grids"):
        ttnn.SDPAProgramConfig(sub_core_grids=[1])
    assert device.arch() == ttnn.Arch.CPU
    ttnn.init_device_compute_kernel_config(device.arch(), math_fidelity=ttnn.MathFidelity.HiFi2)


def test_decode_keywords(rng, device):
    b, nqh, nkv, s, dh, block = 2, 4, 2, 64, 32, 32
    q = tensor(rng, (1, b, nqh, dh), device)
    k = tensor(rng, (b, nkv, s, dh), device)
    v = tensor(rng, (b, nkv, s, dh), device)
    base = ttnn.to_numpy(ttnn.transformer.scaled_dot_product_attention_decode(q, k, v, cur_pos=[10, 63]))
    same = ttnn.transformer.scaled_dot_product_attention_decode(q, k, v, cur_pos=np.array([10, 63]), share_cache=None)
    assert np.array_equal(ttnn.to_numpy(same), base)
    zero_d = ttnn.transformer.scaled_dot_product_attention_decode(q, k, v, cur_pos=[np.array(10), np.int32(63)],
                                                                  share_cache=np.bool_(False))
    assert np.array_equal(ttnn.to_numpy(zero_d), base)
    with pytest.raises(ValueError, match=r"cur_pos\[0\]: expected an int"):
        ttnn.transformer.scaled_dot_product_attention_decode(q, k, v, cur_pos=[1.5, 2])
    with pytest.raises(NotImplementedError, match="share_cache"):
        ttnn.transformer.scaled_dot_product_attention_decode(q, k, v, cur_pos=[10, 63], share_cache=True)
    with pytest.raises(ValueError, match=r"cur_pos\[1\]"):
        ttnn.transformer.scaled_dot_product_attention_decode(q, k, v, cur_pos=[1, 2**31])
    with pytest.raises(TypeError, match="cur_pos"):
        ttnn.transformer.scaled_dot_product_attention_decode(q, k, v, cur_pos=np.int64(3))
    with pytest.raises(TypeError, match="scaled_dot_product_attention_decode: input_tensor_k: expected an attnn.Tensor"):
        ttnn.transformer.scaled_dot_product_attention_decode(q, np.zeros((b, nkv, s, dh)), v, cur_pos=[1, 2])
    with pytest.raises(TypeError, match="program_config: expected an SDPAProgramConfig, given dict"):
        ttnn.transformer.scaled_dot_product_attention_decode(q, k, v, cur_pos=[1, 2], program_config={})

    kp = tensor(rng, (b * s // block, nkv, block, dh), device)
    table = ttnn.from_numpy(np.arange(b * s // block, dtype=np.int32).reshape(b, s // block), device=device)
    out = ttnn.transformer.paged_scaled_dot_product_attention_decode(q, kp, kp, table, cur_pos=[10, 63],
                                                                      block_size=block, num_kv_heads=nkv)
    assert ttnn.to_numpy(out).shape == (1, b, nqh, dh)
    with pytest.raises(ValueError, match="block_size=16 differs"):
        ttnn.transformer.paged_scaled_dot_product_attention_decode(q, kp, kp, table, cur_pos=[1, 2], block_size=16)
    with pytest.raises(TypeError, match="page_table_tensor: expected an attnn.Tensor, given ndarray"):
        ttnn.transformer.paged_scaled_dot_product_attention_decode(q, kp, kp, np.zeros((b, 2), np.int32),
                                                                    cur_pos=[1, 2])


def test_decode_math_fidelity_sets_the_int8_query_precision(rng, device):
    """compute_kernel_config reaches flash decode over a BFLOAT8_B K cache: HiFi4 keeps q as exact as
    fp32 products (against the reference on the stored values), None is HiFi2, LoFi the same; a
    paged call takes it too. On a CPU without AVX512_VNNI every fidelity gives fp32 products."""
    b, nqh, nkv, s, dh, block = 2, 8, 2, 128, 128, 32
    qv = rng.standard_normal((1, b, nqh, dh)).astype(np.float32)
    qv[0, 0, 0, 5] = 40.0  # an outlier, as TT-NN's test inputs have
    q = ttnn.from_numpy(qv, dtype=ttnn.float32, layout=ttnn.TILE_LAYOUT, device=device)
    k = tensor(rng, (b, nkv, s, dh), device, ttnn.bfloat8_b)
    v = tensor(rng, (b, nkv, s, dh), device, ttnn.bfloat8_b)
    kd, vd = ttnn.to_numpy(k).astype(np.float64), ttnn.to_numpy(v).astype(np.float64)
    pos = [127, 60]
    want = np.zeros((1, b, nqh, dh))
    for i in range(b):
        for h in range(nqh):
            kv = h // (nqh // nkv)
            sc = kd[i, kv, :pos[i] + 1] @ qv[0, i, h].astype(np.float64) / np.sqrt(dh)
            p = np.exp(sc - sc.max())
            want[0, i, h] = p @ vd[i, kv, :pos[i] + 1] / p.sum()
    decode = ttnn.transformer.scaled_dot_product_attention_decode
    err = {}
    for name, config in (("none", None), ("HiFi2", ttnn.WormholeComputeKernelConfig(math_fidelity=ttnn.MathFidelity.HiFi2)),
                         ("LoFi", ttnn.init_device_compute_kernel_config(device.arch(), math_fidelity=ttnn.MathFidelity.LoFi)),
                         ("HiFi4", ttnn.WormholeComputeKernelConfig(math_fidelity=ttnn.MathFidelity.HiFi4))):
        got = ttnn.to_numpy(decode(q, k, v, cur_pos=pos, compute_kernel_config=config)).astype(np.float64)
        err[name] = np.abs(got - want).max()
    assert err["none"] == err["HiFi2"] == err["LoFi"]
    assert err["HiFi4"] <= err["HiFi2"] and err["HiFi4"] < 4e-3 * np.abs(want).max() + 1e-6, err
    kp = ttnn.from_numpy(ttnn.to_numpy(k).reshape(b * s // block, block, nkv, dh).transpose(0, 2, 1, 3).copy(),
                         dtype=ttnn.bfloat8_b, layout=ttnn.TILE_LAYOUT, device=device)
    table = ttnn.from_numpy(np.arange(b * s // block, dtype=np.int32).reshape(b, s // block), device=device)
    ttnn.transformer.paged_scaled_dot_product_attention_decode(
        q, kp, kp, table, cur_pos=pos,
        compute_kernel_config=ttnn.WormholeComputeKernelConfig(math_fidelity=ttnn.MathFidelity.HiFi4))
    assert ttnn.WormholeComputeKernelConfig().math_fidelity == ttnn.MathFidelity.LoFi  # TT-NN's default
    with pytest.raises(TypeError, match="compute_kernel_config: expected a WormholeComputeKernelConfig, given dict"):
        decode(q, k, v, cur_pos=pos, compute_kernel_config={})
    with pytest.raises(TypeError, match="compute_kernel_config.math_fidelity: expected a MathFidelity, given int"):
        decode(q, k, v, cur_pos=pos, compute_kernel_config=ttnn.WormholeComputeKernelConfig(math_fidelity=4))


def test_chunked_sdpa_takes_the_start_as_a_tensor(rng, device):
    nh, dh, block, chunk, start = 2, 32, 32, 32, 64
    q = tensor(rng, (1, nh, chunk, dh), device)
    k = tensor(rng, (4, nh, block, dh), device)
    table = ttnn.from_numpy(np.array([[2, 0, 3, 1]], np.int32), device=device)
    want = ttnn.to_numpy(ttnn.transformer.chunked_scaled_dot_product_attention(q, k, k, table, start))
    start_t = ttnn.from_numpy(np.array([start], np.int32), device=device)
    got = ttnn.transformer.chunked_scaled_dot_product_attention(q, k, k, table, chunk_start_idx_tensor=start_t)
    assert np.array_equal(ttnn.to_numpy(got), want)
    with pytest.raises(ValueError, match="one of them"):
        ttnn.transformer.chunked_scaled_dot_product_attention(q, k, k, table)
    with pytest.raises(ValueError, match=r"chunk_start_idx must be in \[0, 2\*\*32\), given -32"):
        ttnn.transformer.chunked_scaled_dot_product_attention(q, k, k, table, -32)


def test_cache_op_keywords(rng, device):
    nkv, dh, block = 2, 32, 32
    cache = tensor(rng, (4, nkv, block, dh), device)
    table = ttnn.from_numpy(np.array([[3, 1], [0, 2]], np.int32), device=device)
    x = tensor(rng, (1, nkv, 40, dh), device)
    ttnn.experimental.paged_fill_cache(cache, x, table)  # batch_idx=0 by default
    first = ttnn.to_numpy(cache)
    ttnn.experimental.paged_fill_cache(cache, x, table, batch_idx_tensor=ttnn.from_numpy(np.array([1], np.int32),
                                                                                         device=device),
                                       compute_kernel_config=None, mesh_coords=None, block_size=block)
    after = ttnn.to_numpy(cache)
    assert np.array_equal(after[[3, 1]], first[[3, 1]])  # user 0's blocks untouched
    assert np.array_equal(after[0], first[3]) and np.array_equal(after[2, :, :8], first[1, :, :8])
    with pytest.raises(NotImplementedError, match="mesh_coords"):
        ttnn.experimental.paged_fill_cache(cache, x, table, mesh_coords=[(0, 0)])
    with pytest.raises(ValueError, match="batch_idx or batch_idx_tensor, not both"):
        ttnn.experimental.paged_fill_cache(cache, x, table, batch_idx=1,
                                           batch_idx_tensor=ttnn.from_numpy(np.array([1], np.int32), device=device))

    row = tensor(rng, (1, 2, nkv, dh), device)
    ttnn.experimental.paged_update_cache(cache, row, update_idxs=[5, -1], page_table=table, share_cache=False,
                                         batch_offset=None, compute_kernel_config=None, block_size=block,
                                         num_kv_heads=nkv)
    written = ttnn.to_numpy(cache)
    assert np.array_equal(written[3, :, 5], ttnn.to_numpy(row)[0, 0])  # user 0, position 5: block 3 row 5
    assert np.array_equal(np.delete(written[3], 5, axis=1), np.delete(after[3], 5, axis=1))
    assert np.array_equal(written[[0, 1, 2]], after[[0, 1, 2]])
    with pytest.raises(NotImplementedError, match="batch_offset"):
        ttnn.experimental.paged_update_cache(cache, row, update_idxs=[5, -1], page_table=table, batch_offset=1)
    with pytest.raises(TypeError, match="update_idxs: expected a list"):
        ttnn.experimental.paged_update_cache(cache, row, update_idxs=3, page_table=table)

    contiguous = tensor(rng, (2, nkv, 64, dh), device)
    rows = tensor(rng, (1, nkv, 32, dh), device)
    ttnn.update_cache(cache=contiguous, input=rows, update_idx=7, batch_offset=1, compute_kernel_config=None)
    assert np.array_equal(ttnn.to_numpy(contiguous)[:, :, 7], ttnn.to_numpy(rows)[0, :, 1:3].transpose(1, 0, 2))


def test_head_op_keywords(rng, device):
    nh, nkv, dh = 4, 2, 32
    x = tensor(rng, (1, 1, 8, (nh + 2 * nkv) * dh), device)
    q, k, v = ttnn.experimental.nlp_create_qkv_heads(input=x, input_kv=None, num_heads=nh, num_kv_heads=nkv,
                                                     transpose_k_heads=False, output_tensors=None, kv_tied=None)
    plain = ttnn.experimental.nlp_create_qkv_heads(x, num_heads=nh, num_kv_heads=nkv, transpose_k_heads=False)
    for got, want in zip((q, k, v), plain):
        assert np.array_equal(ttnn.to_numpy(got), ttnn.to_numpy(want))
    with pytest.raises(NotImplementedError, match="nlp_create_qkv_heads: kv_tied"):
        ttnn.experimental.nlp_create_qkv_heads(x, num_heads=nh, num_kv_heads=nkv, kv_tied=True)
    d = tensor(rng, (1, 1, 3, (nh + 2 * nkv) * dh), device)
    qd, kd, vd = ttnn.experimental.nlp_create_qkv_heads_decode(d, num_heads=nh, num_kv_heads=nkv,
                                                               overlap_qk_coregrid=None, batch_offset=None,
                                                               slice_size=None)
    plain_d = ttnn.experimental.nlp_create_qkv_heads_decode(d, num_heads=nh, num_kv_heads=nkv)
    for got, want in zip((qd, kd, vd), plain_d):
        assert np.array_equal(ttnn.to_numpy(got), ttnn.to_numpy(want))
    with pytest.raises(NotImplementedError, match="nlp_create_qkv_heads_decode: slice_size"):
        ttnn.experimental.nlp_create_qkv_heads_decode(d, num_heads=nh, num_kv_heads=nkv, slice_size=8)
    back = ttnn.experimental.nlp_concat_heads_decode(qd, num_heads=nh, sub_core_grids=None, output_tensor=None)
    assert np.array_equal(ttnn.to_numpy(back), ttnn.to_numpy(ttnn.experimental.nlp_concat_heads_decode(qd, num_heads=nh)))


def test_rope_decode_takes_the_matrix_repeated_per_user(rng, device):
    b, nh, dh = 3, 2, 64
    trans = ttnn.experimental.get_rot_transformation_mat(device)
    repeated = ttnn.from_numpy(np.tile(ttnn.to_numpy(trans).astype(np.float32), (1, 1, b, 1)), dtype=ttnn.bfloat16,
                               layout=ttnn.TILE_LAYOUT, device=device)
    x = tensor(rng, (1, b, nh, dh), device)
    cos = tensor(rng, (1, b, 1, dh), device)
    sin = tensor(rng, (1, b, 1, dh), device)
    one = ttnn.experimental.rotary_embedding_llama(x, cos, sin, trans, is_decode_mode=True)
    per_user = ttnn.experimental.rotary_embedding_llama(x, cos, sin, repeated, is_decode_mode=True)
    assert np.array_equal(ttnn.to_numpy(per_user), ttnn.to_numpy(one))


def test_conversion_keywords(device):
    a = np.arange(64, dtype=np.float32).reshape(2, 32)
    t = ttnn.from_torch(a, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=device, mesh_mapper=None,
                        tile=(32, 32), spec=None, cq_id=0)
    assert np.array_equal(ttnn.to_numpy(t).astype(np.float32), a)
    with pytest.raises(ValueError, match="tile"):
        ttnn.from_torch(a, tile=(16, 32))
    with pytest.raises(NotImplementedError, match="mesh_mapper"):
        ttnn.from_torch(a, mesh_mapper=object())
    c = ttnn.as_tensor(a, dtype=ttnn.float32, layout=ttnn.TILE_LAYOUT, device=device,
                       cache_file_name="/nonexistent/weights", preprocess=lambda x: x * 2)
    assert np.array_equal(ttnn.to_numpy(c), 2 * a)


def test_kv_cache_module_and_sharded_memory_configs(rng, device):
    nkv, dh = 2, 32
    cache = tensor(rng, (2, nkv, 64, dh), device)
    x = tensor(rng, (1, nkv, 40, dh), device)
    ttnn.kv_cache.fill_cache_for_user_(cache, x, 1)
    assert np.array_equal(ttnn.to_numpy(cache)[1, :, :40], ttnn.to_numpy(x)[0])
    rows = tensor(rng, (1, nkv, 32, dh), device)
    ttnn.kv_cache.update_cache_for_token_(cache, rows, 50)
    assert np.array_equal(ttnn.to_numpy(cache)[:, :, 50], ttnn.to_numpy(rows)[0, :, :2].transpose(1, 0, 2))

    sharded = ttnn.to_memory_config(x, ttnn.L1_HEIGHT_SHARDED_MEMORY_CONFIG)
    assert sharded.memory_config() == ttnn.L1_HEIGHT_SHARDED_MEMORY_CONFIG
    assert np.array_equal(ttnn.to_numpy(sharded), ttnn.to_numpy(x))
    back = ttnn.to_memory_config(sharded, ttnn.DRAM_MEMORY_CONFIG, dtype=ttnn.float32)
    assert back.dtype == ttnn.float32 and back.memory_config() == ttnn.DRAM_MEMORY_CONFIG
    assert ttnn.L1_WIDTH_SHARDED_MEMORY_CONFIG != ttnn.L1_BLOCK_SHARDED_MEMORY_CONFIG
    assert repr(ttnn.L1_MEMORY_CONFIG) == "L1_MEMORY_CONFIG"
    assert repr(ttnn.L1_HEIGHT_SHARDED_MEMORY_CONFIG) == (
        "MemoryConfig(memory_layout=TensorMemoryLayout::HEIGHT_SHARDED, buffer_type=BufferType::L1)")


def test_transpose_and_attention_softmax_keywords(rng, device):
    """tt-metal's names: transpose(input_tensor, dim1, dim2); attention_softmax[_](tensor, *, head_size,
    attention_mask, program_config, causal_mask, memory_config)."""
    x = tensor(rng, (1, 2, 32, 64), device, ttnn.float32)
    t = ttnn.transpose(x, dim1=1, dim2=2)
    assert list(t.shape) == [1, 32, 2, 64]
    assert np.array_equal(ttnn.to_numpy(t), ttnn.to_numpy(x).transpose(0, 2, 1, 3))
    scores = tensor(rng, (1, 2, 32, 32), device, ttnn.float32)
    mask = ttnn.from_numpy(np.triu(np.full((1, 1, 32, 32), -np.inf, np.float32), 1), layout=ttnn.TILE_LAYOUT,
                           device=device)
    plain = ttnn.to_numpy(ttnn.transformer.attention_softmax(scores, head_size=64, attention_mask=mask))
    named = ttnn.transformer.attention_softmax(tensor=scores, head_size=64, attention_mask=mask,
                                               program_config=ttnn.SoftmaxDefaultProgramConfig(), causal_mask=True)
    assert np.array_equal(ttnn.to_numpy(named), plain)
    ttnn.transformer.attention_softmax_(scores, head_size=64, attention_mask=mask, program_config=None,
                                        causal_mask=True)
    assert np.array_equal(ttnn.to_numpy(scores), plain)
    with pytest.raises(NotImplementedError, match="attention_softmax: program_config"):
        ttnn.transformer.attention_softmax(scores, head_size=64, program_config=object())


def test_tt_transformers_decode_step_rope_rows_and_positions(rng, device):
    """tt_transformers' decode step (RotarySetup.get_rot_mats, then the model's position update):
    the positions as a uint32 [1, b] tensor, cos/sin rows gathered by ttnn.embedding from the
    [1, 1, max_seq, dh] matrices in TILE layout, unsqueeze_to_4D and transpose(1, 2) to [1, b, 1, dh]
    for rotary_embedding_llama; plus_one advances the positions in place between steps (skipping
    the -1 of an idle user), copy_host_to_device_tensor refreshes them from the host."""
    b, nh, nkv, dh, max_seq = 3, 4, 2, 64, 128
    tables = ttnn.rope_tables(dh, max_seq)
    cos_matrix = ttnn.from_numpy(tables.cos.reshape(1, 1, max_seq, dh), dtype=ttnn.bfloat16,
                                 layout=ttnn.ROW_MAJOR_LAYOUT, device=device)
    sin_matrix = ttnn.from_numpy(tables.sin.reshape(1, 1, max_seq, dh), dtype=ttnn.bfloat16,
                                 layout=ttnn.ROW_MAJOR_LAYOUT, device=device)
    trans = ttnn.experimental.get_rot_transformation_mat(device)

    def rot_mats(rot_idxs):
        mats = []
        for matrix in (cos_matrix, sin_matrix):
            m = ttnn.embedding(rot_idxs, matrix, layout=ttnn.TILE_LAYOUT)  # [1, b, dh]
            m = ttnn.unsqueeze_to_4D(m)  # [1, 1, b, dh]
            mats.append(ttnn.transpose(m, 1, 2))  # [1, b, 1, dh]
        return mats

    positions = np.array([5, 31, 32])
    rot_idxs = ttnn.as_tensor(positions.reshape(1, b), dtype=ttnn.uint32, layout=ttnn.ROW_MAJOR_LAYOUT,
                              device=device)
    x = tensor(rng, (1, b, nh, dh), device)
    for step in range(2):
        cos, sin = rot_mats(rot_idxs)
        assert tuple(cos.shape) == (1, b, 1, dh) and cos.layout == ttnn.TILE_LAYOUT
        want_cos, want_sin = ttnn.rope_decode_tensors(tables, (positions + step).tolist(), device,
                                                      dtype=ttnn.bfloat16)
        assert np.array_equal(ttnn.to_numpy(cos), ttnn.to_numpy(want_cos))
        assert np.array_equal(ttnn.to_numpy(sin), ttnn.to_numpy(want_sin))
        got = ttnn.experimental.rotary_embedding_llama(x, cos, sin, trans, is_decode_mode=True)
        want = ttnn.experimental.rotary_embedding_llama(x, want_cos, want_sin, trans, is_decode_mode=True)
        assert np.array_equal(ttnn.to_numpy(got), ttnn.to_numpy(want))
        assert ttnn.plus_one(rot_idxs) is rot_idxs

    # cur_pos in place: the held handle sees +1, the idle user's -1 stays; decode reads it.
    cur_pos = ttnn.from_numpy(np.array([5, -1, 32], np.int32), device=device)
    held = cur_pos
    ttnn.plus_one(cur_pos, skip_negative_entries=True)
    assert ttnn.to_numpy(held).tolist() == [6, -1, 33]
    q = tensor(rng, (1, b, nh, dh), device)
    k = tensor(rng, (b, nkv, max_seq, dh), device)
    out = ttnn.transformer.scaled_dot_product_attention_decode(q, k, k, cur_pos_tensor=held)
    same = ttnn.transformer.scaled_dot_product_attention_decode(q, k, k, cur_pos=[6, -1, 33])
    assert np.array_equal(ttnn.to_numpy(out), ttnn.to_numpy(same))

    host = ttnn.from_numpy(np.array([[7, 8, 9]], np.uint32))
    ttnn.copy_host_to_device_tensor(host, rot_idxs, cq_id=0)
    assert ttnn.to_numpy(rot_idxs).tolist() == [[7, 8, 9]]
    refreshed = ttnn.from_numpy(np.zeros((1, b), np.float32), dtype=ttnn.bfloat16, device=device)
    assert ttnn.copy(rot_idxs, refreshed) is refreshed
    assert ttnn.to_numpy(refreshed).tolist() == [[7.0, 8.0, 9.0]]


def test_embedding_keywords_and_errors(rng, device):
    weight = ttnn.from_numpy(rng.standard_normal((10, 33)).astype(np.float32), dtype=ttnn.float32, device=device)
    idx = ttnn.from_numpy(np.array([[1, 3, 9], [3, 0, 3]], np.int32), device=device)
    w = ttnn.to_numpy(weight)
    got = ttnn.to_numpy(ttnn.embedding(idx, weight, padding_idx=3, dtype=ttnn.bfloat16,
                                       memory_config=ttnn.DRAM_MEMORY_CONFIG, queue_id=0))
    want = w[[[1, 3, 9], [3, 0, 3]]].astype(np.float64)
    want[np.array([[1, 3, 9], [3, 0, 3]]) == 3] = 0
    assert got.shape == (2, 3, 33)
    assert np.abs(got - want).max() <= 2.0**-8 * np.abs(want).max()
    binary = ttnn.embedding(ttnn.from_numpy(np.array([[0, 1]], np.uint32), device=device),
                            ttnn.from_numpy(w[:2], device=device), embeddings_type=ttnn.EmbeddingsType.BINARY)
    assert np.array_equal(ttnn.to_numpy(binary)[0], w[:2])
    with pytest.raises(ValueError, match=r"embedding: input_tensor\[0\]\[2\]=10 is out of range"):
        ttnn.embedding(ttnn.from_numpy(np.array([[1, 2, 10]], np.int32), device=device), weight)
    with pytest.raises(TypeError, match="input_tensor.dtype must be INT32 or UINT32"):
        ttnn.embedding(weight, weight)
    with pytest.raises(NotImplementedError, match="embedding: output_tensor"):
        ttnn.embedding(idx, weight, output_tensor=weight)
    with pytest.raises(NotImplementedError, match="queue_id: the CPU device has one command queue"):
        ttnn.embedding(idx, weight, queue_id=1)
    with pytest.raises(NotImplementedError, match="plus_one: sub_core_grids"):
        ttnn.plus_one(idx, sub_core_grids=ttnn.CoreGrid(y=1, x=1))
    with pytest.raises(TypeError, match="plus_one: input_tensor.dtype must be INT32 or UINT32"):
        ttnn.plus_one(weight)
    with pytest.raises(TypeError, match="plus_one: input_tensor: expected an attnn.Tensor, given list"):
        ttnn.plus_one([1, 2])
    with pytest.raises(TypeError, match="copy: input_b: expected an attnn.Tensor"):
        ttnn.copy(idx, np.zeros(3))
    with pytest.raises(ValueError, match="unsqueeze_to_4D: tensor: expected rank <= 4"):
        ttnn.unsqueeze_to_4D(ttnn.from_numpy(np.zeros((1, 1, 1, 1, 2), np.float32)))
    assert tuple(ttnn.unsqueeze_to_4D(idx).shape) == (1, 1, 2, 3)
