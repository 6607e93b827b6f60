"""Sample test you can run in the workspace: python -m pytest -q

The hidden suite (`attnquiz grade`) checks much more: values against the reference, eps,
causality, gradients, dtypes, and the memory bound (L = 16384 without an L × L matrix).
"""

import torch
import torch.nn.functional as F

from linear_attention import causal_linear_attention


def _quadratic(q, k, v, eps=1e-6):
    """The same numbers the slow way (fine at L = 6, not at L = 16384)."""
    a = ((F.elu(q) + 1) @ (F.elu(k) + 1).transpose(-2, -1)).tril()  # (B, H, L, L)
    return (a @ v) / (a.sum(-1, keepdim=True) + eps)


def test_shape_and_values():
    q, k, v = torch.randn(2, 3, 6, 4), torch.randn(2, 3, 6, 4), torch.randn(2, 3, 6, 5)
    out = causal_linear_attention(q, k, v)
    assert out.shape == (2, 3, 6, 5)
    assert torch.allclose(out, _quadratic(q, k, v), atol=1e-5)


def test_eps_is_in_the_denominator():
    q, k, v = torch.randn(1, 1, 4, 4), torch.randn(1, 1, 4, 4), torch.randn(1, 1, 4, 2)
    assert torch.allclose(causal_linear_attention(q, k, v, eps=0.5), _quadratic(q, k, v, eps=0.5), atol=1e-5)


def test_the_future_does_not_leak():
    q, k, v = torch.randn(1, 2, 5, 4), torch.randn(1, 2, 5, 4), torch.randn(1, 2, 5, 3)
    k2, v2 = k.clone(), v.clone()
    k2[:, :, 3:], v2[:, :, 3:] = 10.0, -10.0
    assert torch.allclose(causal_linear_attention(q, k, v)[:, :, :3], causal_linear_attention(q, k2, v2)[:, :, :3], atol=1e-6)
