"""open_device with TT-NN's keywords, and the device helpers TT-NN programs use."""

import contextlib
import enum

from . import _attnn
from ._attnn import CoreGrid, close_device

__all__ = ["open_device", "manage_device", "CoreCoord", "Arch"]


class Arch(enum.Enum):
    """TT-NN's device architectures, and attnn's own: a CPU device reports Arch.CPU."""

    GRAYSKULL = 1
    WORMHOLE_B0 = 2
    BLACKHOLE = 3
    CPU = 100


def open_device(
    device_id=0,
    *,
    l1_small_size=0,
    trace_region_size=0,
    num_command_queues=1,
    dispatch_core_config=None,
    worker_l1_size=None,
    num_workers=0,
):
    """Opens the CPU device (device 0) and returns it.

    ``num_workers`` (attnn's own) sets the worker threads; 0 gives one per CPU this process may run on.
    TT-NN's ``l1_small_size``, ``trace_region_size``, ``num_command_queues``,
    ``dispatch_core_config`` and ``worker_l1_size`` size Tensix SRAM and dispatch queues, which a
    CPU does not have: they are accepted so TT-NN programs run unchanged, and have no effect.
    Opening a device that is already open raises RuntimeError.
    """
    if num_command_queues not in (1, 2):
        raise ValueError(f"open_device: num_command_queues must be 1 or 2, given {num_command_queues}")
    for name, value in (("l1_small_size", l1_small_size), ("trace_region_size", trace_region_size)):
        if value < 0:
            raise ValueError(f"open_device: {name} must be >= 0, given {value}")
    return _attnn._open_device(device_id, num_workers, l1_small_size, trace_region_size)


@contextlib.contextmanager
def manage_device(device_id=0, **kwargs):
    """``with manage_device(0) as device:`` opens the device and closes it on the way out."""
    device = open_device(device_id, **kwargs)
    try:
        yield device
    finally:
        if device.is_open():  # the body may have closed it; its own exception then stands
            close_device(device)


def CoreCoord(x, y):
    """TT-NN's CoreCoord(x, y): a grid of y rows and x columns of workers."""
    return CoreGrid(y=y, x=x)
