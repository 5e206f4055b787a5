"""Seed 003, "A Very Simple Attention Mechanism", on attnn.

Attention with no trainable weights over the six 3-d embeddings of "Your journey starts with one
step": the notebook's torch cells first (numpy when PyTorch is not installed), then the same
exercise with TT-NN's ops (matmul, softmax, matmul) on attnn. Both print the seed's numbers.

    python examples/python/simple_attention.py
"""

import numpy as np

import attnn as ttnn
from seed_support import HAVE_TORCH, torch, torch_format

context_rows = [
    [0.43, 0.15, 0.89],  # Your     (x^1)
    [0.55, 0.87, 0.66],  # journey  (x^2)
    [0.57, 0.85, 0.64],  # starts   (x^3)
    [0.22, 0.58, 0.33],  # with     (x^4)
    [0.77, 0.25, 0.10],  # one      (x^5)
    [0.05, 0.80, 0.55],  # step     (x^6)
]


def softmax(x, dim=-1):
    if HAVE_TORCH:
        return torch.softmax(x, dim=dim)
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def show(title, value):
    print(title)
    print(torch_format(value))
    print()


# The notebook's cells: one query ("journey"), then every token at once.
if HAVE_TORCH:
    torch.manual_seed(123)
    context = torch.tensor(context_rows)
else:
    context = np.array(context_rows, dtype=np.float32)
query_3 = context[1]  # select the second token in the context

attn_scores = (torch.empty(len(context)) if HAVE_TORCH else np.empty(len(context), np.float32))
for i, t_i in enumerate(context):
    attn_scores[i] = torch.dot(query_3, t_i) if HAVE_TORCH else np.dot(query_3, t_i)
show("attn_scores", attn_scores)
attn_weights = softmax(attn_scores, dim=-1)
show("attn_weights", attn_weights)
show("attn_weights.sum()", attn_weights.sum())
context_vec = torch.zeros(len(query_3)) if HAVE_TORCH else np.zeros(len(query_3), np.float32)
for i, c_i in enumerate(context):
    context_vec += attn_weights[i] * c_i
show("context_vec", context_vec)

first_batch = context
attn_scores = first_batch @ first_batch.T
show("attn_scores (all tokens)", attn_scores)
attn_weights = softmax(attn_scores, dim=-1)
show("attn_weights (all tokens)", attn_weights)
context_vecs = attn_weights @ context
show("context_vecs", context_vecs)

# Context vectors in TT-NN: the same three steps on the device.
device = ttnn.open_device(device_id=0)
context_ttnn = ttnn.from_torch(context, dtype=ttnn.float32, layout=ttnn.TILE_LAYOUT, device=device)
query_ttnn = ttnn.from_torch(context[1:2], dtype=ttnn.float32, layout=ttnn.TILE_LAYOUT, device=device)

attn_scores_ttnn = ttnn.matmul(query_ttnn, context_ttnn, transpose_b=True)
show("ttnn attn_scores", ttnn.reshape(attn_scores_ttnn, (6,)))
attn_weights_ttnn = ttnn.softmax(attn_scores_ttnn, dim=-1)
show("ttnn attn_weights", ttnn.reshape(attn_weights_ttnn, (6,)))
context_vec_ttnn = ttnn.matmul(attn_weights_ttnn, context_ttnn)
show("ttnn context_vec", ttnn.reshape(context_vec_ttnn, (3,)))

attn_scores_ttnn = ttnn.matmul(context_ttnn, ttnn.permute(context_ttnn, (1, 0)))
show("ttnn attn_scores (all tokens)", attn_scores_ttnn)
attn_weights_ttnn = ttnn.softmax(attn_scores_ttnn, dim=-1)
show("ttnn attn_weights (all tokens)", attn_weights_ttnn)
context_vecs_ttnn = attn_weights_ttnn @ context_ttnn
show("ttnn context_vecs", context_vecs_ttnn)

ttnn.close_device(device)
