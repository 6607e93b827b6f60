"""What a zygote does once, before it forks: first calls that every grading would pay again.

Imported only by the zygote processes (attnquiz/grading/zygote.py), never by the CLI.
"""

from __future__ import annotations

import os


def torch_once() -> None:
    """Lazy imports and first-call set-up that every grading would pay again: torch.autograd.grad
    imports torch.fx's symbolic shapes (and sympy) on first use, 0.4 to 0.8 s. Plain data only:
    no kata is involved. Torch computes on one thread here (OMP_NUM_THREADS=1), so no thread
    exists to be lost in the fork."""
    import torch
    import torch.fx.experimental.symbolic_shapes  # noqa: F401
    import torch.nn.functional as F

    linear = torch.nn.Linear(4, 4)
    mask = torch.ones(3, 3, dtype=torch.bool).tril()
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        layer = linear.to(dtype)
        x = torch.ones(2, 3, 4, dtype=dtype, requires_grad=True)
        scores = (layer(x) @ x.transpose(-2, -1)).masked_fill(~mask, float("-inf"))
        y = F.softmax(scores, dim=-1) @ x
        torch.autograd.grad((y * y).sum(), [x, *layer.parameters()], allow_unused=True)
        torch.allclose(y, y, equal_nan=True)
    if len(os.listdir("/proc/self/task")) != 1:
        raise RuntimeError("torch started a thread in the zygote; a forked child would lack it")
