"""attnn::Error reaches Python as ValueError / TypeError / RuntimeError with the C++ message;
nothing a caller passes crashes the interpreter."""

import subprocess
import sys

import numpy as np
import pytest

import attnn


def t(device, shape, dtype=attnn.float32, layout=attnn.TILE_LAYOUT):
    return attnn.from_numpy(np.ones(shape, np.float32), dtype=dtype, layout=layout, device=device)


def test_invalid_arguments_are_value_errors_naming_op_and_argument(device):
    with pytest.raises(ValueError, match=r"matmul: inner dims differ.*K=5.*K=6"):
        attnn.matmul(t(device, (4, 5)), t(device, (6, 7)))
    with pytest.raises(ValueError, match="add"):
        attnn.add(t(device, (2, 3)), t(device, (4, 3)))
    with pytest.raises(ValueError, match="softmax"):
        attnn.softmax(t(device, (2, 3)), dim=2)
    with pytest.raises(ValueError, match="reshape"):
        attnn.reshape(t(device, (2, 3)), (4, 2))
    with pytest.raises(ValueError, match="reshape"):
        attnn.reshape(t(device, (2, 3)), (-1, -1))
    with pytest.raises(ValueError, match="permute"):
        attnn.permute(t(device, (2, 3)), (0, 0))
    with pytest.raises(ValueError, match="split_query_key_value_and_split_heads"):
        attnn.transformer.split_query_key_value_and_split_heads(t(device, (1, 4, 10)), num_heads=3)
    with pytest.raises(ValueError, match="scaled_dot_product_attention"):
        attnn.transformer.scaled_dot_product_attention(t(device, (1, 2, 4, 8)), t(device, (1, 2, 4, 16)),
                                                       t(device, (1, 2, 4, 16)))
    with pytest.raises(ValueError, match="cur_pos"):
        attnn.transformer.scaled_dot_product_attention_decode(t(device, (1, 2, 4, 32)), t(device, (2, 4, 64, 32)),
                                                              t(device, (2, 4, 64, 32)), cur_pos=[1, 64])
    with pytest.raises(ValueError, match="fill_cache"):
        attnn.fill_cache(t(device, (2, 1, 32, 32)), t(device, (1, 1, 64, 32)), 0)
    with pytest.raises(ValueError, match="linear"):
        attnn.linear(t(device, (4, 8)), t(device, (8, 4)), activation="tanhh")
    with pytest.raises(ValueError):
        attnn.from_numpy(np.zeros((2, 0), np.float32), layout=attnn.TILE_LAYOUT, device=device)


def test_wrong_types_are_type_errors(device):
    with pytest.raises(TypeError, match="BFLOAT8_B requires Layout::TILE"):
        attnn.from_numpy(np.ones((2, 2), np.float32), dtype=attnn.bfloat8_b)
    with pytest.raises(TypeError):
        attnn.matmul(t(device, (2, 2)), np.ones((2, 2)))
    with pytest.raises(TypeError):
        attnn.matmul(None, t(device, (2, 2)))
    with pytest.raises(TypeError):
        attnn.from_numpy(np.ones(2), dtype="bfloat16")
    with pytest.raises(TypeError):
        attnn.from_numpy(np.ones(2), layout="TILE")
    with pytest.raises(TypeError):
        attnn.softmax(t(device, (2, 2)), dim="last")
    with pytest.raises(TypeError):
        attnn.reshape(t(device, (2, 2)), "4")
    with pytest.raises(TypeError):
        attnn.transformer.split_query_key_value_and_split_heads(t(device, (1, 4, 12)), num_heads="4")
    with pytest.raises(TypeError, match="page_table"):
        attnn.transformer.chunked_scaled_dot_product_attention(
            t(device, (1, 1, 32, 32)), t(device, (2, 1, 32, 32)), t(device, (2, 1, 32, 32)),
            t(device, (1, 2)), 0)
    with pytest.raises(TypeError):
        attnn.Tensor()


def test_nan_and_inf_inputs_do_not_crash_and_are_reported_or_propagated(device):
    x = np.array([[np.nan, 1.0], [np.inf, 2.0]], np.float32)
    with pytest.raises(ValueError, match="pad_value"):
        attnn.from_numpy(x, dtype=attnn.bfloat8_b, layout=attnn.TILE_LAYOUT, pad_value=np.nan)
    out = attnn.to_numpy(attnn.softmax(attnn.from_numpy(x, device=device), dim=-1))
    assert out.shape == (2, 2)


def test_an_unclosed_device_at_exit_does_not_hang_or_crash():
    code = ("import attnn, numpy as np\n"
            "d = attnn.open_device(device_id=0)\n"
            "t = attnn.from_numpy(np.ones((64, 64), np.float32), device=d)\n"
            "print(attnn.to_numpy(t @ t)[0, 0])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "64.0" and done.stderr == ""


def test_counts_sizes_and_positions_out_of_uint32_are_value_errors(device):
    """A negative or too large count, size or position is a ValueError naming the op and the
    argument (it was nanobind's TypeError listing the signatures)."""
    x = t(device, (1, 1, 32, 96))
    tables = attnn.rope_tables(32, 8)
    cases = [
        ("SDPAProgramConfig", "q_chunk_size", lambda v: attnn.transformer.SDPAProgramConfig(q_chunk_size=v)),
        ("SDPAProgramConfig", "max_cores_per_head_batch",
         lambda v: attnn.transformer.SDPAProgramConfig(max_cores_per_head_batch=v)),
        ("split_query_key_value_and_split_heads", "num_heads",
         lambda v: attnn.transformer.split_query_key_value_and_split_heads(t(device, (1, 32, 96)), num_heads=v)),
        ("split_query_key_value_and_split_heads", "num_kv_heads",
         lambda v: attnn.transformer.split_query_key_value_and_split_heads(t(device, (1, 32, 96)), num_heads=1,
                                                                           num_kv_heads=v)),
        ("attention_softmax", "head_size", lambda v: attnn.transformer.attention_softmax(x, head_size=v)),
        ("attention_softmax_", "head_size", lambda v: attnn.transformer.attention_softmax_(x, head_size=v)),
        ("scaled_dot_product_attention", "sliding_window_size",
         lambda v: attnn.transformer.scaled_dot_product_attention(x, x, x, sliding_window_size=v)),
        ("nlp_create_qkv_heads", "num_heads", lambda v: attnn.experimental.nlp_create_qkv_heads(x, num_heads=v)),
        ("nlp_create_qkv_heads", "num_kv_heads",
         lambda v: attnn.experimental.nlp_create_qkv_heads(x, num_heads=1, num_kv_heads=v)),
        ("nlp_create_qkv_heads_decode", "num_heads",
         lambda v: attnn.experimental.nlp_create_qkv_heads_decode(x, num_heads=v)),
        ("nlp_concat_heads_decode", "num_heads",
         lambda v: attnn.experimental.nlp_concat_heads_decode(x, num_heads=v)),
        ("rotary_embedding", "token_index",
         lambda v: attnn.experimental.rotary_embedding(x, x, x, token_index=v)),
        ("rope_frequencies", "head_dim", lambda v: attnn.rope_frequencies(v)),
        ("rope_tables", "max_position", lambda v: attnn.rope_tables(32, v)),
        ("rope_prefill_tensors", "start", lambda v: attnn.rope_prefill_tensors(tables, v, 1, device)),
        ("rope_decode_tensors", "positions", lambda v: attnn.rope_decode_tensors(tables, [0, v], device)),
        ("CoreGrid", "x", lambda v: attnn.CoreGrid(y=1, x=v)),
        ("linear_weight", "out_features", lambda v: attnn.random.default_generator().linear_weight(4, v)),
    ]
    for op, arg, call in cases:
        for value in (-1, 2**32):
            with pytest.raises(ValueError, match=f"{op}: {arg}: expected .* given {value}"):
                call(value)
