"""Sample test you can run in the workspace: python -m pytest -q

The hidden suite (`attnquiz grade`) checks much more: values, padding, NaN, gradients, dtypes.
"""

import torch

from causal import causal_attention


def test_first_query_sees_only_itself():
    q, k, v = torch.randn(1, 2, 4, 8), torch.randn(1, 2, 4, 8), torch.randn(1, 2, 4, 8)
    out, weights = causal_attention(q, k, v)
    assert out.shape == (1, 2, 4, 8)
    assert weights.shape == (1, 2, 4, 4)
    assert torch.allclose(out[:, :, 0], v[:, :, 0], atol=1e-6)
    assert torch.all(weights.triu(1) == 0)  # nothing above the diagonal: no future key


def test_future_does_not_leak():
    q, k, v = torch.randn(2, 1, 5, 4), torch.randn(2, 1, 5, 4), torch.randn(2, 1, 5, 4)
    out, _ = causal_attention(q, k, v)
    k2, v2 = k.clone(), v.clone()
    k2[:, :, 3:] += 1.0
    v2[:, :, 3:] -= 2.0
    out2, _ = causal_attention(q, k2, v2)
    assert torch.allclose(out[:, :, :3], out2[:, :, :3], atol=1e-6)


def test_left_padding_gives_zeros_not_nan():
    q, k, v = torch.randn(1, 1, 4, 4), torch.randn(1, 1, 4, 4), torch.randn(1, 1, 4, 4)
    pad = torch.tensor([[False, True, True, True]])  # position 0 is padding
    out, weights = causal_attention(q, k, v, pad)
    assert not torch.isnan(out).any()
    assert torch.all(out[0, 0, 0] == 0) and torch.all(weights[0, 0, 0] == 0)
