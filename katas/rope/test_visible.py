"""Sample test you can run in the workspace: python -m pytest -q

The hidden suite (`attnquiz grade`) checks much more: values against the exact rotation for many
shapes and positions up to 8191, other bases, bfloat16, decode steps, the relative-position
property, gradients, edge cases.
"""

import math

import pytest
import torch

from rope import apply_rope


def test_shape_dtype_and_position_zero():
    x = torch.randn(2, 3, 5, 8)
    out = apply_rope(x, torch.arange(5))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.allclose(out[..., 0, :], x[..., 0, :])  # position 0: angle 0, no rotation
    assert torch.allclose(out.norm(dim=-1), x.norm(dim=-1), atol=1e-5)  # rotations keep norms


def test_half_split_pairing():
    # d = 4: the pairs are (x[0], x[2]) with θ_0 = 1 and (x[1], x[3]) with θ_1 = 1/100.
    x = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    out = apply_rope(x, torch.tensor([1]))
    assert torch.allclose(out, torch.tensor([[math.cos(1.0), 0.0, math.sin(1.0), 0.0]]), atol=1e-6)


def test_decode_step_uses_the_absolute_position():
    x = torch.randn(1, 2, 6, 8)
    full = apply_rope(x, torch.arange(6))
    step = apply_rope(x[..., 4:5, :], torch.tensor([4]))  # one new token at position 4
    assert torch.allclose(step, full[..., 4:5, :], atol=1e-5)


def test_odd_width_is_rejected():
    with pytest.raises(ValueError):
        apply_rope(torch.randn(3, 5), torch.arange(3))
