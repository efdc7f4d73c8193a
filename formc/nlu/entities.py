"""Message text -> entity spans from regexes and lookup tables (RegexEntityExtractor, §4.2).

Default ("rasa") semantics are Rasa's: patterns in order (regex lines, then one per lookup
table); per pattern all non-overlapping leftmost matches; a lookup table behaves like the
alternation of its elements *in list order* (`\\b` around each element), so at a position the
earliest listed element that matches wins, not the longest; matches of different patterns may
overlap and are all kept; no `confidence` key. Option match="longest" instead collects every
candidate of every pattern and keeps non-overlapping ones, longest first (ties: pattern order).

Lookup tables are matched with one hash map (lookup_index.py; normalised element -> element
ids) probed only at word boundaries, so cost does not grow with the number of elements. Matching runs on a
normalised copy of the text (NFKC per character + lowercase unless case-sensitive); spans are
mapped back, so `text[start:end] == value` always holds for the original text. Word boundaries
are not required next to CJK characters unless cjk_boundaries is set (Chinese has no spaces).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Optional

from .lookup_index import IndexCache, LookupIndex, fold_element, is_cjk, normalise  # noqa: F401
from .regex_budget import budget_compile   # issue 14: matching bounded per message

EXTRACTOR = "RegexEntityExtractor"


class Extractor:
    """Runtime extractor built from the compiled dict (see compile_nlu)."""

    def __init__(self, d: dict, tables: Optional[list] = None,
                 indexes: Optional[IndexCache] = None):
        """`d` as made by compile_extractor; lookup patterns index `tables` (lists of elements,
        default d["tables"]); `indexes` shares lookup maps with the model's scorers."""
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
                    self.patterns.append((p["name"], "regex", budget_compile(p["pattern"], flags)))
                except (re.error, RecursionError, OverflowError, ValueError):
                    continue
            else:
                self.patterns.append((p["name"], "lookup", int(p["table"])))
        self.used = {obj for _n, kind, obj in self.patterns if kind == "lookup"}
        self.index: Optional[LookupIndex] = None
        if self.used:
            all_tables = d.get("tables", []) if tables is None else tables
            if indexes is None:
                indexes = IndexCache(all_tables, self.used)
            self.index = indexes.get(self.nfkc, not self.case_sensitive)

    @property
    def lookup(self) -> dict[str, int]:
        """The one hash map of folded lookup elements (empty without lookup patterns)."""
        return self.index.first if self.index is not None else {}

    def extract(self, text: str) -> list[dict]:
        if not self.patterns or not text:
            return []
        if text.isascii():                      # offsets map 1:1
            plain, origin = text, None
            folded = text if self.case_sensitive else text.lower()
        else:
            plain, origin = normalise(text, self.nfkc, False)
            folded = plain if self.case_sensitive else normalise(text, self.nfkc, True)[0]
        found: list[tuple[int, int, int, str]] = []   # (start, end, pattern order, name)
        lookup_hits = self._lookup_candidates(folded) if self.index is not None else {}
        for order, (name, kind, obj) in enumerate(self.patterns):
            if kind == "regex":
                try:
                    for m in obj.finditer(plain):
                        found.append((m.start(), m.end(), order, name))
                except RecursionError:
                    continue
            else:
                by_start = lookup_hits.get(obj)
                if by_start:
                    found.extend((s, e, order, name) for s, e in
                                 self._table_matches(by_start, all_=self.longest))
        if self.longest:
            found = _resolve_longest(found)
        out = []
        for s, e, _order, name in found:
            if origin is None:
                start, end = s, e
            else:
                start, end = origin[s], (origin[e - 1] + 1 if e > s else origin[s])
            out.append({"entity": name, "start": start, "end": end, "value": text[start:end],
                        "extractor": EXTRACTOR})
        return out

    def _lookup_candidates(self, t: str) -> dict[int, dict[int, list[tuple[int, int]]]]:
        """table -> start -> [(end, element index)] for every element occurrence."""
        hits: dict[int, dict[int, list]] = {}
        index = self.index
        used = self.used
        for s, e, gids in index.occurrences(t, self.boundaries, self.cjk_boundaries):
            seen = set()
            for g in gids:                    # ascending: the first per table is its earliest
                table, idx = index.locate(g)
                if table in used and table not in seen:
                    seen.add(table)
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


def table_hits(index: LookupIndex, text: str, tokens, *, case_sensitive: bool,
               boundaries: bool) -> set[int]:
    """Lookup tables (indices) with an occurrence overlapping a token: RegexFeaturizer's test
    (unnormalised text, `\\b` required next to CJK characters too)."""
    out: set[int] = set()
    for s, e, g in index.raw_occurrences(text, boundaries, True, case_sensitive):
        table = index.locate(g)[0]
        if table not in out and any(ts < e and te > s for _w, ts, te in tokens):
            out.add(table)
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
