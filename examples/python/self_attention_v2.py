"""Seed 000, "Simple Weighted Attention Mechanism V2", on attnn.

SelfAttention_v2 (three bias-free Linear layers), the naive TT-NN port SelfAttention_ttnn_v2
(converts its inputs on every call, scales on the host) and the optimized port
SelfAttention_ttnn_opt_v2 (weights resident in BFLOAT16 tiles, linear with transpose_b, scale and
softmax on the device, program cache on), then the notebook's benchmark over 1024 x 2048 inputs.

With PyTorch installed the torch cells run as written; without it the same numbers come from
numpy and attnn.random, which draws exactly as torch.manual_seed / nn.Linear / torch.randn do.

    python examples/python/self_attention_v2.py                    # benchmark N = 1 and 2
    python examples/python/self_attention_v2.py --iterations 1 10 100
    python examples/python/self_attention_v2.py --full             # the notebook's 1..10000
"""

import argparse
import time

import numpy as np

import attnn as ttnn
from seed_support import HAVE_TORCH, as_numpy, torch, torch_format

if HAVE_TORCH:
    from torch import nn


class Linear:
    """nn.Linear(d_in, d_out, bias=False) without PyTorch: torch's initial weights, fp32 math."""

    def __init__(self, generator, d_in, d_out):
        self.weight = generator.linear_weight(d_in, d_out)

    def __call__(self, x):
        return x @ self.weight.T


def softmax(x, dim=-1):
    if HAVE_TORCH:
        return torch.softmax(x, dim=dim)
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


class SelfAttention_v2:
    def __init__(self, d_in, d_out, generator=None):
        make = (lambda: nn.Linear(d_in, d_out, bias=False)) if HAVE_TORCH else (lambda: Linear(generator, d_in, d_out))
        self.W_query = make()
        self.W_key = make()
        self.W_value = make()

    def __call__(self, x):
        keys = self.W_key(x)
        queries = self.W_query(x)
        values = self.W_value(x)
        attn_scores = queries @ keys.T
        attn_weights = softmax(attn_scores / keys.shape[-1] ** 0.5, dim=-1)
        context_vec = attn_weights @ values
        return context_vec


to_host = ttnn.to_torch if HAVE_TORCH else ttnn.to_numpy


class SelfAttention_ttnn_v2(SelfAttention_v2):
    def __init__(self, d_in, d_out, device, generator=None):
        super().__init__(d_in, d_out, generator)
        self._device = device

    def __call__(self, x):
        keys = self.W_key(x)
        queries = self.W_query(x)
        values = self.W_value(x)
        queries_ttnn = ttnn.from_torch(queries, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=self._device)
        keys_transposed_ttnn = ttnn.from_torch(keys.T, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT,
                                               device=self._device)
        values_ttnn = ttnn.from_torch(values, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=self._device)
        attn_scores_ttnn = ttnn.matmul(queries_ttnn, keys_transposed_ttnn)
        attn_scores_scaled_torch = to_host(attn_scores_ttnn) / (keys.shape[-1] ** 0.5)
        attn_scores_scaled_ttnn = ttnn.from_torch(attn_scores_scaled_torch, dtype=ttnn.bfloat16,
                                                  layout=ttnn.TILE_LAYOUT, device=self._device)
        attn_weights_ttnn = ttnn.softmax(attn_scores_scaled_ttnn, dim=-1)
        context_vec_ttnn = ttnn.matmul(attn_weights_ttnn, values_ttnn)
        context_vec = to_host(context_vec_ttnn)
        return context_vec


class SelfAttention_ttnn_opt_v2(SelfAttention_v2):
    def __init__(self, d_in, d_out, device, generator=None):
        super().__init__(d_in, d_out, generator)
        self._device = device
        # Extract weight matrices from the layers and convert to TTNN once
        self.W_query_ttnn = ttnn.from_torch(self.W_query.weight, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT,
                                            device=self._device, memory_config=ttnn.L1_MEMORY_CONFIG)
        self.W_key_ttnn = ttnn.from_torch(self.W_key.weight, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT,
                                          device=self._device, memory_config=ttnn.L1_MEMORY_CONFIG)
        self.W_value_ttnn = ttnn.from_torch(self.W_value.weight, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT,
                                            device=self._device, memory_config=ttnn.L1_MEMORY_CONFIG)
        self._scaler = 1 / (d_out**0.5)

    def __call__(self, x):
        x_ttnn = ttnn.from_torch(x, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=self._device)
        queries_ttnn = ttnn.linear(x_ttnn, self.W_query_ttnn, transpose_b=True, core_grid=ttnn.CoreGrid(y=32, x=32))
        values_ttnn = ttnn.linear(x_ttnn, self.W_value_ttnn, transpose_b=True, core_grid=ttnn.CoreGrid(y=32, x=32))
        keys_ttnn = ttnn.linear(x_ttnn, self.W_key_ttnn, transpose_b=True, core_grid=ttnn.CoreGrid(y=32, x=32))
        attn_scores_ttnn = ttnn.matmul(queries_ttnn, ttnn.permute(keys_ttnn, (1, 0)), core_grid=ttnn.CoreGrid(y=32, x=32))
        attn_weights_ttnn = ttnn.softmax(attn_scores_ttnn * self._scaler, dim=-1)
        context_vec_ttnn = ttnn.matmul(attn_weights_ttnn, values_ttnn, core_grid=ttnn.CoreGrid(y=32, x=32))
        context_vec = to_host(context_vec_ttnn)
        return context_vec


def manual_seed(seed):
    """torch.manual_seed(seed); without PyTorch, the generator that draws as it would."""
    if HAVE_TORCH:
        torch.manual_seed(seed)
        return None
    return ttnn.random.Generator(seed)


def randn(generator, *shape):
    return torch.randn(*shape) if HAVE_TORCH else generator.randn(shape)


def timed_passes(make_module, inputs):
    """The notebook's timing cells: seed 789, then (timed) build the module and run it over every
    input. Returns the milliseconds and the last result."""
    gen = manual_seed(789)
    start = time.time()
    module = make_module(gen)
    for tensor in inputs:
        result = module(tensor)
    return (time.time() - start) * 1000, result


def make_context():
    rows = [[0.43, 0.15, 0.89], [0.55, 0.87, 0.66], [0.57, 0.85, 0.64],
            [0.22, 0.58, 0.33], [0.77, 0.25, 0.10], [0.05, 0.80, 0.55]]
    return torch.tensor(rows) if HAVE_TORCH else np.array(rows, np.float32)


def no_grad():
    if HAVE_TORCH:
        return torch.no_grad()
    import contextlib

    return contextlib.nullcontext()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, nargs="+", default=[1, 2],
                        help="benchmark forward-pass counts (default: 1 2)")
    parser.add_argument("--full", action="store_true", help="the notebook's 1, 100, 1000, 10000 (hours)")
    args = parser.parse_args()
    counts = [1, 100, 1000, 10000] if args.full else args.iterations

    with no_grad():
        # The 6 x 3 example: SelfAttention_v2 on the CPU, then the naive port on the device.
        context = make_context()
        d_in = context[0].shape[0]
        d_out = d_in - 1
        gen = manual_seed(789)
        sa_v2 = SelfAttention_v2(d_in, d_out, gen)
        print("SelfAttention_v2 (CPU):")
        print(torch_format(sa_v2(context)))

        gen = manual_seed(789)
        device = ttnn.open_device(device_id=0)
        sa_ttnn_v2 = SelfAttention_ttnn_v2(d_in, d_out, device, gen)
        print("SelfAttention_ttnn_v2 (attnn, BFLOAT16):")
        print(torch_format(sa_ttnn_v2(context), prefix="TorchTensor", suffix=", dtype=torch.bfloat16"))
        ttnn.close_device(device)

        # The benchmark: N forward passes of 1024 x 2048 inputs, d_out 2048, per version.
        gen_inputs = manual_seed(789)
        inputs = [randn(gen_inputs, 1024, 2048) for _ in range(max(counts))]
        rows = []
        for n in counts:
            times = {}
            times["cpu"], cpu_result = timed_passes(lambda g: SelfAttention_v2(2048, 2048, g), inputs[:n])

            device = ttnn.open_device(device_id=0)
            times["naive"], naive_result = timed_passes(
                lambda g: SelfAttention_ttnn_v2(2048, 2048, device, g), inputs[:n])
            ttnn.close_device(device)

            device = ttnn.open_device(device_id=0)
            ttnn.enable_program_cache(device)
            times["opt"], opt_result = timed_passes(
                lambda g: SelfAttention_ttnn_opt_v2(2048, 2048, device, g), inputs[:n])
            ttnn.close_device(device)
            rows.append((n, times))

        cpu = as_numpy(cpu_result)
        print()
        print(f"Performance (ms): N forward passes of 1024 x 2048 inputs, d_out 2048 "
              f"({'torch' if HAVE_TORCH else 'numpy'} fp32 on the CPU vs attnn)")
        print("|      N |        CPU |   attnn naive |   attnn fast |")
        print("|--------|------------|---------------|--------------|")
        for n, t in rows:
            print(f"| {n:6d} | {t['cpu']:10.2f} | {t['naive']:13.2f} | {t['opt']:12.2f} |")
        print(f"PCC of the last result against the CPU module: naive {ttnn.comp_pcc(cpu, as_numpy(naive_result))[1]:.6f}, "
              f"fast {ttnn.comp_pcc(cpu, as_numpy(opt_result))[1]:.6f}")


if __name__ == "__main__":
    main()
