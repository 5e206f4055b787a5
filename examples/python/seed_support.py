"""What the seed scripts share: PyTorch when it is installed, numpy otherwise, and torch's way of
printing a tensor so the scripts print what the notebooks printed."""

import numpy as np

try:
    import torch
except ImportError:  # the scripts run on numpy alone
    torch = None

HAVE_TORCH = torch is not None


def as_numpy(x):
    """A torch tensor, numpy array or attnn tensor's values as a float32 numpy array."""
    if HAVE_TORCH and isinstance(x, torch.Tensor):
        return x.detach().float().numpy()
    if hasattr(x, "layout") and hasattr(x, "dtype") and not isinstance(x, np.ndarray):
        import attnn

        return attnn.to_numpy(x, np.float32)
    return np.asarray(x, np.float32)


def torch_format(x, prefix="tensor", suffix=""):
    """torch's default print of a 1-d or 2-d float tensor (4 decimals, columns aligned)."""
    a = as_numpy(x)
    cells = [f"{v:.4f}" for v in a.ravel()]
    width = max(len(c) for c in cells) if cells else 0
    cells = [c.rjust(width) for c in cells]
    if a.ndim <= 1:
        body = "[" + ", ".join(cells) + "]" if a.ndim == 1 else cells[0]
    else:
        cols = a.shape[-1]
        rows = ["[" + ", ".join(cells[r * cols : (r + 1) * cols]) + "]" for r in range(a.size // cols)]
        indent = " " * (len(prefix) + 2)
        body = "[" + (",\n" + indent).join(rows) + "]"
    return f"{prefix}({body}{suffix})"
