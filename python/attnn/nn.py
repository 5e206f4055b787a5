"""attnn.nn: modules built from attnn's ops.

LlamaAttention is the attention layer of a Llama-family LLM as tt-metal's models build it (seed 004,
section 2.4): fused QKV linear -> heads -> RoPE -> KV cache (contiguous or paged) -> flash
attention (prefill) or flash decode -> concat heads -> output linear. Weights are numpy float32
arrays in nn.Linear's [out_features, in_features] layout.
"""

import numpy as np

from . import _attnn

LlamaAttentionConfig = _attnn.nn.LlamaAttentionConfig


class LlamaAttention(_attnn.nn.LlamaAttention):
    def __init__(self, device, config, wq, wk, wv, wo):
        def f32(w):
            if hasattr(w, "detach"):  # a torch tensor or parameter
                w = w.detach().float().cpu().numpy()
            return np.ascontiguousarray(w, dtype=np.float32)

        super().__init__(device, config, f32(wq), f32(wk), f32(wv), f32(wo))


__all__ = ["LlamaAttention", "LlamaAttentionConfig"]
