import os
import sys

import numpy as np
import pytest

import attnn

sys.path.insert(0, os.path.dirname(__file__))

# Relative error each storage dtype allows in an op's output, against an fp64 reference computed
# on the same (already quantized) inputs: the output's own rounding plus fp32 accumulation.
OUTPUT_TOLERANCE = {
    attnn.float32: 2e-5,
    attnn.bfloat16: 2.0**-7,
    attnn.bfloat8_b: 2.0**-5,
    attnn.bfloat4_b: 2.0**-3,
}
FLOAT_DTYPES = [attnn.float32, attnn.bfloat16, attnn.bfloat8_b, attnn.bfloat4_b]

_state = {"device": None}


def close_session_device():
    """Lifecycle tests need device 0 closed; the `device` fixture reopens it afterwards."""
    d = _state["device"]
    if d is not None and d.is_open():
        attnn.close_device(d)
    _state["device"] = None


@pytest.fixture
def device():
    d = _state["device"]
    if d is None or not d.is_open():
        d = attnn.open_device(device_id=0)
        _state["device"] = d
    return d


@pytest.fixture
def rng():
    return np.random.default_rng(20261127)


def layouts_for(dtype):
    if dtype in (attnn.bfloat8_b, attnn.bfloat4_b):
        return [attnn.TILE_LAYOUT]
    return [attnn.ROW_MAJOR_LAYOUT, attnn.TILE_LAYOUT]


def dtype_layouts(dtypes=None):
    return [(d, l) for d in (dtypes or FLOAT_DTYPES) for l in layouts_for(d)]


def put(x, dtype, layout, device, **kwargs):
    """numpy -> device tensor, plus the values it actually stores (the quantized inputs)."""
    t = attnn.from_numpy(np.asarray(x, np.float32), dtype=dtype, layout=layout, device=device, **kwargs)
    return t, attnn.to_numpy(t).astype(np.float64)


def assert_close(actual, expected, dtype, name="output"):
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    assert np.all(np.isfinite(actual)), f"{name}: non-finite values"
    scale = max(float(np.max(np.abs(expected))), 1e-30) if expected.size else 1.0
    err = float(np.max(np.abs(actual - expected))) / scale if expected.size else 0.0
    assert err <= OUTPUT_TOLERANCE[dtype], f"{name}: max error {err:.3g} of max |ref| > {OUTPUT_TOLERANCE[dtype]:.3g} ({dtype})"
