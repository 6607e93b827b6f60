"""Hidden suite for the paged_attention kata (fixtures: sol, ref, h — see katas/attention/test_hidden.py).

`sol` is a proxy to the learner's module in the sandboxed worker. Each case builds a page pool
from dense per-sequence keys and values: pages handed out in a shuffled order, interleaved between
sequences, stale slots and free pages filled with large garbage, unused block-table entries
pointing at random valid pages. The reference runs in float64.
"""

import math

import torch


def _paged(lens, heads=2, d=8, block_size=4, extra_blocks=1, spare=3, seed=0, garbage=30.0, share_first_page=False):
    """(q, k_cache, v_cache, block_table, context_lens) in float64, and the dense keys/values of
    each sequence: a list of (context_lens[b], H, d) tensors."""
    g = torch.Generator().manual_seed(seed)
    B = len(lens)
    need = [-(-n // block_size) for n in lens]  # pages in use per sequence
    max_blocks = max(need) + extra_blocks
    num_blocks = sum(need) + spare
    order = torch.randperm(num_blocks, generator=g).tolist()  # the allocator's shuffled free list
    k_cache = garbage * torch.randn(num_blocks, block_size, heads, d, generator=g, dtype=torch.float64)
    v_cache = garbage * torch.randn(num_blocks, block_size, heads, d, generator=g, dtype=torch.float64)
    block_table = torch.randint(0, num_blocks, (B, max_blocks), generator=g)  # unused entries: any page
    for p in range(max(need)):  # one page at a time per sequence: their pages interleave in the pool
        for b in range(B):
            if p < need[b]:
                block_table[b, p] = order.pop()
    if share_first_page:  # sequences 0 and 1 share a prompt prefix of one full page
        block_table[1, 0] = block_table[0, 0]
    dense_k, dense_v = [], []
    for b, n in enumerate(lens):
        k = torch.randn(n, heads, d, generator=g, dtype=torch.float64)
        v = torch.randn(n, heads, d, generator=g, dtype=torch.float64)
        if share_first_page and b == 1:
            k[:block_size], v[:block_size] = dense_k[0][:block_size], dense_v[0][:block_size]
        for t in range(n):
            page, slot = block_table[b, t // block_size], t % block_size
            k_cache[page, slot], v_cache[page, slot] = k[t], v[t]
        dense_k.append(k)
        dense_v.append(v)
    q = torch.randn(B, heads, d, generator=g, dtype=torch.float64)
    context_lens = torch.tensor(lens, dtype=torch.long)
    return (q, k_cache, v_cache, block_table, context_lens), (dense_k, dense_v)


def _dense(q, dense_k, dense_v):
    """Plain attention of each sequence's query over its own tokens, written out densely."""
    outs = []
    for b, (k, v) in enumerate(zip(dense_k, dense_v)):
        scores = torch.einsum("hd,thd->ht", q[b], k) / math.sqrt(q.size(-1))  # (H, T)
        outs.append(torch.einsum("ht,thd->hd", torch.softmax(scores, dim=-1), v))  # (H, d)
    return torch.stack(outs)  # (B, H, d)


def _cast(args, dtype):
    q, k_cache, v_cache, block_table, context_lens = args
    return q.to(dtype), k_cache.to(dtype), v_cache.to(dtype), block_table, context_lens


def _describe(args):
    q, k_cache, _, block_table, context_lens = args
    return (
        f"B={q.size(0)} H={q.size(1)} d={q.size(2)} block_size={k_cache.size(1)}, "
        f"context_lens={context_lens.tolist()}, block_table={block_table.tolist()}"
    )


def _check(sol, ref, h, args, label=""):
    expected = ref.paged_attention(*_cast(args, torch.float64))
    h.close(sol.paged_attention(*args), expected, f"output for {_describe(args)}{label}", dtype=args[0].dtype)


def test_shapes(sol, ref, h):
    """One or several sequences and heads, several widths and page sizes; output (B, H, d)."""
    cases = [
        dict(lens=[5], heads=1, d=4, block_size=4),
        dict(lens=[3, 9], heads=2, d=8, block_size=4),
        dict(lens=[7, 2, 12], heads=3, d=16, block_size=3),
        dict(lens=[16, 1], heads=4, d=5, block_size=8),
        dict(lens=[4, 4, 4, 4], heads=2, d=1, block_size=2),
    ]
    for i, case in enumerate(cases):
        args, _ = _paged(seed=i, **case)
        _check(sol, ref, h, _cast(args, torch.float32))


def test_values_float64(sol, ref, h):
    """Exact (float64) agreement: interleaved pages, non-monotone tables, scaled queries (1/√d matters)."""
    args, _ = _paged([6, 11, 3, 8], heads=3, d=16, block_size=4, seed=10)
    q, *rest = args
    _check(sol, ref, h, (3.0 * q, *rest))


def test_partial_last_page(sol, ref, h):
    """Last pages filled to every possible level; their stale slots hold huge garbage that must get weight 0."""
    args, _ = _paged([4, 5, 6, 7, 8], heads=2, d=8, block_size=4, seed=20, garbage=1e3)
    _check(sol, ref, h, args, " (stale slots past context_lens hold values of size ~1e3)")


def test_context_len_one(sol, ref, h):
    """context_lens of 1 (alone and next to longer sequences): the output is the first token's value."""
    args, (_, dense_v) = _paged([1, 1, 9, 1], heads=2, d=8, block_size=4, seed=30)
    _check(sol, ref, h, args)
    out = h.tensor(sol.paged_attention(*args), "output")
    for b in (0, 1, 3):
        h.close(out[b], dense_v[b][0], f"output of sequence {b} with context_lens = 1 (must be v of its only token)")


def test_block_size_one(sol, ref, h):
    """block_size = 1: one token per page, each token on its own page in a shuffled order."""
    args, _ = _paged([1, 5, 3], heads=2, d=8, block_size=1, seed=40)
    _check(sol, ref, h, args)


def test_shared_pages(sol, ref, h):
    """Two sequences share their first page (a common prompt prefix), as after a fork in beam search."""
    args, _ = _paged([6, 7, 2], heads=2, d=8, block_size=4, seed=50, share_first_page=True)
    _check(sol, ref, h, args, " (sequences 0 and 1 share page block_table[0, 0])")


def test_matches_dense_attention(sol, ref, h):
    """Property (no reference): the output equals plain attention over each sequence's own tokens."""
    for i, (lens, block_size) in enumerate((([5, 12, 1], 4), ([3, 8], 2), ([9, 6, 4], 3))):
        args, (dense_k, dense_v) = _paged(lens, heads=2, d=8, block_size=block_size, seed=60 + i)
        h.close(
            sol.paged_attention(*args), _dense(args[0], dense_k, dense_v),
            f"output vs dense attention over each sequence's first context_lens[b] tokens, for {_describe(args)}",
        )  # fmt: skip


def test_invariant_to_pool_layout(sol, ref, h):
    """Property (no reference): permuting the pool's pages together with the table, rewriting every
    slot past context_lens and pointing unused entries elsewhere leave the output unchanged."""
    args, _ = _paged([6, 10, 2], heads=2, d=8, block_size=4, seed=70)
    q, k_cache, v_cache, block_table, context_lens = args
    base = h.tensor(sol.paged_attention(*args), "output")
    g = torch.Generator().manual_seed(71)
    perm = torch.randperm(k_cache.size(0), generator=g)  # new page p holds old page perm[p]
    where = torch.argsort(perm)  # old page -> its new index
    moved = (q, k_cache[perm], v_cache[perm], where[block_table], context_lens)
    h.close(sol.paged_attention(*moved), base, "output after permuting the pool's pages and remapping block_table the same way")
    k2, v2, table2 = k_cache.clone(), v_cache.clone(), block_table.clone()
    block_size = k_cache.size(1)
    used = torch.zeros(k_cache.shape[:2], dtype=torch.bool)  # (num_blocks, block_size): slots holding a token
    for b, n in enumerate(context_lens.tolist()):
        for t in range(n):
            used[block_table[b, t // block_size], t % block_size] = True
        table2[b, -(-n // block_size) :] = 0  # unused entries: now all page 0
    k2[~used] = 100.0 * torch.randn(k2[~used].shape, generator=g, dtype=torch.float64)
    v2[~used] = 100.0 * torch.randn(v2[~used].shape, generator=g, dtype=torch.float64)
    h.close(
        sol.paged_attention(q, k2, v2, table2, context_lens), base,
        "output after rewriting every slot past context_lens and pointing unused block_table entries at page 0",
    )  # fmt: skip


def test_inputs_not_modified(sol, ref, h):
    """The shared pool, the table and the lengths are left exactly as they were."""
    args, _ = _paged([5, 2], heads=2, d=8, block_size=4, seed=80)
    _, after = h.call_keeping_args(sol.paged_attention, *args)
    for name, a, b in zip(("q", "k_cache", "v_cache", "block_table", "context_lens"), after, args):
        a = h.tensor(a, f"{name} after the call")
        assert tuple(a.shape) == tuple(b.shape) and a.dtype == b.dtype, f"{name} changed shape or dtype: never modify the inputs"
        assert torch.equal(a, b), f"{name} was modified in place: the page pool is shared by every sequence, never write into it"


def test_dtypes(sol, ref, h):
    """float32, float64 and bfloat16 q and caches in, the same dtype out."""
    args, _ = _paged([7, 3, 10], heads=2, d=8, block_size=4, seed=90, garbage=10.0)
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        _check(sol, ref, h, _cast(args, dtype), f" in {dtype}")
