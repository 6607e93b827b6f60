"""Sample test you can run in the workspace: python -m pytest -q

The hidden suite (`attnquiz grade`) checks much more: gradients against a float64 reference for
many shapes, a gradcheck of your backward against your own forward, L = 1, inputs that need no
gradient, large scores, dtypes.
"""

import math

import torch

from attention_backward import AttentionFunction, attention


def _qkv(*shape):
    g = torch.Generator().manual_seed(0)
    return tuple(torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(3))


def test_forward_is_attention():
    q, k, v = _qkv(2, 5, 4)
    expected = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(4), dim=-1) @ v
    assert torch.allclose(attention(q, k, v), expected)


def test_backward_matches_autograd():
    q, k, v = _qkv(2, 5, 4)
    up = torch.randn(2, 5, 4, dtype=torch.float64)
    got = torch.autograd.grad(AttentionFunction.apply(q, k, v), (q, k, v), up)
    plain = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(4), dim=-1) @ v  # autograd's own graph
    expected = torch.autograd.grad(plain, (q, k, v), up)
    for name, g, e in zip("qkv", got, expected):
        assert torch.allclose(g, e), f"gradient w.r.t. {name}"


def test_gradcheck():
    assert torch.autograd.gradcheck(attention, _qkv(3, 2))
