"""attnn's RoPE table builders against numpy: frequencies (with Llama 3 scaling as Hugging Face
computes it), both pairings, and the device tensors for prefill, decode and the whole cache."""

import math

import numpy as np
import pytest

import attnn

LLAMA3 = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
          "original_max_position_embeddings": 8192}


def frequencies(head_dim, theta, scaling=None):
    f = theta ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    if scaling is None:
        return f
    # transformers' _compute_llama3_parameters
    low_wavelen = scaling["original_max_position_embeddings"] / scaling["low_freq_factor"]
    high_wavelen = scaling["original_max_position_embeddings"] / scaling["high_freq_factor"]
    out = []
    for fk in f:
        wavelen = 2 * math.pi / fk
        if wavelen < high_wavelen:
            out.append(fk)
        elif wavelen > low_wavelen:
            out.append(fk / scaling["factor"])
        else:
            smooth = (scaling["original_max_position_embeddings"] / wavelen - scaling["low_freq_factor"]) / (
                scaling["high_freq_factor"] - scaling["low_freq_factor"])
            out.append((1 - smooth) * fk / scaling["factor"] + smooth * fk)
    return np.array(out)


@pytest.mark.parametrize("head_dim,theta,scaling", [(8, 10000.0, None), (128, 500000.0, LLAMA3), (64, 10000.0, None)])
def test_frequencies(head_dim, theta, scaling):
    np.testing.assert_allclose(attnn.rope_frequencies(head_dim, theta=theta, scaling=scaling),
                               frequencies(head_dim, theta, scaling), rtol=1e-12)


@pytest.mark.parametrize("pairing", ["interleaved", "rotate_half"])
@pytest.mark.parametrize("scaling", [None, LLAMA3])
def test_tables_follow_the_pairing(pairing, scaling):
    head_dim, positions = 64, 33
    t = attnn.rope_tables(head_dim, positions, theta=500000.0, scaling=scaling, pairing=pairing)
    assert (t.head_dim, t.max_position, t.pairing) == (head_dim, positions, pairing)
    angles = np.arange(positions)[:, None] * frequencies(head_dim, 500000.0, scaling)[None, :]
    if pairing == "interleaved":
        want_cos, want_sin = np.repeat(np.cos(angles), 2, axis=1), np.repeat(np.sin(angles), 2, axis=1)
    else:
        want_cos, want_sin = np.tile(np.cos(angles), 2), np.tile(np.sin(angles), 2)
    assert t.cos.dtype == np.float32 and t.cos.shape == (positions, head_dim)
    np.testing.assert_allclose(t.cos, want_cos, atol=1e-7)
    np.testing.assert_allclose(t.sin, want_sin, atol=1e-7)


def test_device_tensors_hold_the_table_rows(device):
    t = attnn.rope_tables(32, 100)
    cos, sin = attnn.rope_cache_tensors(t, device)
    assert tuple(cos.shape) == (1, 1, 100, 32) and cos.layout == attnn.TILE_LAYOUT
    np.testing.assert_array_equal(attnn.to_numpy(cos)[0, 0], t.cos)
    cos, sin = attnn.rope_prefill_tensors(t, 7, 40, device, dtype=attnn.bfloat16)
    assert tuple(sin.shape) == (1, 1, 40, 32) and sin.dtype == attnn.bfloat16
    np.testing.assert_allclose(attnn.to_numpy(sin)[0, 0].astype(np.float32), t.sin[7:47], atol=2 ** -8)
    cos, sin = attnn.rope_decode_tensors(t, [0, 99, 31], device, layout=attnn.ROW_MAJOR_LAYOUT)
    assert tuple(cos.shape) == (1, 3, 1, 32)
    np.testing.assert_array_equal(attnn.to_numpy(cos)[0, :, 0], t.cos[[0, 99, 31]])


def test_bad_arguments_name_the_problem(device):
    with pytest.raises(ValueError, match="pairing 'half'"):
        attnn.rope_tables(8, 4, pairing="half")
    with pytest.raises(ValueError, match="rope_type 'yarn'"):
        attnn.rope_tables(8, 4, scaling={"rope_type": "yarn"})
    with pytest.raises(TypeError, match="scaling"):
        attnn.rope_tables(8, 4, scaling=8.0)
    t = attnn.rope_tables(8, 4)
    with pytest.raises(ValueError):
        attnn.rope_decode_tensors(t, [4], device)
