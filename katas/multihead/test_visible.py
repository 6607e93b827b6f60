"""Sample test you can run in the workspace: python -m pytest -q

The hidden suite (`attnquiz grade`) also compares values with torch.nn.MultiheadAttention,
masks, NaN on fully masked rows, gradients and dtypes.
"""

import pytest
import torch

from multihead import MultiHeadSelfAttention


def test_shape_and_submodules():
    m = MultiHeadSelfAttention(d_model=16, num_heads=4)
    x = torch.randn(2, 5, 16)
    assert m(x).shape == (2, 5, 16)
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        assert isinstance(getattr(m, name), torch.nn.Linear)


def test_heads_must_divide_d_model():
    with pytest.raises(ValueError):
        MultiHeadSelfAttention(d_model=10, num_heads=3)


def test_positions_do_not_mix_without_attention():
    # With a mask letting each position see only itself, position i's output depends on x[i] only.
    m = MultiHeadSelfAttention(d_model=8, num_heads=2)
    x = torch.randn(1, 4, 8)
    eye = torch.eye(4, dtype=torch.bool)
    y = m(x, eye)
    x2 = x.clone()
    x2[0, 3] += 1.0
    assert torch.allclose(m(x2, eye)[0, :3], y[0, :3], atol=1e-6)
