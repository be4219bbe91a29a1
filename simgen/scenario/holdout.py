"""Held-out entries: which assets, textures and backgrounds only val and test scenes see
(`splits.hold_out`, see simgen.scenario.schema.HoldOutSpec).

Of a list of n >= 2 entries, round(fraction * n) are held out, at least one and at most n - 1;
which ones is a seeded shuffle keyed by the list's own contents, so the choice is the same for
every seed and every run of the scenario (and `simgen check` can print it). A list of one entry
cannot be split and is shared by every split.

A scene draws the same random numbers with or without a hold-out (the index is scaled to the
part of the list its split may use), so holding out changes which entry is drawn and nothing
else of the scene.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

# Which kind of list each section's draws fall under.
ASSET_KIND = {"objects": "assets", "distractors": "assets", "static": "backgrounds"}
TEXTURE_KIND = {"objects": "textures", "distractors": "textures", "robots": "textures",
                "static": "backgrounds"}


@lru_cache(maxsize=1024)
def held_out(entries: tuple[str, ...], fraction: float) -> frozenset[str]:
    """The entries of the list held out for val and test."""
    n = len(entries)
    if n < 2:
        return frozenset()
    k = min(n - 1, max(1, round(fraction * n)))
    key = zlib.crc32("\n".join(entries).encode())
    order = np.random.Generator(np.random.PCG64(np.random.SeedSequence([key]))).permutation(n)
    return frozenset(entries[i] for i in order[:k])


def usable(entries: Sequence[str], kind: str, hold_out: Any, split: str | None) -> list[str]:
    """The entries a scene of `split` may draw from a list of `kind` ('assets', 'textures' or
    'backgrounds'): all without a hold-out of that kind (or with no split given), else the held
    out ones for val and test and the others for train."""
    entries = list(entries)
    if hold_out is None or split is None or kind not in hold_out.of:
        return entries
    held = held_out(tuple(entries), hold_out.fraction)
    if not held:
        return entries
    return [e for e in entries if (e in held) == (split != "train")]
