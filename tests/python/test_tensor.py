"""Host data <-> tensors: dtypes, layouts, shapes, .npy files, printing."""

import ml_dtypes
import numpy as np
import pytest

import attnn
from conftest import FLOAT_DTYPES, dtype_layouts

SHAPES = [(1,), (31,), (1, 1), (31, 33), (2, 33, 31), (3, 1, 2011), (2, 2, 32, 64)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("layout", [attnn.ROW_MAJOR_LAYOUT, attnn.TILE_LAYOUT])
def test_float32_round_trip_is_exact(shape, layout, rng, device):
    x = rng.standard_normal(shape).astype(np.float32)
    for dev in (None, device):
        t = attnn.from_numpy(x, layout=layout, device=dev)
        assert t.dtype == attnn.float32 and t.layout == layout
        assert tuple(t.shape) == shape
        y = attnn.to_numpy(t)
        assert y.dtype == np.float32 and np.array_equal(y, x)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("layout", [attnn.ROW_MAJOR_LAYOUT, attnn.TILE_LAYOUT])
def test_bfloat16_rounds_to_nearest_even_and_round_trips(shape, layout, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    t = attnn.from_numpy(x, dtype=attnn.bfloat16, layout=layout)
    y = attnn.to_numpy(t)
    assert y.dtype == ml_dtypes.bfloat16
    assert np.array_equal(y, x.astype(ml_dtypes.bfloat16))  # ml_dtypes rounds to nearest even
    # bfloat16 arrays go in bit for bit
    t2 = attnn.from_numpy(y, layout=layout)
    assert t2.dtype == attnn.bfloat16
    assert np.array_equal(attnn.to_numpy(t2).view(np.uint16), y.view(np.uint16))


@pytest.mark.parametrize("dtype,mantissa_bits", [(attnn.bfloat8_b, 7), (attnn.bfloat4_b, 3)])
@pytest.mark.parametrize("shape", [(1, 1), (31, 33), (2, 64, 48), (5, 2011)])
def test_block_float_error_is_bounded_by_the_face_row_exponent(dtype, mantissa_bits, shape, rng):
    x = (rng.standard_normal(shape) * np.exp(rng.uniform(-3, 3, shape))).astype(np.float32)
    t = attnn.from_numpy(x, dtype=dtype, layout=attnn.TILE_LAYOUT)
    y = attnn.to_numpy(t)
    assert y.dtype == np.float32 and y.shape == x.shape
    # Each run of 16 values along a row (a face row) shares the exponent of its largest value; a
    # magnitude rounds to a multiple of 2^(e_max - (mantissa_bits - 1)), so the error is at most
    # half of that (or the step itself at saturation).
    rows = x.reshape(-1, x.shape[-1])
    out = y.reshape(rows.shape)
    for r in range(rows.shape[0]):
        for c0 in range(0, rows.shape[1], 16):
            seg, q = rows[r, c0 : c0 + 16], out[r, c0 : c0 + 16]
            e_max = np.floor(np.log2(np.max(np.abs(seg))))
            step = 2.0 ** (e_max - (mantissa_bits - 1))
            assert np.max(np.abs(seg - q)) <= step + 1e-30
    # quantizing again changes nothing
    again = attnn.to_numpy(attnn.from_numpy(y, dtype=dtype, layout=attnn.TILE_LAYOUT))
    assert np.array_equal(again, y)


@pytest.mark.parametrize("dtype,npdtype", [(attnn.int32, np.int32), (attnn.uint32, np.uint32)])
@pytest.mark.parametrize("layout", [attnn.ROW_MAJOR_LAYOUT, attnn.TILE_LAYOUT])
def test_integer_round_trip(dtype, npdtype, layout, rng):
    lo = -(2**31) if npdtype == np.int32 else 0
    x = rng.integers(lo, 2**31 - 1, size=(3, 33), dtype=np.int64).astype(npdtype)
    t = attnn.from_numpy(x, layout=layout)
    assert t.dtype == dtype
    y = attnn.to_numpy(t)
    assert y.dtype == npdtype and np.array_equal(x, y)


def test_numpy_dtype_conversions():
    assert attnn.from_numpy(np.arange(4, dtype=np.int64)).dtype == attnn.int32
    assert attnn.from_numpy(np.arange(4, dtype=np.int16)).dtype == attnn.int32
    assert attnn.from_numpy(np.arange(4, dtype=np.uint8)).dtype == attnn.uint32
    assert attnn.from_numpy(np.ones(4, dtype=np.float16)).dtype == attnn.float32
    f64 = attnn.from_numpy(np.array([1.0, 1.0 / 3.0]))
    assert f64.dtype == attnn.float32 and attnn.to_numpy(f64)[1] == np.float32(1.0 / 3.0)
    assert np.array_equal(attnn.to_numpy(attnn.from_numpy([[1, 2], [3, 4]])), [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="int32/uint32 range"):
        attnn.from_numpy(np.array([2**40], dtype=np.int64))
    # Negatives beside values above 2**31 - 1: neither integer dtype holds both (3e9 wrapped).
    with pytest.raises(ValueError, match="neither INT32 nor UINT32"):
        attnn.from_numpy(np.array([-1, 3_000_000_000], dtype=np.int64))
    assert attnn.from_numpy(np.array([3_000_000_000], dtype=np.int64)).dtype == attnn.uint32
    with pytest.raises(TypeError, match="dtype complex128"):
        attnn.from_numpy(np.ones(3, dtype=np.complex128))
    assert attnn.from_numpy(np.float32(3.0)).shape == (1,)
    with pytest.raises(ValueError, match="rank"):
        attnn.from_numpy(np.zeros((1,) * 9, np.float32))


def test_non_contiguous_arrays_are_read_in_logical_order(rng):
    x = rng.standard_normal((33, 31)).astype(np.float32)
    assert np.array_equal(attnn.to_numpy(attnn.from_numpy(x.T)), x.T)
    assert np.array_equal(attnn.to_numpy(attnn.from_numpy(x[::2, 1::3])), x[::2, 1::3])


def test_dtype_override_and_typecast(rng):
    x = rng.standard_normal((7, 40)).astype(np.float32)
    t = attnn.from_numpy(x, dtype=attnn.bfloat8_b, layout=attnn.TILE_LAYOUT)
    assert t.dtype == attnn.bfloat8_b
    back = attnn.typecast(t, attnn.float32)
    assert back.dtype == attnn.float32 and np.array_equal(attnn.to_numpy(back), attnn.to_numpy(t))
    rm = attnn.to_layout(t, attnn.ROW_MAJOR_LAYOUT, dtype=attnn.bfloat16)
    assert rm.layout == attnn.ROW_MAJOR_LAYOUT and rm.dtype == attnn.bfloat16


def test_padded_shape_and_pad_value(device):
    x = np.zeros((3, 5), np.float32)
    t = attnn.from_numpy(x, layout=attnn.TILE_LAYOUT, pad_value=-np.inf, device=device)
    assert t.shape == (3, 5) and t.padded_shape == (32, 32)
    assert attnn.from_numpy(x).padded_shape == [3, 5]
    # the padding does not leak into a softmax over the logical row
    assert np.allclose(attnn.to_numpy(attnn.softmax(t, dim=-1)), 0.2)


def test_shape_behaves_like_a_sequence():
    t = attnn.from_numpy(np.zeros((2, 3, 4), np.float32))
    b, s, h = t.shape
    assert (b, s, h) == (2, 3, 4)
    assert len(t.shape) == 3 and t.shape[-1] == 4 and list(t.shape) == [2, 3, 4]
    assert t.shape == attnn.Shape([2, 3, 4]) and t.shape != (2, 3)
    assert repr(t.shape) == "Shape([2, 3, 4])"
    with pytest.raises(IndexError):
        t.shape[3]
    assert t.shape[1:] == (3, 4) and t.shape[::-1] == (4, 3, 2) and t.shape[5:] == ()
    # numpy's integers are ints (they have __index__), floats are not
    assert attnn.Shape([np.int64(2), np.uint32(3), 4]) == [2, 3, 4]
    assert t.shape == (np.int64(2), 3, 4)
    assert attnn.zeros((np.int64(2), 2)).shape == (2, 2)
    assert attnn.reshape(t, (np.int32(6), -1)).shape == (6, 4)
    with pytest.raises(TypeError, match="expected ints"):
        attnn.Shape([2.0, 3])


def test_numpy_arrays_do_not_broadcast_over_tensors():
    # Without __array_ufunc__ = None numpy made an object array of Tensors out of t + ndarray.
    t = attnn.from_numpy(np.ones((2, 2), np.float32))
    with pytest.raises(TypeError):
        t + np.ones((2, 2))
    with pytest.raises(TypeError):
        np.ones(2) * t


def test_repr_is_ttnn_style():
    t = attnn.from_numpy(np.array([[1.0, 2.5]], np.float32), dtype=attnn.bfloat16, layout=attnn.TILE_LAYOUT)
    text = repr(t)
    assert text.startswith("ttnn.Tensor([[")
    assert "shape=Shape([1, 2]), dtype=DataType::BFLOAT16, layout=Layout::TILE" in text
    assert "2.50000" in text
    assert str(attnn.bfloat8_b) == "DataType::BFLOAT8_B" and str(attnn.TILE_LAYOUT) == "Layout::TILE"


def test_device_placement_and_memory_config(device):
    x = np.ones((4, 4), np.float32)
    host = attnn.from_numpy(x)
    assert host.device() is None and not host.storage_on_device()
    on = attnn.to_device(host, device, memory_config=attnn.L1_MEMORY_CONFIG)
    assert on.device() == device and on.memory_config() == attnn.L1_MEMORY_CONFIG
    assert on.memory_config() == attnn.MemoryConfig(attnn.TensorMemoryLayout.INTERLEAVED, attnn.BufferType.L1)
    back = attnn.from_device(on)
    assert back.device() is None and np.array_equal(attnn.to_numpy(back), x)
    assert np.array_equal(attnn.to_numpy(on.cpu()), x)
    assert on.to(attnn.TILE_LAYOUT).layout == attnn.TILE_LAYOUT
    assert attnn.to_layout(host, attnn.TILE_LAYOUT, device=device).device() == device


def test_deallocate_then_use_raises(device):
    t = attnn.from_numpy(np.ones((2, 2), np.float32), device=device)
    alias = t
    attnn.deallocate(t)
    assert not alias.is_allocated()
    with pytest.raises(RuntimeError, match="deallocated"):
        attnn.to_numpy(alias)
    with pytest.raises(RuntimeError):
        attnn.softmax(alias)


def test_creation_ops(device):
    z = attnn.zeros((2, 33), device=device)
    assert z.dtype == attnn.bfloat16 and z.shape == (2, 33)
    assert np.all(attnn.to_numpy(z).astype(np.float32) == 0)
    o = attnn.ones([3, 1], dtype=attnn.float32, layout=attnn.TILE_LAYOUT)
    assert np.all(attnn.to_numpy(o) == 1)
    f = attnn.full((2, 2), 2.5, dtype=attnn.float32)
    assert np.all(attnn.to_numpy(f) == 2.5)


@pytest.mark.parametrize("dtype,layout", dtype_layouts())
def test_npy_files_round_trip(dtype, layout, tmp_path, rng):
    x = rng.standard_normal((3, 37)).astype(np.float32)
    t = attnn.from_numpy(x, dtype=dtype, layout=layout)
    path = str(tmp_path / "t.npy")
    attnn.save_npy(path, t)
    loaded = np.load(path)
    if dtype == attnn.bfloat16:
        assert loaded.dtype == np.dtype("V2")  # ml_dtypes' bfloat16 as numpy stores it
        loaded = loaded.view(ml_dtypes.bfloat16)
    assert np.array_equal(loaded.astype(np.float32), attnn.to_numpy(t).astype(np.float32))
    back = attnn.load_npy(path, dtype=dtype, layout=layout)
    assert np.array_equal(attnn.to_numpy(back).astype(np.float32), attnn.to_numpy(t).astype(np.float32))


def test_load_npy_written_by_numpy_with_ml_dtypes(tmp_path, rng):
    x = rng.standard_normal((4, 5)).astype(ml_dtypes.bfloat16)
    path = str(tmp_path / "bf16.npy")
    np.save(path, x)
    t = attnn.load_npy(path)
    assert t.dtype == attnn.bfloat16
    assert np.array_equal(attnn.to_numpy(t).view(np.uint16), x.view(np.uint16))
    with pytest.raises(RuntimeError, match="load_npy"):
        attnn.load_npy(str(tmp_path / "missing.npy"))



@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_from_torch_to_torch(dtype, rng):
    torch = pytest.importorskip("torch")
    x = torch.from_numpy(rng.standard_normal((5, 33)).astype(np.float32))
    t = attnn.from_torch(x, dtype=dtype, layout=attnn.TILE_LAYOUT)
    y = attnn.to_torch(t)
    assert y.dtype == (torch.bfloat16 if dtype == attnn.bfloat16 else torch.float32)
    assert torch.equal(y.float(), torch.from_numpy(attnn.to_numpy(t).astype(np.float32)))
    xb = x.to(torch.bfloat16)
    tb = attnn.from_torch(xb, layout=attnn.TILE_LAYOUT)
    assert tb.dtype == attnn.bfloat16 and torch.equal(attnn.to_torch(tb), xb)


def test_from_torch_takes_numpy_and_to_torch_names_its_requirement(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    t = attnn.from_torch(x, layout=attnn.TILE_LAYOUT)
    assert np.array_equal(attnn.to_numpy(t), x)
    try:
        import torch  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="to_numpy"):
            attnn.to_torch(t)


INDEXES = [
    (slice(None), 1),
    (..., slice(0, 32)),
    (1, ..., slice(3, None, 4)),
    (-1, -2, slice(None, None, 2)),
    0,
    (slice(1, 2), slice(None), slice(-5, None), slice(7, 30, 3)),
    (..., 5),
]


@pytest.mark.parametrize("dtype,layout", dtype_layouts())
@pytest.mark.parametrize("index", INDEXES, ids=repr)
def test_getitem_matches_numpy(dtype, layout, index, rng, device):
    """PyTorch's basic indexing: ints drop their dim, slices (negative, stepped) keep it; values
    as stored (a block-float result is encoded again, so compare against its re-encoding)."""
    t = attnn.from_numpy(rng.standard_normal((2, 3, 33, 40)).astype(np.float32), dtype=dtype, layout=layout,
                         device=device)
    stored = attnn.to_numpy(t).astype(np.float32)
    got = t[index]
    want = stored[index]
    assert tuple(got.shape) == want.shape
    assert got.dtype == dtype and got.layout == layout
    reencoded = attnn.to_numpy(attnn.from_numpy(np.ascontiguousarray(want), dtype=dtype, layout=layout))
    assert np.array_equal(attnn.to_numpy(got).astype(np.float32), reencoded.astype(np.float32))


def test_slice_is_ttnn_slice(device):
    a = np.arange(3 * 40, dtype=np.int32).reshape(3, 40) * 1000003
    t = attnn.from_numpy(a, layout=attnn.TILE_LAYOUT, device=device)
    assert np.array_equal(attnn.to_numpy(attnn.slice(t, [1, 3], [3, 40], [1, 4])), a[1:3, 3:40:4])
    assert np.array_equal(attnn.to_numpy(attnn.slice(t, [0, 0], [2, 5])), a[0:2, 0:5])


def test_getitem_errors_name_the_problem(device):
    t = attnn.from_numpy(np.zeros((2, 3, 4), np.float32), device=device)
    with pytest.raises(IndexError, match="too many indices"):
        t[0, 0, 0, 0]
    with pytest.raises(IndexError, match="out of range for dim 1 of size 3"):
        t[:, 3]
    with pytest.raises(IndexError, match="selects nothing"):
        t[:, 2:1]
    with pytest.raises(ValueError, match="step must be positive"):
        t[::-1]
    with pytest.raises(IndexError, match="single value"):
        t[0, 0, 0]
    with pytest.raises(IndexError, match="one ellipsis"):
        t[..., 0, ...]
    with pytest.raises(TypeError, match="expected an int, a slice"):
        t["a"]
    with pytest.raises(ValueError, match="slice"):
        attnn.slice(t, [0, 0, 0], [2, 4, 4])
