"""TT-NN's program helpers: log_runtime and get_fallback_function."""

import functools
import time

__all__ = ["log_runtime", "get_fallback_function"]


def log_runtime(function):
    """Decorator: prints how long each call took, as TT-NN's log_runtime."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        output = function(*args, **kwargs)
        duration = time.perf_counter() - start
        print(f"Function '{function.__qualname__}' executed in {duration:.4f} seconds")
        return output

    return wrapper


def get_fallback_function(op):
    """The op run on the host. attnn's ops already run on the host, so this is the op itself;
    it exists so TT-NN programs read the same."""
    if not callable(op):
        raise TypeError(f"get_fallback_function: expected an attnn op, given {op!r}")
    return op
