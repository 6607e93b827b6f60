"""Sample test you can run in the workspace: python -m pytest -q

The hidden suite (`attnquiz grade`) also compares values with the reference and with
torch.nn.MultiheadAttention(kdim=vdim=d_memory), memory masks, a memory with no real position,
gradients and dtypes.
"""

import pytest
import torch

from cross import CrossAttention


def test_shape_and_submodules():
    m = CrossAttention(d_model=16, num_heads=4, d_memory=10)
    x, memory = torch.randn(2, 3, 16), torch.randn(2, 7, 10)
    assert m(x, memory).shape == (2, 3, 16)
    assert (m.q_proj.in_features, m.q_proj.out_features) == (16, 16)
    assert (m.k_proj.in_features, m.k_proj.out_features) == (10, 16)
    assert (m.v_proj.in_features, m.v_proj.out_features) == (10, 16)
    assert (m.out_proj.in_features, m.out_proj.out_features) == (16, 16)


def test_heads_must_divide_d_model():
    with pytest.raises(ValueError):
        CrossAttention(d_model=10, num_heads=3)


def test_padding_is_ignored():
    # memory_mask True = real position: changing a padded memory position changes nothing.
    m = CrossAttention(d_model=8, num_heads=2, d_memory=6)
    x, memory = torch.randn(1, 4, 8), torch.randn(1, 5, 6)
    mask = torch.tensor([[True, True, True, False, False]])
    y = m(x, memory, mask)
    memory2 = memory.clone()
    memory2[0, 4] += 10.0
    assert torch.allclose(m(x, memory2, mask), y, atol=1e-6)
