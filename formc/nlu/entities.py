"""Message text -> entity spans from regexes and lookup tables (RegexEntityExtractor, §4.2).

Default ("rasa") semantics are Rasa's: patterns in order (regex lines, then one per lookup
table); per pattern all non-overlapping leftmost matches; a lookup table behaves like the
alternation of its elements *in list order* (`\\b` around each element), so at a position the
earliest listed element that matches wins, not the longest; matches of different patterns may
overlap and are all kept; no `confidence` key. Option match="longest" instead collects every
candidate of every pattern and keeps non-overlapping ones, longest first (ties: pattern order).

Lookup tables are matched with one hash map (normalised element -> first index per table) probed
only at word boundaries, so cost does not grow with the number of elements. Matching runs on a
normalised copy of the text (NFKC per character + lowercase unless case-sensitive); spans are
mapped back, so `text[start:end] == value` always holds for the original text. Word boundaries
are not required next to CJK characters unless cjk_boundaries is set (Chinese has no spaces).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Optional

EXTRACTOR = "RegexEntityExtractor"


def is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (0x2E80 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or 0xF900 <= o <= 0xFAFF
            or 0x3040 <= o <= 0x30FF or 0xFF66 <= o <= 0xFF9F or 0x20000 <= o <= 0x2FA1F
            or 0x0E00 <= o <= 0x0E7F)


def _word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


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


class Extractor:
    """Runtime extractor built from the compiled dict (see compile_nlu)."""

    def __init__(self, d: dict, tables: Optional[list] = None):
        """`d` as made by compile_extractor; lookup patterns index `tables` (lists of elements,
        default d["tables"])."""
        self.case_sensitive = bool(d.get("case_sensitive", False))
        self.boundaries = bool(d.get("word_boundaries", True))
        self.cjk_boundaries = bool(d.get("cjk_boundaries", False))
        self.nfkc = d.get("normalize", "nfkc") == "nfkc"
        self.longest = d.get("match", "rasa") == "longest"
        flags = 0 if self.case_sensitive else re.IGNORECASE
        self.patterns: list[tuple[str, str, Any]] = []     # (name, kind, regex | table index)
        for p in d.get("patterns", []):
            if p["kind"] == "regex":
                try:
                    self.patterns.append((p["name"], "regex", re.compile(p["pattern"], flags)))
                except (re.error, RecursionError, OverflowError, ValueError):
                    continue
            else:
                self.patterns.append((p["name"], "lookup", int(p["table"])))
        # one map for the used tables: folded element -> {table: first index}
        all_tables = d.get("tables", []) if tables is None else tables
        used = sorted({obj for _n, kind, obj in self.patterns if kind == "lookup"})
        self.table_count = len(used)
        self.lookup: dict[str, Any] = {}
        lengths: set[int] = set()
        fold = not self.case_sensitive
        for t in used:
            elements = all_tables[t] if t < len(all_tables) else []
            for idx, element in enumerate(elements):
                key = fold_element(element, self.nfkc, fold)
                if not key:
                    continue
                entry = self.lookup.get(key)
                if entry is None:
                    self.lookup[key] = (t, idx) if self.table_count == 1 else {t: idx}

                    lengths.add(len(key))
                elif isinstance(entry, dict) and t not in entry:
                    entry[t] = idx
        self.lengths = sorted(lengths)
        self.max_len = self.lengths[-1] if self.lengths else 0

    def extract(self, text: str) -> list[dict]:
        if not self.patterns or not text:
            return []
        plain, origin = normalise(text, self.nfkc, False)
        folded = plain if self.case_sensitive else normalise(text, self.nfkc, True)[0]
        found: list[tuple[int, int, int, str]] = []   # (start, end, pattern order, name)
        lookup_hits = self._lookup_candidates(folded) if self.lookup else {}
        for order, (name, kind, obj) in enumerate(self.patterns):
            if kind == "regex":
                try:
                    for m in obj.finditer(plain):
                        found.append((m.start(), m.end(), order, name))
                except RecursionError:
                    continue
            else:
                found.extend((s, e, order, name) for s, e in
                             self._table_matches(lookup_hits.get(obj, {}), all_=self.longest))
        if self.longest:
            found = _resolve_longest(found)
        out = []
        for s, e, _order, name in found:
            start, end = origin[s], (origin[e - 1] + 1 if e > s else origin[s])
            out.append({"entity": name, "start": start, "end": end, "value": text[start:end],
                        "extractor": EXTRACTOR})
        return out

    def _lookup_candidates(self, t: str) -> dict[int, dict[int, list[tuple[int, int]]]]:
        """table -> start -> [(end, element index)] for every element occurrence."""
        n = len(t)
        hits: dict[int, dict[int, list]] = {}
        if self.boundaries:
            isw = [_word(c) for c in t]
            cjk = [is_cjk(c) for c in t] if not self.cjk_boundaries else [False] * n
            bound = [(i > 0 and isw[i - 1]) != (i < n and isw[i]) for i in range(n + 1)]
            # next to a CJK character (inside or outside the element) no \b is required
            ends = [e for e in range(1, n + 1) if bound[e] or cjk[e - 1] or (e < n and cjk[e])]
            starts = [s for s in range(n) if bound[s] or cjk[s] or (s > 0 and cjk[s - 1])]
        else:
            ends = list(range(1, n + 1))
            starts = list(range(n))
        lengths = set(self.lengths)
        lookup = self.lookup
        single = self.table_count == 1
        ei0 = 0
        for s in starts:
            while ei0 < len(ends) and ends[ei0] <= s:
                ei0 += 1
            for ei in range(ei0, len(ends)):
                e = ends[ei]
                if e - s > self.max_len:
                    break
                if (e - s) not in lengths:
                    continue
                entry = lookup.get(t[s:e])
                if entry is None:
                    continue
                items = (entry,) if single else entry.items()
                for table, idx in items:
                    hits.setdefault(table, {}).setdefault(s, []).append((e, idx))
        return hits

    @staticmethod
    def _table_matches(by_start: dict[int, list], all_: bool) -> list[tuple[int, int]]:
        if all_:
            return [(s, e) for s in sorted(by_start) for e, _i in by_start[s]]
        out = []
        pos = 0
        for s in sorted(by_start):
            if s < pos:
                continue
            e = min(by_start[s], key=lambda c: c[1])[0]   # earliest listed element wins
            out.append((s, e))
            pos = e
        return out


def _resolve_longest(found: list[tuple[int, int, int, str]]) -> list[tuple[int, int, int, str]]:
    ranked = sorted(found, key=lambda f: (-(f[1] - f[0]), f[0], f[2]))
    taken: list[tuple[int, int, int, str]] = []
    for cand in ranked:
        if cand[1] <= cand[0]:
            continue
        if all(cand[1] <= t[0] or cand[0] >= t[1] for t in taken):
            taken.append(cand)
    return sorted(taken, key=lambda f: (f[0], f[2]))


def compile_extractor(regexes: list[tuple[str, str]], lookups: list[tuple[str, list[str]]],
                      entity_names: set[str], *, case_sensitive: bool = False,
                      use_regexes: bool = True, use_lookup_tables: bool = True,
                      word_boundaries: bool = True, cjk_boundaries: bool = False,
                      normalize: str = "nfkc", match: str = "rasa") -> dict:
    """Pattern tables for Extractor; only names that are annotated entities are kept (§4.2)."""
    patterns: list[dict] = []
    tables: list[list[str]] = []
    if use_regexes:
        for name, pattern in regexes:
            if name in entity_names:
                patterns.append({"name": name, "kind": "regex", "pattern": pattern})
    if use_lookup_tables:
        for index, (name, elements) in enumerate(lookups):
            if name in entity_names and elements:
                patterns.append({"name": name, "kind": "lookup", "table": index})
    # lookup patterns index the bot's list of lookup tables, stored once in the NLU model
    return {"case_sensitive": case_sensitive, "word_boundaries": word_boundaries,
            "cjk_boundaries": cjk_boundaries, "normalize": normalize, "match": match,
            "patterns": patterns}


def table_hits(matcher: "Extractor", text: str) -> set[int]:
    """Lookup tables (indices) with an occurrence overlapping a token: RegexFeaturizer's test."""
    if not matcher.lookup:
        return set()
    from .tokenize import tokenize
    folded = text if matcher.case_sensitive else normalise(text, False, True)[0]
    tokens = tokenize(text)
    out = set()
    for table, by_start in matcher._lookup_candidates(folded).items():
        for s, ends in by_start.items():
            if any(ts < e and te > s for e, _i in ends for _w, ts, te in tokens):
                out.add(table)
                break
    return out


def apply_synonyms(entities: list[dict], synonyms: dict[str, str], nfkc: bool = True) -> None:
    """EntitySynonymMapper (§4.3): whole-value, case-insensitive replacement, in place."""
    if not synonyms:
        return
    for ent in entities:
        key = str(ent.get("value")).lower()
        target: Optional[str] = synonyms.get(key)
        if target is None and nfkc:
            alt = unicodedata.normalize("NFKC", key).lower()
            if alt != key:
                target = synonyms.get(alt)
        if target is not None:
            ent["value"] = target
            ent.setdefault("processors", []).append("EntitySynonymMapper")
