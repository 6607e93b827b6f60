"""Sample test you can run in the workspace: python -m pytest -q

The hidden suite (`attnquiz grade`) also compares values and caches with the reference,
decodes after reference caches, checks the cache is exactly the latent, chunk offsets, empty
caches and chunks, causality, that the cache passed in is left alone, gradients and dtypes.
"""

import pytest
import torch

from latent_attention import LatentAttention


def test_shapes_and_latent_cache():
    m = LatentAttention(d_model=16, num_heads=4, d_latent=6)
    y, cache = m(torch.randn(2, 5, 16))
    assert y.shape == (2, 5, 16)
    assert cache.shape == (2, 5, 6)  # (B, L, d_latent): only the latent is cached
    y, cache = m(torch.randn(2, 1, 16), cache)
    assert y.shape == (2, 1, 16)
    assert cache.shape == (2, 6, 6)


def test_heads_must_divide_d_model():
    with pytest.raises(ValueError):
        LatentAttention(d_model=10, num_heads=3, d_latent=4)


def test_decoding_token_by_token_equals_full_pass():
    torch.manual_seed(0)
    m = LatentAttention(d_model=8, num_heads=2, d_latent=3)
    x = torch.randn(1, 4, 8)
    full, full_cache = m(x)
    cache, ys = None, []
    for t in range(4):
        y, cache = m(x[:, t : t + 1], cache)
        ys.append(y)
    assert torch.allclose(torch.cat(ys, dim=1), full, atol=1e-5)
    assert torch.allclose(cache, full_cache, atol=1e-6)
