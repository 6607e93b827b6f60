"""Byte-level BPE, the tokenizer family of GPT-2: learn merges from text, encode, decode."""

from __future__ import annotations


def to_bytes(text: str) -> list[int]:
    """The starting ids: the text's UTF-8 bytes (0-255), so every string is representable."""
    return list(text.encode("utf-8"))


def get_stats(ids: list[int]) -> dict[tuple[int, int], int]:
    """Count every adjacent pair, overlapping ones included: "aaa" holds (a, a) twice."""
    counts: dict[tuple[int, int], int] = {}
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace the non-overlapping occurrences of PAIR by NEW_ID, scanning left to right."""
    out: list[int] = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2  # both ids are used up: "aaa" -> [aa, a]
        else:
            out.append(ids[i])
            i += 1
    return out


def train_bpe(text: str, num_merges: int) -> list[tuple[int, int]]:
    """Learn up to NUM_MERGES merges; merge i creates id 256 + i from the most frequent pair."""
    ids = to_bytes(text)
    merges: list[tuple[int, int]] = []
    for i in range(num_merges):
        stats = get_stats(ids)
        if not stats:
            break  # fewer than two ids left: nothing to pair
        pair = min(stats, key=lambda p: (-stats[p], p))  # most frequent; ties to the smallest pair
        if stats[pair] < 2:
            break  # no pair occurs twice: a merge would only memorise the text
        ids = merge(ids, pair, 256 + i)
        merges.append(pair)
    return merges


def encode(text: str, merges: list[tuple[int, int]]) -> list[int]:
    """Apply the merges by rank, the earliest learned first, as GPT-2 does (not by frequency)."""
    rank = {pair: i for i, pair in enumerate(merges)}  # pair -> i; it becomes id 256 + i
    ids = to_bytes(text)
    while len(ids) >= 2:
        stats = get_stats(ids)
        pair = min(stats, key=lambda p: rank.get(p, float("inf")))  # the earliest-learned pair present
        if pair not in rank:
            break  # no learned merge applies any more
        ids = merge(ids, pair, 256 + rank[pair])
    return ids


def decode(ids: list[int], merges: list[tuple[int, int]]) -> str:
    """Join the tokens' bytes first, then decode once: a character may span several tokens."""
    vocab = {i: bytes([i]) for i in range(256)}  # id -> the bytes it stands for
    for i, (a, b) in enumerate(merges):
        vocab[256 + i] = vocab[a] + vocab[b]  # a merge only refers to earlier ids
    data = b"".join(vocab[i] for i in ids)
    return data.decode("utf-8", errors="replace")
