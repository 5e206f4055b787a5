"""PyTorch's CPU random numbers, draw for draw, without PyTorch.

Generator(seed) draws as torch.manual_seed(seed) would: ``uniform(size, low, high)`` is
torch.empty(size).uniform_(low, high), ``randn(size)`` is torch.randn(size), and
``linear_weight(in, out)`` is nn.Linear(in, out).weight. Results are float32 numpy arrays.
"""

from . import _attnn

Generator = _attnn.random.Generator
manual_seed = _attnn.random.manual_seed
default_generator = _attnn.random.default_generator

__all__ = ["Generator", "manual_seed", "default_generator"]
