"""Kata: byte-level BPE (byte-pair encoding), the tokenizer family of GPT-2.

Write three functions on plain Python data (no torch needed):
`train_bpe(text, num_merges) -> list[tuple[int, int]]`, `encode(text, merges) -> list[int]`,
`decode(ids, merges) -> str`.

Contract (the hidden suite checks every line):
- Ids 0-255 are the BYTES of the text's UTF-8 encoding, list(text.encode("utf-8")) — not
  characters: "é" is two ids (195, 169), "你" three (228, 189, 160), "🙂" four. Any str that
  UTF-8 can encode is valid input (no lone surrogates); "" is valid everywhere.
- No pre-tokenization and no special tokens (unlike GPT-2 and tiktoken, which first split the
  text with a regex): the whole text is one sequence of bytes, and merges may cross spaces.
- train_bpe(text, num_merges), num_merges an int >= 0: start from the bytes of TEXT; merge i
  (i = 0, 1, ...) creates the new id 256 + i and is the pair (a, b) of ids that are adjacent
  most often in the current sequence:
  - counting overlapping occurrences: "aaa" holds the pair (97, 97) twice;
  - ties go to the smallest pair: compare the first ids, then the second ((97, 98) before
    (97, 99) before (98, 0)) — not the pair seen first, which is what
    max(counts, key=counts.get) on a dict of pair counts gives;
  - the new id then replaces the NON-overlapping occurrences, scanning left to right:
    "aaa" becomes [256, 97], "aaaa" [256, 256];
  - training stops early, with fewer merges, when no pair occurs at least twice (or fewer than
    two ids are left); num_merges = 0 returns [].
  Returns the merges in the order learned: a list of 2-tuples of ints, [(a, b), ...], where
  merges[i] is the pair that became id 256 + i (so each id in it is < 256 + i).
- encode(text, merges): start from the bytes of TEXT and apply the merges BY RANK, as GPT-2
  does: while some adjacent pair is in merges, take the present pair with the lowest index i
  (the earliest learned, i.e. the smallest new id), replace its non-overlapping occurrences
  left to right by 256 + i, and repeat. How often a pair occurs in TEXT does not matter, and
  TEXT need not be the training text. Returns a list of ints; encode("", merges) == [];
  with merges == [] it returns the raw bytes.
- decode(ids, merges), every id < 256 + len(merges): id i < 256 is the byte i; id 256 + i is
  the bytes of merges[i][0] followed by those of merges[i][1]. Join the bytes of ALL ids
  first, then decode once with bytes.decode("utf-8", errors="replace") — a character may be
  split across several tokens, and bytes that are not valid UTF-8 (ids cut in the middle of a
  character) become U+FFFD instead of raising. decode([], merges) == "".
- Property: decode(encode(s, merges), merges) == s for every string s and any merges from
  train_bpe (trained on any text), Chinese and emoji included.
- Arguments are not modified. merges is a list of 2-tuples of ints, as train_bpe returns it.

Run the sample test with `python -m pytest -q`, then `attnquiz grade` for the full suite.
"""

from __future__ import annotations


def train_bpe(text: str, num_merges: int) -> list[tuple[int, int]]:
    """Learn up to num_merges merges from text; see the module docstring for the contract."""
    # TODO: ids = the UTF-8 bytes of text
    # TODO: for i in range(num_merges): count adjacent pairs (overlapping), pick the most
    # TODO: frequent (ties: the smallest pair), stop early if it occurs < 2 times,
    # TODO: replace it by 256 + i (non-overlapping, left to right) and record it as a tuple
    raise NotImplementedError("write train_bpe")


def encode(text: str, merges: list[tuple[int, int]]) -> list[int]:
    """Text -> token ids, applying the merges by rank."""
    # TODO: start from the UTF-8 bytes; while a learned pair is present, merge the one with the
    # TODO: lowest rank (smallest new id) first
    raise NotImplementedError("write encode")


def decode(ids: list[int], merges: list[tuple[int, int]]) -> str:
    """Token ids -> text: join all the bytes, then decode UTF-8 once with errors="replace"."""
    # TODO: build id -> bytes for 0..255 and every merge, join, decode
    raise NotImplementedError("write decode")
