"""Sample test you can run in the workspace: python -m pytest -q

The hidden suite (`attnquiz grade`) also compares values with the reference and with
F.scaled_dot_product_attention(enable_gqa=True), checks which KV head each query head reads,
masks, NaN on fully masked rows, gradients and dtypes.
"""

import pytest
import torch

from gqa import GroupedQueryAttention


def test_shape_and_projection_sizes():
    m = GroupedQueryAttention(d_model=16, num_heads=8, num_kv_heads=2)  # head_dim = 2
    x = torch.randn(2, 5, 16)
    assert m(x).shape == (2, 5, 16)
    assert (m.q_proj.in_features, m.q_proj.out_features) == (16, 16)
    assert (m.k_proj.in_features, m.k_proj.out_features) == (16, 4)
    assert (m.v_proj.in_features, m.v_proj.out_features) == (16, 4)
    assert (m.out_proj.in_features, m.out_proj.out_features) == (16, 16)


def test_divisibility():
    with pytest.raises(ValueError):
        GroupedQueryAttention(d_model=10, num_heads=3, num_kv_heads=1)
    with pytest.raises(ValueError):
        GroupedQueryAttention(d_model=16, num_heads=8, num_kv_heads=3)


def test_causal_mask_hides_the_future():
    # mask True = may attend: with a causal mask, changing the last token leaves earlier outputs alone.
    m = GroupedQueryAttention(d_model=16, num_heads=4, num_kv_heads=2)
    x = torch.randn(1, 5, 16)
    causal = torch.ones(5, 5, dtype=torch.bool).tril()
    y = m(x, causal)
    x2 = x.clone()
    x2[0, 4] += 1.0
    assert torch.allclose(m(x2, causal)[0, :4], y[0, :4], atol=1e-6)
