"""Lookup tables -> one hash map (folded element -> element ids) and the occurrences in a text.

One index serves both the RegexEntityExtractor emulation and the RegexFeaturizer's lookup
features: the featurizer matches case-sensitively, so it probes the (case-folded) map and then
verifies the exact element, instead of holding a second map of every element (two maps of a
1,000,000-entry table cost seconds to build and hundreds of MB).

Elements are numbered globally across tables ("gid", table order then list order). The map
keeps the smallest gid per folded key (`first`); keys shared by several elements (another
table, or another spelling that folds the same) also list all their gids in `more`.
Occurrences are probed only at word boundaries (when required) and only for lengths some
element has, so the cost per message does not grow with the table size.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from typing import Optional

_BOUNDARY = re.compile(r"\b")      # re's \w is exactly str.isalnum() or "_"
_CJK = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\u3040-\u30ff\uff66-\uff9f"
                  "\U00020000-\U0002fa1f\u0e00-\u0e7f]")


def is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (0x2E80 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or 0xF900 <= o <= 0xFAFF
            or 0x3040 <= o <= 0x30FF or 0xFF66 <= o <= 0xFF9F or 0x20000 <= o <= 0x2FA1F
            or 0x0E00 <= o <= 0x0E7F)


def normalise(text: str, nfkc: bool, fold: bool) -> tuple[str, list[int]]:
    """Per-character normalisation; returns (normalised, origin) with origin[i] = index in text
    of the character that produced normalised[i] (plus a final len(text) sentinel)."""
    if text.isascii():                       # fast path: nothing to normalise, 1:1 offsets
        return (text.lower() if fold else text), list(range(len(text) + 1))
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        piece = unicodedata.normalize("NFKC", ch) if nfkc and not ch.isascii() else ch
        if fold:
            lowered = piece.lower()
            if len(lowered) == len(piece):
                piece = lowered
        out.append(piece)
        origin.extend([i] * len(piece))
    origin.append(len(text))
    return "".join(out), origin


def fold_element(element: str, nfkc: bool, fold: bool) -> str:
    if element.isascii():
        return element.lower() if fold else element
    return normalise(element, nfkc, fold)[0]


def _fold_all(elements: list[str], nfkc: bool, fold: bool) -> list[str]:
    """fold_element over a whole table; one C-level pass when the table is plain ASCII."""
    if not elements:
        return []
    if fold:
        joined = "\n".join(elements)
        if joined.isascii() and joined.count("\n") == len(elements) - 1:
            lowered = joined.lower().split("\n")
            # keep the element's own object when folding changes nothing (saves memory)
            return [e if k == e else k for e, k in zip(elements, lowered)]
    elif all(map(str.isascii, elements)):
        return elements
    return [fold_element(e, nfkc, fold) for e in elements]


class LookupIndex:
    def __init__(self, tables: list[list[str]], nfkc: bool, fold: bool):
        self.tables = tables
        self.nfkc, self.fold = nfkc, fold
        self.offsets: list[int] = []
        keys: list[str] = []
        for elements in tables:
            self.offsets.append(len(keys))
            keys.extend(_fold_all(list(elements), nfkc, fold))
        total = len(keys)
        # first gid wins: insert in reverse so the smallest gid is written last
        self.first: dict[str, int] = dict(zip(reversed(keys), range(total - 1, -1, -1)))
        empty = self.first.pop("", None) is not None
        self.more: dict[str, tuple[int, ...]] = {}
        if len(self.first) + empty < total:            # some key belongs to several elements
            seen: dict[str, list[int]] = {}
            for gid, key in enumerate(keys):
                if key and self.first[key] != gid:
                    seen.setdefault(key, [self.first[key]]).append(gid)
            self.more = {k: tuple(v) for k, v in seen.items()}
        filled = [t for t, elements in enumerate(tables) if elements]
        self.only = filled[0] if len(filled) == 1 else None    # one table: gid = index
        self.lengths = set(map(len, self.first))
        self.max_len = max(self.lengths, default=0)
        self._memo: tuple = (None, None)

    def __len__(self) -> int:
        return len(self.first)

    def locate(self, gid: int) -> tuple[int, int]:
        """gid -> (table, index in that table)."""
        if self.only is not None:
            return self.only, gid
        t = bisect_right(self.offsets, gid) - 1
        return t, gid - self.offsets[t]

    def gids(self, key: str) -> tuple[int, ...]:
        g = self.first.get(key)
        if g is None:
            return ()
        return self.more.get(key, (g,)) if self.more else (g,)

    def element(self, gid: int) -> str:
        t, i = self.locate(gid)
        return self.tables[t][i]

    # ------------------------------------------------------------------------ occurrences
    def occurrences(self, t: str, boundaries: bool, cjk_boundaries: bool
                    ) -> list[tuple[int, int, tuple[int, ...]]]:
        """(start, end, gids) for every element occurrence in `t` (already folded like the
        index). With boundaries, an occurrence needs a word boundary at both ends, except next
        to a CJK character when cjk_boundaries is off (Chinese has no spaces)."""
        ascii_ = t.isascii()
        key = (t, boundaries, cjk_boundaries or ascii_)
        memo = self._memo
        if memo[0] == key:          # the featurizer and the extractor probe the same text
            return memo[1]
        out = self._occurrences(t, boundaries, cjk_boundaries or ascii_)
        self._memo = (key, out)
        return out

    def _occurrences(self, t: str, boundaries: bool, cjk_boundaries: bool) -> list:
        n = len(t)
        if not self.first or not n:
            return []
        starts, ends = _bounds(t, boundaries, cjk_boundaries)
        lengths, max_len, first, more = self.lengths, self.max_len, self.first, self.more
        out = []
        for s in starts:
            # ends after s and at most max_len away: a short slice of the sorted ends
            for e in ends[bisect_right(ends, s):bisect_right(ends, s + max_len)]:
                if (e - s) in lengths:
                    sub = t[s:e]
                    g = first.get(sub)
                    if g is not None:
                        out.append((s, e, more.get(sub, (g,)) if more else (g,)))
        return out

    def raw_occurrences(self, text: str, boundaries: bool, cjk_boundaries: bool,
                        case_sensitive: bool) -> list[tuple[int, int, int]]:
        """(start, end, gid) of elements found in the unnormalised `text` verbatim (or equal
        after lowercasing, without NFKC, when not case_sensitive), boundaries judged on `text`
        itself: the RegexFeaturizer's matching. A case-sensitive search works with an index of
        any folding: candidates are verified against the elements themselves."""
        if not self.nfkc and self.fold == (not case_sensitive):   # same folding: no check
            probe = normalise(text, False, True)[0] if self.fold else text
            return [(s, e, g) for s, e, gids in self.occurrences(probe, boundaries,
                                                                 cjk_boundaries)
                    for g in gids]
        if not case_sensitive:
            raise ValueError("a case-insensitive featurizer needs an index of its own folding")
        if text.isascii():           # folding keeps offsets: probe the folded text at once
            cands = self.occurrences(text.lower() if self.fold else text, boundaries,
                                     cjk_boundaries)
        else:
            cands = self._raw_candidates(text, boundaries, cjk_boundaries)
        tables, locate = self.tables, self.locate
        out = []
        for s, e, gids in cands:
            piece = text[s:e]
            for g in gids:
                ti, i = locate(g)
                if tables[ti][i] == piece:
                    out.append((s, e, g))
        return out

    def _raw_candidates(self, text: str, boundaries: bool, cjk_boundaries: bool) -> list:
        """Every (start, end) at the text's own boundaries whose folded slice is a key. A
        folded key is never shorter than its raw slice (NFKC only expands), so max_len bounds
        the raw length too; the exact-length filter cannot be used."""
        starts, ends = _bounds(text, boundaries, cjk_boundaries)
        out = []
        for s in starts:
            for e in ends[bisect_right(ends, s):]:
                if e - s > self.max_len:
                    break
                gids = self.gids(fold_element(text[s:e], self.nfkc, self.fold))
                if gids:
                    out.append((s, e, gids))
        return out


def _bounds(t: str, boundaries: bool, cjk_boundaries: bool) -> tuple[list[int], list[int]]:
    """Possible (starts, ends) of an occurrence in t, ascending."""
    n = len(t)
    if not boundaries:
        return list(range(n)), list(range(1, n + 1))
    points = [m.start() for m in _BOUNDARY.finditer(t)]     # ascending already
    if not cjk_boundaries and not t.isascii():   # no \b needed on either side of CJK
        extra = set(points)
        for m in _CJK.finditer(t):
            extra.add(m.start())
            extra.add(m.start() + 1)
        points = sorted(extra)
    starts = points[:-1] if points and points[-1] == n else points
    ends = points[1:] if points and points[0] == 0 else points
    return starts, ends


class IndexCache:
    """The indexes built for one NLU model, shared by its extractor and its scorers. Only the
    `wanted` tables (default: all) are indexed; the others count as empty."""

    def __init__(self, tables: list[list[str]], wanted: Optional[set[int]] = None):
        self.tables = tables if wanted is None else \
            [elements if t in wanted else [] for t, elements in enumerate(tables)]
        self.built: dict[tuple[bool, bool], LookupIndex] = {}

    def get(self, nfkc: bool, fold: bool) -> LookupIndex:
        index = self.built.get((nfkc, fold))
        if index is None:
            index = self.built[(nfkc, fold)] = LookupIndex(self.tables, nfkc, fold)
        return index

    def for_featurizer(self, case_sensitive: bool) -> LookupIndex:
        """Any index serves a case-sensitive featurizer (it verifies); else its own folding."""
        if case_sensitive and self.built:
            return next(iter(self.built.values()))
        return self.get(False, not case_sensitive)

