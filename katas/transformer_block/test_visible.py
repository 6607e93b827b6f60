"""Sample test you can run in the workspace: python -m pytest -q

The hidden suite (`attnquiz grade`) also compares values with the reference and with
nn.TransformerEncoderLayer(norm_first=True), checks the submodules, the residual stream,
gradients and dtypes.
"""

import pytest
import torch

from block import Block


def test_shape_and_submodules():
    m = Block(d_model=16, num_heads=4)
    x = torch.randn(2, 5, 16)
    assert m(x).shape == (2, 5, 16)
    assert isinstance(m.ln1, torch.nn.LayerNorm) and isinstance(m.ln2, torch.nn.LayerNorm)
    assert m.mlp.fc.out_features == 64  # d_ff defaults to 4 * d_model
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        assert isinstance(getattr(m.attn, name), torch.nn.Linear)


def test_heads_must_divide_d_model():
    with pytest.raises(ValueError):
        Block(d_model=10, num_heads=3)


def test_future_does_not_leak():
    torch.manual_seed(0)
    m = Block(d_model=8, num_heads=2)
    x = torch.randn(1, 6, 8)
    changed = x.clone()
    changed[0, 4:] += 1.0
    assert torch.allclose(m(x)[:, :4], m(changed)[:, :4], atol=1e-6)
