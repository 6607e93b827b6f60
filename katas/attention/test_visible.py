"""Sample test you can run in the workspace: python -m pytest -q

The hidden suite (`attnquiz grade`) checks much more: leading dims, masks, NaN, gradients, dtypes.
"""

import math

import torch

from attention import scaled_dot_product_attention


def test_one_query_two_keys():
    q = torch.tensor([[1.0, 0.0]])  # (Lq=1, d_k=2)
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # (Lk=2, d_k=2)
    v = torch.tensor([[10.0], [20.0]])  # (Lk=2, d_v=1)
    out, weights = scaled_dot_product_attention(q, k, v)
    a = math.exp(1 / math.sqrt(2))
    expected_w = torch.tensor([[a / (a + 1), 1 / (a + 1)]])
    assert weights.shape == (1, 2)
    assert out.shape == (1, 1)
    assert torch.allclose(weights, expected_w, atol=1e-6)
    assert torch.allclose(out, expected_w @ v, atol=1e-5)


def test_shapes_with_batch():
    q, k, v = torch.randn(2, 3, 8), torch.randn(2, 5, 8), torch.randn(2, 5, 4)
    out, weights = scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 4)
    assert weights.shape == (2, 3, 5)
