"""The seed scripts under examples/python run and print the seeds' numbers."""

import os
import re
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python")


def run(script, *args):
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, script), *args], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_simple_attention_prints_the_seed_values():
    out = run("simple_attention.py")
    seed = {  # seed 003's printed tensors
        "attn_scores": "tensor([0.9544, 1.4950, 1.4754, 0.8434, 0.7070, 1.0865])",
        "attn_weights": "tensor([0.1385, 0.2379, 0.2333, 0.1240, 0.1082, 0.1581])",
        "context_vec": "tensor([0.4419, 0.6515, 0.5683])",
    }
    for name, text in seed.items():
        assert f"{name}\n{text}\n" in out, name
        assert f"ttnn {name}\n{text}\n" in out, "ttnn " + name
    rows = ["[0.4421, 0.5931, 0.5790]", "[0.4419, 0.6515, 0.5683]", "[0.4431, 0.6496, 0.5671]",
            "[0.4304, 0.6298, 0.5510]", "[0.4671, 0.5910, 0.5266]", "[0.4177, 0.6503, 0.5645]"]
    context_vecs = "tensor([" + ",\n        ".join(rows) + "])"
    assert f"context_vecs\n{context_vecs}\n" in out
    assert f"ttnn context_vecs\n{context_vecs}\n" in out
    weights_row = "[0.1526, 0.1958, 0.1975, 0.1367, 0.1879, 0.1295]"
    assert out.count(weights_row) == 2


SEED_000 = [(-0.0739, 0.0713), (-0.0748, 0.0703), (-0.0749, 0.0702), (-0.0760, 0.0685), (-0.0763, 0.0679),
            (-0.0754, 0.0693)]


def parse_rows(block):
    return [tuple(float(v) for v in row.split(",")) for row in re.findall(r"\[\s*([-0-9., ]+)\]", block)]


def test_self_attention_v2_prints_the_seed_values_and_a_benchmark_table():
    out = run("self_attention_v2.py", "--iterations", "1")
    cpu = out.split("SelfAttention_v2 (CPU):\n")[1].split("SelfAttention_ttnn_v2")[0]
    expected = "tensor([" + ",\n        ".join(f"[{a:.4f},  {b:.4f}]" for a, b in SEED_000) + "])"
    assert cpu.strip() == expected
    naive = parse_rows(out.split("SelfAttention_ttnn_v2 (attnn, BFLOAT16):\n")[1].split("Performance")[0])
    assert len(naive) == 6
    for (a, b), (x, y) in zip(SEED_000, naive):  # BFLOAT16 products: within a bfloat16 step of fp32
        assert abs(a - x) < 1e-3 and abs(b - y) < 1e-3
    assert re.search(r"\|\s+1 \|\s+[0-9.]+ \|\s+[0-9.]+ \|\s+[0-9.]+ \|", out)
    pcc = re.search(r"naive ([0-9.]+), fast ([0-9.]+)", out)
    assert float(pcc.group(1)) > 0.9999 and float(pcc.group(2)) > 0.9999


def test_multi_head_attention_runs_both_versions_and_agrees():
    out = run("multi_head_attention.py")
    assert "Function 'multi_head_attention' executed in" in out
    assert re.search(r"Multi-head attention ran in [0-9.]+ seconds for the first iteration", out)
    assert "for the subsequent iteration because of the program cache" in out
    assert re.search(r"Optimized multi-head attention ran in [0-9.]+ seconds for the first iteration", out)
    naive, opt = map(float, re.search(r"PCC vs float64: naive ([0-9.]+), optimized ([0-9.]+)", out).groups())
    assert naive >= 0.999 and opt >= 0.999
    agreement = float(re.search(r"naive vs optimized: PCC ([0-9.]+)", out).group(1))
    assert agreement >= 0.99


def test_llm_attention_prefill_and_paged_decode_match_float64():
    out = run("llm_attention.py")
    pccs = [float(p) for p in re.findall(r"PCC vs float64 ([0-9.]+)", out)]
    assert len(pccs) == 5  # four prefills and one decode step
    assert min(pccs) >= 0.999


def test_scripts_refuse_bad_arguments():
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, "self_attention_v2.py"), "--iterations", "x"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "invalid int value" in done.stderr


@pytest.mark.parametrize("script", ["simple_attention.py", "self_attention_v2.py", "multi_head_attention.py",
                                    "llm_attention.py"])
def test_scripts_import_attnn_as_ttnn(script):
    with open(os.path.join(EXAMPLES, script)) as f:
        assert "import attnn as ttnn\n" in f.read()
