"""Hidden suite for the alibi kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker. Both functions take plain ints
and return float32 tensors; the reference computes the slopes in float64 (Python floats) and
rounds once, and h.close compares in float64 with float32's tolerance.
"""

import torch

POWERS_OF_TWO = (1, 2, 4, 8, 16, 32)
OTHERS = (3, 5, 6, 7, 12, 24)


def _rule(n):
    """How the slopes of n heads are built, in the learner's terms (for failure messages)."""
    low = 1 << (n.bit_length() - 1)
    if low == n:
        return f"a power of two: 2^(-8 (h + 1) / {n})"
    return f"not a power of two: the {low} slopes of {low} heads, then slopes({2 * low})[0::2][:{n - low}]"


def _slopes(sol, h, n):
    s = h.tensor(sol.alibi_slopes(n), f"alibi_slopes({n})")
    if tuple(s.shape) != (n,):
        raise AssertionError(f"alibi_slopes({n}): shape {tuple(s.shape)}, expected ({n},)")
    return s


def _expects_value_error(fn, call):
    try:
        fn()
    except ValueError:
        return
    raise AssertionError(f"{call} must raise ValueError")


def test_invalid_arguments(sol, ref, h):
    """num_heads < 1 (slopes or bias) and length < 0 raise ValueError."""
    _expects_value_error(lambda: sol.alibi_slopes(0), "alibi_slopes(0)")
    _expects_value_error(lambda: sol.alibi_slopes(-2), "alibi_slopes(-2)")
    _expects_value_error(lambda: sol.alibi_bias(0, 4), "alibi_bias(0, 4) (num_heads < 1)")
    _expects_value_error(lambda: sol.alibi_bias(4, -1), "alibi_bias(4, -1) (length < 0)")


def test_slopes_powers_of_two(sol, ref, h):
    """1, 2, 4, 8, 16, 32 heads: 2^(-8 (h + 1) / n), largest first; float32."""
    for n in POWERS_OF_TWO:
        h.close(sol.alibi_slopes(n), ref.alibi_slopes(n), f"alibi_slopes({n}) ({_rule(n)})", dtype=torch.float32)


def test_slopes_other_head_counts(sol, ref, h):
    """3, 5, 6, 7, 12, 24 heads: the paper's interleaving rule, not the power-of-two formula."""
    for n in OTHERS:
        h.close(sol.alibi_slopes(n), ref.alibi_slopes(n), f"alibi_slopes({n}) ({_rule(n)})", dtype=torch.float32)


def test_slopes_nest(sol, ref, h):
    """Property: slopes(n)[:n'] = slopes(n') for n' = 2^floor(log2 n), the rest are slopes(2n')[0::2];
    slopes(2m)[1::2] = slopes(m) for a power of two m; the last slope of a power of two is 2^-8;
    every slope is in (0, 1)."""
    for m in (1, 2, 4, 8, 16):
        small, large = _slopes(sol, h, m), _slopes(sol, h, 2 * m)
        h.close(large[1::2], small, f"alibi_slopes({2 * m})[1::2] (must equal alibi_slopes({m}): the odd-index slopes of 2m heads are the slopes of m heads)")
        h.close(small[-1:], torch.tensor([2.0**-8]), f"the last slope of alibi_slopes({m}) (must be 2^-8)")
    for n in OTHERS:
        low = 1 << (n.bit_length() - 1)
        s = _slopes(sol, h, n)
        h.close(s[:low], _slopes(sol, h, low), f"alibi_slopes({n})[:{low}] (must equal alibi_slopes({low}))")
        h.close(s[low:], _slopes(sol, h, 2 * low)[0::2][: n - low], f"alibi_slopes({n})[{low}:] (must equal alibi_slopes({2 * low})[0::2][:{n - low}])")
    for n in POWERS_OF_TWO + OTHERS:
        s = _slopes(sol, h, n)
        assert bool(((s > 0) & (s < 1)).all()), f"alibi_slopes({n}) = {s.tolist()}: every slope must lie in (0, 1)"


def test_bias_values(sol, ref, h):
    """bias[h, i, j] = -slope_h (i - j) for j <= i, -inf for j > i, for many head counts and lengths."""
    for heads, length in ((1, 5), (2, 4), (3, 4), (4, 6), (5, 7), (6, 3), (8, 9), (12, 5), (24, 4)):
        h.close(
            sol.alibi_bias(heads, length), ref.alibi_bias(heads, length),
            f"alibi_bias({heads}, {length}) (slopes: {_rule(heads)})", dtype=torch.float32,
        )  # fmt: skip


def test_bias_edge_lengths(sol, ref, h):
    """length = 1 gives zeros (H, 1, 1); length = 0 gives an empty (H, 0, 0) tensor."""
    for heads in (1, 3, 8):
        h.close(sol.alibi_bias(heads, 1), torch.zeros(heads, 1, 1), f"alibi_bias({heads}, 1) (a single position: bias 0)", dtype=torch.float32)
        h.close(sol.alibi_bias(heads, 0), torch.zeros(heads, 0, 0), f"alibi_bias({heads}, 0) (no position: an empty tensor)", dtype=torch.float32)


def test_bias_structure(sol, ref, h):
    """Property: -inf exactly above the diagonal, 0 on it, constant along each diagonal, linear in
    the distance with step -slope_h (the learner's own slopes), and a shorter length is the top-left
    corner of a longer one."""
    for heads, length in ((5, 7), (8, 6), (1, 4)):
        bias = h.tensor(sol.alibi_bias(heads, length), f"alibi_bias({heads}, {length})")
        if tuple(bias.shape) != (heads, length, length):
            raise AssertionError(f"alibi_bias({heads}, {length}): shape {tuple(bias.shape)}, expected {(heads, length, length)}")
        bias = bias.double()
        future = torch.ones(length, length, dtype=torch.bool).triu(1)
        above = bias[:, future]
        assert bool((above == float("-inf")).all()), (
            f"alibi_bias({heads}, {length}): keys after the query (j > i) must get -inf, found {above[above != float('-inf')][:3].tolist()}"
        )
        below = bias[:, ~future]
        assert bool(torch.isfinite(below).all()), f"alibi_bias({heads}, {length}): keys at or before the query (j <= i) must get a finite bias"
        h.close(torch.diagonal(bias, dim1=1, dim2=2), torch.zeros(heads, length, dtype=torch.float64), f"the diagonal of alibi_bias({heads}, {length}) (distance 0)")
        slopes = _slopes(sol, h, heads).double()
        i = torch.arange(length).view(length, 1)
        j = torch.arange(length).view(1, length)
        expected = (-slopes.view(-1, 1, 1) * (i - j)).masked_fill(j > i, float("-inf"))
        h.close(bias, expected, f"alibi_bias({heads}, {length}) vs -alibi_slopes({heads})[h] * (i - j) (your own slopes)")
        short = h.tensor(sol.alibi_bias(heads, 3), f"alibi_bias({heads}, 3)")
        h.close(short, bias[:, :3, :3], f"alibi_bias({heads}, 3) vs the top-left 3 x 3 corner of alibi_bias({heads}, {length})")


def test_bias_in_attention(sol, ref, h):
    """Property: with the bias added to equal scores, each query's weights decay geometrically with
    the distance (ratio e^(-slope_h)) over the past and are exactly 0 on the future."""
    heads, length = 4, 6
    bias = h.tensor(sol.alibi_bias(heads, length), f"alibi_bias({heads}, {length})").double()
    slopes = _slopes(sol, h, heads).double()
    weights = torch.softmax(bias, dim=-1)  # equal scores: the bias alone decides
    i = torch.arange(length).view(length, 1)
    j = torch.arange(length).view(1, length)
    expected = torch.exp(-slopes.view(-1, 1, 1) * (i - j)).masked_fill(j > i, 0.0)
    expected = expected / expected.sum(-1, keepdim=True)
    h.close(weights, expected, "softmax(alibi_bias(4, 6)) (equal scores: weight ∝ e^(-slope_h (i - j)) on the past, 0 on the future)")
