"""Ops release the GIL while they run, and ops called from several threads at once on one device
give the results they give alone."""

import threading
import time

import numpy as np

import attnn
from conftest import put


def _sdpa_inputs(rng, device, s=4096, heads=8, dh=128):
    return [put(rng.standard_normal((1, heads, s, dh)), attnn.bfloat16, attnn.TILE_LAYOUT, device)[0]
            for _ in range(3)]


def test_a_long_op_lets_other_python_threads_run(rng, device):
    q, k, v = _sdpa_inputs(rng, device)

    def op():
        return attnn.transformer.scaled_dot_product_attention(q, k, v, is_causal=False)

    op()  # program built, buffers warm
    start = time.perf_counter()
    op()
    alone = time.perf_counter() - start
    # Long enough that a held GIL would show as a gap of the whole op, once per op, in the loop
    # below: at least 4 ops.
    repeats = max(4, int(np.ceil(0.6 / max(alone, 1e-3))))

    done = threading.Event()

    def worker():
        for _ in range(repeats):
            op()
        done.set()

    thread = threading.Thread(target=worker)
    gaps, ticks = [], 0
    thread.start()
    last = time.perf_counter()
    began = last
    while not done.is_set():
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
        ticks += 1
    thread.join()
    busy = last - began
    # With the GIL held through each op, this loop would stop for a whole op at a time.
    assert ticks > 100, f"the main thread ran {ticks} times in {busy:.3f} s beside the ops"
    # One long stall may be the scheduler's (two cores, both busy with the op's workers); a held
    # GIL stalls the loop once per op.
    stalls = [g for g in gaps if g >= 0.5 * alone]
    assert len(stalls) <= 1, f"the main thread stalled {len(stalls)} times ({stalls}) beside {repeats} ops of {alone:.3f} s"


def test_ops_from_several_threads_match_their_results_alone(rng, device):
    cases = []
    for s in (31, 160, 257):
        q, k, v = _sdpa_inputs(rng, device, s=s, heads=4, dh=64)
        a, _ = put(rng.standard_normal((1, 1, s, 96)), attnn.float32, attnn.TILE_LAYOUT, device)
        b, _ = put(rng.standard_normal((1, 1, 96, 33)), attnn.float32, attnn.ROW_MAJOR_LAYOUT, device)
        cases.append((q, k, v, a, b))

    def run(case):
        q, k, v, a, b = case
        return (attnn.to_numpy(attnn.transformer.scaled_dot_product_attention(q, k, v, is_causal=True)),
                attnn.to_numpy(attnn.matmul(a, b)))

    alone = [run(c) for c in cases]
    results, errors = {}, []

    def worker(i):
        try:
            for r in range(5):
                results[(i, r)] = run(cases[i])
        except Exception as e:  # surfaced below, with the thread it came from
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 5 * len(cases)
    for (i, r), (sdpa, mm) in results.items():
        assert np.array_equal(sdpa, alone[i][0]), f"case {i}, round {r}: sdpa differs from its run alone"
        assert np.array_equal(mm, alone[i][1]), f"case {i}, round {r}: matmul differs from its run alone"
