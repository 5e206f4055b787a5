"""matmul, linear, eltwise, softmax and data movement against numpy float64 references."""

import numpy as np
import pytest

import attnn
import reference as ref
from conftest import assert_close, dtype_layouts, put

MATMUL_SHAPES = [  # (a shape, b shape)
    ((1, 1), (1, 1)),
    ((31, 33), (33, 1)),
    ((33, 31), (31, 33)),
    ((2, 3, 33, 64), (64, 31)),  # b broadcast over a's batch
    ((1, 37, 40), (3, 40, 33)),  # a broadcast over b's batch
    ((2, 5, 2011), (2011, 17)),
]


@pytest.mark.parametrize("dtype,layout", dtype_layouts())
@pytest.mark.parametrize("a_shape,b_shape", MATMUL_SHAPES)
def test_matmul(dtype, layout, a_shape, b_shape, rng, device):
    a, a_ref = put(rng.standard_normal(a_shape), dtype, layout, device)
    b, b_ref = put(rng.standard_normal(b_shape), dtype, layout, device)
    out = attnn.matmul(a, b)
    assert out.dtype == dtype and out.layout == layout
    assert_close(attnn.to_numpy(out), ref.matmul(a_ref, b_ref), dtype)
    assert_close(attnn.to_numpy(a @ b), ref.matmul(a_ref, b_ref), dtype)


@pytest.mark.parametrize("transpose_a,transpose_b", [(True, False), (False, True), (True, True)])
def test_matmul_transposes(transpose_a, transpose_b, rng, device):
    a_shape = (2, 33, 31) if transpose_a else (2, 31, 33)
    b_shape = (17, 33) if transpose_b else (33, 17)
    a, a_ref = put(rng.standard_normal(a_shape), attnn.float32, attnn.TILE_LAYOUT, device)
    b, b_ref = put(rng.standard_normal(b_shape), attnn.float32, attnn.TILE_LAYOUT, device)
    out = attnn.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b)
    assert_close(attnn.to_numpy(out), ref.matmul(a_ref, b_ref, transpose_a, transpose_b), attnn.float32)


def test_matmul_output_dtype_core_grid_and_ignored_configs(rng, device):
    a, a_ref = put(rng.standard_normal((64, 96)), attnn.bfloat16, attnn.TILE_LAYOUT, device)
    b, b_ref = put(rng.standard_normal((96, 40)), attnn.bfloat8_b, attnn.TILE_LAYOUT, device)
    out = attnn.matmul(a, b, dtype=attnn.bfloat8_b, memory_config=attnn.L1_MEMORY_CONFIG,
                       core_grid=attnn.CoreGrid(y=8, x=12), program_config=None,
                       compute_kernel_config=attnn.WormholeComputeKernelConfig())
    assert out.dtype == attnn.bfloat8_b and out.memory_config() == attnn.L1_MEMORY_CONFIG
    assert_close(attnn.to_numpy(out), ref.matmul(a_ref, b_ref), attnn.bfloat8_b)


@pytest.mark.parametrize("dtype,layout", dtype_layouts([attnn.float32, attnn.bfloat16, attnn.bfloat8_b]))
@pytest.mark.parametrize("activation", [None, "relu", "gelu", "silu"])
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (31, 33, 17), (2 * 33, 64, 95)])
def test_linear(dtype, layout, activation, m, k, n, rng, device):
    a, a_ref = put(rng.standard_normal((m, k)), dtype, layout, device)
    w, w_ref = put(rng.standard_normal((n, k)), dtype, layout, device)  # torch layout: transpose_b
    bias, bias_ref = put(rng.standard_normal((1, n)), dtype, layout, device)
    out = attnn.linear(a, w, bias=bias, transpose_b=True, activation=activation)
    assert_close(attnn.to_numpy(out), ref.linear(a_ref, w_ref, bias_ref, True, activation), dtype)


def test_matmul_with_activation_is_linear_without_bias(rng, device):
    a, a_ref = put(rng.standard_normal((33, 31)), attnn.float32, attnn.TILE_LAYOUT, device)
    b, b_ref = put(rng.standard_normal((31, 5)), attnn.float32, attnn.TILE_LAYOUT, device)
    out = attnn.matmul(a, b, activation="relu")
    assert_close(attnn.to_numpy(out), ref.linear(a_ref, b_ref, act="relu"), attnn.float32)


BINARY_SHAPES = [((1,), (1,)), ((31, 33), (31, 33)), ((2, 31, 33), (1, 33)), ((3, 1, 2011), (3, 5, 1))]


@pytest.mark.parametrize("dtype,layout", dtype_layouts())
@pytest.mark.parametrize("a_shape,b_shape", BINARY_SHAPES)
def test_binary_ops_broadcast(dtype, layout, a_shape, b_shape, rng, device):
    a, a_ref = put(rng.standard_normal(a_shape), dtype, layout, device)
    b, b_ref = put(rng.standard_normal(b_shape), dtype, layout, device)
    for op, fn, expected in (
        (attnn.add, lambda x, y: x + y, a_ref + b_ref),
        (attnn.subtract, lambda x, y: x - y, a_ref - b_ref),
        (attnn.multiply, lambda x, y: x * y, a_ref * b_ref),
    ):
        assert_close(attnn.to_numpy(op(a, b)), expected, dtype, op.__name__)
        assert_close(attnn.to_numpy(fn(a, b)), expected, dtype, op.__name__ + " operator")


@pytest.mark.parametrize("dtype,layout", dtype_layouts([attnn.float32, attnn.bfloat16]))
def test_scalar_ops_and_operators(dtype, layout, rng, device):
    a, a_ref = put(rng.standard_normal((31, 33)), dtype, layout, device)
    cases = [
        (attnn.add(a, 1.5), a_ref + 1.5),
        (attnn.subtract(a, 2), a_ref - 2),
        (attnn.multiply(a, -0.25), a_ref * -0.25),
        (a + 1.5, a_ref + 1.5),
        (1.5 + a, a_ref + 1.5),
        (a - 3, a_ref - 3),
        (3 - a, 3 - a_ref),
        (a * 0.125, a_ref * 0.125),
        (0.125 * a, a_ref * 0.125),
        (a / 4, a_ref / 4),
        (-a, -a_ref),
    ]
    for i, (out, expected) in enumerate(cases):
        assert_close(attnn.to_numpy(out), expected, dtype, f"case {i}")
    acc = a
    acc += a
    assert_close(attnn.to_numpy(acc), 2 * a_ref, dtype, "+=")


def test_binary_output_dtype(rng, device):
    a, a_ref = put(rng.standard_normal((4, 40)), attnn.float32, attnn.TILE_LAYOUT, device)
    out = attnn.add(a, a, dtype=attnn.bfloat8_b, memory_config=attnn.L1_MEMORY_CONFIG)
    assert out.dtype == attnn.bfloat8_b
    assert_close(attnn.to_numpy(out), 2 * a_ref, attnn.bfloat8_b)


@pytest.mark.parametrize("dtype,layout", dtype_layouts([attnn.float32, attnn.bfloat16, attnn.bfloat8_b]))
@pytest.mark.parametrize("shape,dim", [((1,), -1), ((31, 33), -1), ((31, 33), 0), ((2, 3, 2011), -1), ((2, 33, 5), 1)])
def test_softmax(dtype, layout, shape, dim, rng, device):
    x, x_ref = put(rng.standard_normal(shape) * 4, dtype, layout, device)
    out = attnn.softmax(x, dim=dim)
    assert_close(attnn.to_numpy(out), ref.softmax(x_ref, dim), dtype)


def test_softmax_of_all_minus_inf_rows_is_zero(device):
    x = np.array([[-np.inf] * 5, [0.0, 1.0, -np.inf, 2.0, 3.0]], np.float32)
    out = attnn.to_numpy(attnn.softmax(attnn.from_numpy(x, device=device), dim=-1))
    assert np.all(out[0] == 0)
    assert np.allclose(out[1], ref.softmax(x[1:], -1)[0], atol=1e-6)


@pytest.mark.parametrize("dtype,layout", dtype_layouts([attnn.float32, attnn.bfloat16]))
def test_reshape_permute_transpose(dtype, layout, rng, device):
    x, x_ref = put(rng.standard_normal((2, 33, 31)), dtype, layout, device)
    assert np.array_equal(attnn.to_numpy(attnn.reshape(x, (66, 31))).astype(np.float64), x_ref.reshape(66, 31))
    assert np.array_equal(attnn.to_numpy(attnn.reshape(x, (-1, 31, 11, 3))).astype(np.float64),
                          x_ref.reshape(-1, 31, 11, 3))
    assert np.array_equal(attnn.to_numpy(x.reshape(2, 1023)).astype(np.float64), x_ref.reshape(2, 1023))
    assert np.array_equal(attnn.to_numpy(attnn.permute(x, (2, 0, 1))).astype(np.float64), x_ref.transpose(2, 0, 1))
    assert np.array_equal(attnn.to_numpy(attnn.permute(x, [0, 2, 1])).astype(np.float64), x_ref.transpose(0, 2, 1))
    assert np.array_equal(attnn.to_numpy(attnn.transpose(x, -1, -2)).astype(np.float64), np.swapaxes(x_ref, -1, -2))
    fallback = attnn.get_fallback_function(attnn.reshape)
    assert np.array_equal(attnn.to_numpy(fallback(x, (33, 2, 31))).astype(np.float64), x_ref.reshape(33, 2, 31))


def test_log_runtime_prints_the_function_and_its_time(capsys):
    @attnn.log_runtime
    def work(x):
        return x + 1

    assert work(1) == 2
    assert "Function 'test_log_runtime_prints_the_function_and_its_time.<locals>.work' executed in" in capsys.readouterr().out


def test_comp_pcc(rng, device):
    x = rng.standard_normal((31, 33))
    t = attnn.from_numpy(x.astype(np.float32), dtype=attnn.bfloat16, device=device)
    passed, value = attnn.comp_pcc(x, t)
    assert passed and 0.9999 < value <= 1.0
    assert abs(value - ref.pcc(x, attnn.to_numpy(t).astype(np.float64))) < 1e-12
    assert attnn.comp_pcc(x, -x)[1] < -0.99
