"""``tensor[...]``: PyTorch's basic indexing on attnn tensors, as TT-NN's Tensor.__getitem__ offers
it, built on ``slice`` (and ``reshape`` where an integer index drops a dim)."""

from . import _attnn


def _getitem(tensor, index):
    """Integers (negative ones count from the end) select and drop their dim; slices keep it, with
    Python's start/stop/step rules (a step must be positive); one ``...`` stands for the dims not
    named. The result is a new tensor, not a view, of the same dtype and layout; a block-float
    result is encoded again. An index that would leave no dims, or an empty dim, is an error."""
    shape = list(tensor.shape)
    rank = len(shape)
    items = index if isinstance(index, tuple) else (index,)
    if sum(item is Ellipsis for item in items) > 1:
        raise IndexError("Tensor[...]: an index can have only one ellipsis ('...')")
    named = sum(item is not Ellipsis and item is not None for item in items)
    for item in items:
        if item is None:
            raise IndexError("Tensor[...]: None (new axes) is not supported; use reshape")
    if named > rank:
        raise IndexError(f"Tensor[...]: too many indices ({named}) for a tensor of rank {rank}")
    expanded = []
    for item in items:
        if item is Ellipsis:
            expanded.extend([slice(None)] * (rank - named))
        else:
            expanded.append(item)
    expanded.extend([slice(None)] * (rank - len(expanded)))

    starts, ends, steps, kept = [], [], [], []
    for dim, (item, size) in enumerate(zip(expanded, shape)):
        if isinstance(item, slice):
            if item.step is not None and item.step <= 0:
                raise ValueError(f"Tensor[...]: dim {dim}: the step must be positive, given {item.step}")
            start, stop, step = item.indices(size)
            if stop <= start:
                raise IndexError(
                    f"Tensor[...]: dim {dim} of size {size}: {item} selects nothing (attnn has no empty tensors)")
            starts.append(start)
            ends.append(stop)
            steps.append(step)
            kept.append((stop - start + step - 1) // step)
        elif isinstance(item, int) or hasattr(item, "__index__"):
            i = item.__index__()
            if not -size <= i < size:
                raise IndexError(f"Tensor[...]: index {i} is out of range for dim {dim} of size {size}")
            i += size if i < 0 else 0
            starts.append(i)
            ends.append(i + 1)
            steps.append(1)
        else:
            raise TypeError(f"Tensor[...]: dim {dim}: expected an int, a slice or ..., given {type(item).__name__}")
    if not kept:
        raise IndexError("Tensor[...]: the index selects a single value; attnn tensors have at least one dim")
    out = _attnn.slice(tensor, starts, ends, steps)
    if len(kept) != rank:
        out = _attnn.reshape(out, kept)
    return out
