"""open_device / close_device, TT-NN's ignored keywords, the program cache, closed devices."""

import os
import signal

import numpy as np
import pytest

import attnn
from conftest import close_session_device


def test_open_close_and_ttnn_keywords():
    close_session_device()
    device = attnn.open_device(device_id=0, l1_small_size=8192, trace_region_size=1 << 20, num_command_queues=2,
                               dispatch_core_config=None, worker_l1_size=None)
    try:
        assert device.id() == 0 and device.is_open()
        assert device.num_workers() >= 1
        grid = device.compute_with_storage_grid_size()
        assert grid.x == device.num_workers() and grid.y == 1
        assert device.isa() in ("avx512", "avx2", "portable")
        with pytest.raises(RuntimeError, match="already open"):
            attnn.open_device(device_id=0)
    finally:
        attnn.close_device(device)
    assert not device.is_open()
    with pytest.raises(RuntimeError, match="closed"):
        attnn.from_numpy(np.ones(2, np.float32), device=device)
    with pytest.raises(RuntimeError):
        attnn.enable_program_cache(device)


def test_bad_open_arguments():
    close_session_device()
    with pytest.raises(ValueError, match="device_id"):
        attnn.open_device(device_id=1)
    with pytest.raises(ValueError, match="num_command_queues"):
        attnn.open_device(device_id=0, num_command_queues=3)
    with pytest.raises(ValueError, match="num_workers"):
        attnn.open_device(device_id=0, num_workers=-2)
    with pytest.raises(TypeError):
        attnn.open_device(device_id=0, no_such_option=1)
    assert attnn.get_num_devices() == 1


def test_manage_device_and_worker_count():
    close_session_device()
    with attnn.manage_device(device_id=0, num_workers=1) as device:
        assert device.num_workers() == 1
        t = attnn.from_numpy(np.eye(3, dtype=np.float32), device=device)
        assert np.array_equal(attnn.to_numpy(t @ t), np.eye(3))
    assert not device.is_open()


def test_program_cache_counts_hits_and_misses():
    close_session_device()
    device = attnn.open_device(device_id=0)
    try:
        a = attnn.from_numpy(np.ones((64, 64), np.float32), layout=attnn.TILE_LAYOUT, device=device)
        attnn.matmul(a, a)
        assert device.num_program_cache_entries() == 0  # off until enabled (README: the program cache)
        attnn.enable_program_cache(device)
        assert device.program_cache_enabled()
        attnn.matmul(a, a)
        entries = device.num_program_cache_entries()
        misses = device.program_cache_misses()
        assert entries >= 1 and misses >= 1
        attnn.matmul(a, a)
        assert device.num_program_cache_entries() == entries
        assert device.program_cache_hits() >= 1 and device.program_cache_misses() == misses
        b = attnn.from_numpy(np.ones((32, 64), np.float32), layout=attnn.TILE_LAYOUT, device=device)
        attnn.matmul(b, a)  # a new input spec builds a new program
        assert device.num_program_cache_entries() > entries
        device.disable_and_clear_program_cache()
        assert device.num_program_cache_entries() == 0 and not device.program_cache_enabled()
    finally:
        attnn.close_device(device)


def test_tensors_of_two_devices_do_not_mix():
    close_session_device()
    first = attnn.open_device(device_id=0)
    a = attnn.from_numpy(np.ones((2, 2), np.float32), device=first)
    attnn.close_device(first)
    second = attnn.open_device(device_id=0)
    try:
        b = attnn.from_numpy(np.ones((2, 2), np.float32), device=second)
        with pytest.raises((RuntimeError, ValueError)):
            attnn.add(a, b)
    finally:
        attnn.close_device(second)


def test_device_equality_and_hash(device):
    t = attnn.from_numpy(np.ones((2, 2), np.float32), device=device)
    same = t.device()
    assert same == device and hash(same) == hash(device)
    assert len({device, same}) == 1 and {device: 1}[same] == 1  # a dict keyed by device finds it
    assert device != None and not (device == 5) and device in [None, device]  # noqa: E711
    assert attnn.DRAM_MEMORY_CONFIG != None and attnn.DRAM_MEMORY_CONFIG != 3  # noqa: E711
    grid = attnn.CoreGrid(y=1, x=2)
    assert grid != None and grid == attnn.CoreGrid(y=1, x=2)  # noqa: E711
    assert hash(grid) == hash(attnn.CoreGrid(y=1, x=2))


def test_manage_device_keeps_the_bodys_exception():
    close_session_device()
    with pytest.raises(KeyError, match="the body's"):
        with attnn.manage_device(device_id=0) as device:
            attnn.close_device(device)
            raise KeyError("the body's")
    assert not device.is_open()


def test_a_forked_child_opens_its_own_device(device):
    a = attnn.from_numpy(np.ones((32, 32), np.float32), layout=attnn.TILE_LAYOUT, device=device)
    attnn.softmax(a)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running the parent's clean-up
        code = 0
        try:
            signal.alarm(30)
            try:
                attnn.softmax(a)
                code = 1
            except RuntimeError as e:
                code = 0 if "fork" in str(e) else 2
            if code == 0:
                own = attnn.open_device(device_id=0)
                b = attnn.from_numpy(np.ones((32, 32), np.float32), layout=attnn.TILE_LAYOUT, device=own)
                attnn.softmax(b)
                attnn.close_device(own)
        except BaseException:
            code = 3
        os.write(write, bytes([code]))
        os._exit(code)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 1) == bytes([0]) and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    os.close(read)
    assert np.allclose(attnn.to_numpy(attnn.softmax(a)), 1 / 32)  # the parent's device still runs
