"""Online (streaming) logsumexp: the running max-and-rescale trick behind FlashAttention."""

from __future__ import annotations

from typing import Iterable, Optional

import torch


def streaming_logsumexp(chunks: Iterable[torch.Tensor]) -> torch.Tensor:
    """log Σ exp(x) over the concatenation of the chunks along the last dim, reading each once.

    Only a running maximum m and a running sum s = Σ exp(x - m) are kept, so memory does not
    grow with the number of chunks. When a chunk raises the maximum, the sum so far was taken
    against the old one: multiplying it by exp(m_old - m_new) puts it on the new scale.
    """
    m: Optional[torch.Tensor] = None  # (...) running maximum (-inf while all seen are -inf)
    s: Optional[torch.Tensor] = None  # (...) running Σ exp(x - m)
    for x in chunks:  # (..., n_i), each chunk seen exactly once
        if x.size(-1) == 0:
            continue  # an empty chunk adds nothing (and has no maximum)
        m_new = x.amax(dim=-1) if m is None else torch.maximum(m, x.amax(dim=-1))  # (...)
        shift = m_new.masked_fill(m_new == float("-inf"), 0.0)  # all -inf so far: -inf - -inf is NaN
        e = torch.exp(x - shift.unsqueeze(-1)).sum(dim=-1)  # (...), every term <= 1
        s = e if s is None else s * torch.exp(m - shift) + e  # put the old sum on the new scale
        m = m_new
    if m is None or s is None:
        raise ValueError("streaming_logsumexp needs at least one non-empty chunk")
    return m.masked_fill(m == float("-inf"), 0.0) + torch.log(s)  # all -inf: 0 + log(0) = -inf
