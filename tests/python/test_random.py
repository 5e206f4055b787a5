"""attnn.random draws as torch's CPU generator does (mt19937, 24-bit uniforms, nn.Linear init)."""

import numpy as np
import pytest

import attnn


def test_uniform_uses_24_bits_of_each_mt19937_draw():
    # mt19937 seeded with 789 draws 1388712499, 568673934, ... (checked against std::mt19937)
    u = attnn.random.Generator(789).uniform(2)
    assert u.dtype == np.float32 and u.shape == (2,)
    assert u[0] == np.float32((1388712499 & 0xFFFFFF) / 16777216.0)
    assert u[1] == np.float32((568673934 & 0xFFFFFF) / 16777216.0)
    g = attnn.random.Generator(1)
    g.manual_seed(789)
    assert np.array_equal(g.uniform((2, 1)).ravel(), u)


def test_linear_weight_is_uniform_in_plus_minus_one_over_sqrt_in():
    w = attnn.random.Generator(0).linear_weight(in_features=64, out_features=3)
    assert w.shape == (3, 64)
    assert np.all(np.abs(w) <= 1 / 8) and np.std(w) > 0.05


def test_randn_statistics_and_shape():
    x = attnn.random.Generator(5).randn((256, 64))
    assert x.shape == (256, 64) and x.dtype == np.float32
    assert abs(float(x.mean())) < 0.02 and abs(float(x.std()) - 1) < 0.02


def test_matches_torch_when_installed():
    torch = pytest.importorskip("torch")
    torch.manual_seed(789)
    lin = torch.nn.Linear(3, 2, bias=False)
    assert np.array_equal(lin.weight.detach().numpy(), attnn.random.Generator(789).linear_weight(3, 2))
    torch.manual_seed(7)
    assert np.array_equal(torch.randn(1024, 3).numpy(), attnn.random.Generator(7).randn((1024, 3)))
