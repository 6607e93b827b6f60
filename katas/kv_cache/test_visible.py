"""Sample test you can run in the workspace: python -m pytest -q

The hidden suite (`attnquiz grade`) also compares values and caches with the reference, decodes
after reference caches, checks chunk offsets, empty caches and chunks, that the cache passed in
is left alone, gradients and dtypes.
"""

import pytest
import torch

from kv_cache import CachedSelfAttention


def test_shapes_and_cache_growth():
    m = CachedSelfAttention(d_model=16, num_heads=4)
    y, (k, v) = m(torch.randn(2, 5, 16))
    assert y.shape == (2, 5, 16)
    assert k.shape == v.shape == (2, 4, 5, 4)  # (B, H, L, head_dim)
    y, (k, v) = m(torch.randn(2, 1, 16), (k, v))
    assert y.shape == (2, 1, 16)
    assert k.shape == v.shape == (2, 4, 6, 4)


def test_heads_must_divide_d_model():
    with pytest.raises(ValueError):
        CachedSelfAttention(d_model=10, num_heads=3)


def test_decoding_token_by_token_equals_full_pass():
    torch.manual_seed(0)
    m = CachedSelfAttention(d_model=8, num_heads=2)
    x = torch.randn(1, 4, 8)
    full, _ = m(x)
    cache, ys = None, []
    for t in range(4):
        y, cache = m(x[:, t : t + 1], cache)
        ys.append(y)
    assert torch.allclose(torch.cat(ys, dim=1), full, atol=1e-5)
