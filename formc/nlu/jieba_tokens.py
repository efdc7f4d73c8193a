"""Rasa 3.6's JiebaTokenizer: jieba's tokens, user dictionaries read at compile time, token_pattern.

The mode string names the tokenizer: "jieba" is jieba's default dictionary; "jieba:<digest>" is
the default dictionary plus user dictionaries and/or a token_pattern. The compiler reads the
dictionaries (Rasa: every file in the `dictionary_path` folder, loaded with
`jieba.load_userdict`) and stores their text in the compiled NLU (`tokenizer`), so a .fsm never
depends on the source folder; loading registers them again under the same digest.

jieba's own cache (a marshal file in the temp folder) is never read: the prefix dictionary is
built from the dictionary that ships with jieba, once per process (~0.6 s), and copied for each
set of user dictionaries. jieba is imported only when a bot names JiebaTokenizer.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import logging
import os
import re
import threading
from typing import Optional

from ..errors import ERROR, WARNING, Diagnostic, Span

JIEBA = "jieba"
CODE = "F316"

_SPECS: dict[str, dict] = {}        # mode -> spec (dictionaries, token_pattern, intent options)
_TOKENIZERS: dict[str, object] = {}  # mode -> jieba.Tokenizer, built on first use
_BASE: list = []                    # [(FREQ, total)] of jieba's own dictionary
_LOCK = threading.Lock()


def spec_mode(spec: dict) -> str:
    """The mode string of a tokenizer spec: "jieba" or "jieba:<digest of what changes tokens>"."""
    key = [spec.get("dictionaries") or [], spec.get("token_pattern")]
    if not key[0] and not key[1]:
        return JIEBA
    digest = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode("utf-8")).hexdigest()
    return f"{JIEBA}:{digest[:16]}"


def register(spec: Optional[dict]) -> Optional[str]:
    """Make a compiled spec's mode usable by `tokenize` (at compile time and on load). The
    tokenizer is built here, so no parse pays jieba's ~0.6 s start (nor spends the message's
    regex time budget on it)."""
    if not spec:
        return None
    mode = spec_mode(spec)
    if spec.get("mode", mode) != mode:
        raise ValueError(f"the compiled Jieba tokenizer is damaged (mode {spec.get('mode')!r} "
                         f"does not match its dictionaries, {mode!r})")
    with _LOCK:
        _SPECS.setdefault(mode, spec)
    _tokenizer(mode)
    return mode


def jieba_tokens(text: str, mode: str = JIEBA) -> list[tuple]:
    """Rasa's JiebaTokenizer.tokenize: every jieba token (spaces and punctuation included),
    then the token_pattern split of Tokenizer._apply_token_pattern."""
    tokenizer = _tokenizer(mode)
    tokens = list(tokenizer.tokenize(text))
    pattern = (_SPECS.get(mode) or {}).get("token_pattern")
    return _apply_token_pattern(tokens, re.compile(pattern)) if pattern else tokens


class Piece(tuple):
    """A token cut from a jieba token by token_pattern: (lemma, start, end) with `.text` the
    piece itself. Rasa gives every piece the lemma of the whole token, and its
    CountVectorsFeaturizer counts lemmas, so element 0 (what formc's featurizers count) is the
    lemma; the offsets (text_tokens, regex features) are the piece's own."""

    text: str

    def __new__(cls, lemma: str, start: int, end: int, text: str) -> "Piece":
        piece = super().__new__(cls, (lemma, start, end))
        piece.text = text
        return piece


def _apply_token_pattern(tokens: list, pattern) -> list[tuple]:
    """Each token split into the non-empty findall() pieces of the pattern, offsets kept; a
    token without any piece is kept whole (Rasa's Tokenizer._apply_token_pattern)."""
    out: list[tuple] = []
    for word, start, _end in tokens:
        pieces = [p for p in pattern.findall(word) if p]
        if not pieces:
            out.append((word, start, start + len(word)))
        offset = 0
        for piece in pieces:
            at = word.index(piece, offset)
            offset = at + len(piece)
            out.append(Piece(word, start + at, start + offset, piece))
    return out


def name_tokens(name: str, spec: Optional[dict]) -> list[tuple]:
    """Tokens of an intent name (Rasa's Tokenizer._split_name): split on intent_split_symbol
    when intent_tokenization_flag is on, else the whole name. Rasa's light pipeline never
    classifies with these (LogisticRegressionClassifier reads text features only)."""
    spec = spec or {}
    symbol = spec.get("intent_split_symbol", "_")
    words = name.split(symbol) if spec.get("intent_tokenization_flag") else [name]
    out, offset = [], 0
    for word in words:
        at = name.index(word, offset)
        offset = at + len(word)
        out.append((word, at, offset))
    return out


def _tokenizer(mode: str):
    tokenizer = _TOKENIZERS.get(mode)
    if tokenizer is not None:
        return tokenizer
    if mode != JIEBA and mode not in _SPECS:
        raise ValueError(f"unknown Jieba tokenizer {mode!r}: the compiled NLU must be loaded "
                         "(classify.Nlu registers its tokenizer)")
    import jieba
    jieba.setLogLevel(logging.WARNING)
    with _LOCK:
        if mode not in _TOKENIZERS:
            if not _BASE:
                base = jieba.Tokenizer()
                _BASE.append(base.gen_pfdict(base.get_dict_file()))
            freq, total = _BASE[0]
            dictionaries = (_SPECS.get(mode) or {}).get("dictionaries") or []
            made = jieba.Tokenizer()       # user words are added to a copy of the prefix dict
            made.FREQ = dict(freq) if dictionaries else freq
            made.total, made.initialized = total, True
            for _name, text in dictionaries:
                made.load_userdict(io.BytesIO(text.encode("utf-8")))
            _TOKENIZERS[mode] = made
    return _TOKENIZERS[mode]


# ------------------------------------------------------------------------- compile time

def compile_spec(options: dict, spans: dict, entry: Optional[Span]) -> tuple[dict, list]:
    """JiebaTokenizer options -> (spec for the compiled NLU, diagnostics). A relative
    dictionary_path is read from the folder of config.yml (Rasa: the folder `rasa train` runs
    in, which is the bot's)."""
    diags: list[Diagnostic] = []
    spec = {"intent_tokenization_flag": bool(options.get("intent_tokenization_flag", False)),
            "intent_split_symbol": str(options.get("intent_split_symbol", "_"))}
    pattern = options.get("token_pattern")
    if pattern:
        try:
            re.compile(str(pattern))
            spec["token_pattern"] = str(pattern)
        except re.error as exc:
            diags.append(Diagnostic(ERROR, CODE, f"JiebaTokenizer token_pattern does not compile: "
                                    f"{exc}", spans.get("token_pattern", entry)))
    path = options.get("dictionary_path")
    if path:
        where = spans.get("dictionary_path", entry)
        base = os.path.dirname(where.file) if where and where.file else "."
        spec["dictionaries"], found = read_dictionaries(os.path.join(base, str(path)), where)
        diags += found
    spec["mode"] = spec_mode(spec)
    return spec, diags


def read_dictionaries(folder: str, where: Optional[Span]) -> tuple[list, list]:
    """Every file of `folder` (sorted; Rasa takes glob's order) as [name, text]; a folder that is
    missing, a sub-folder, an unreadable or non-UTF-8 file is an error (jieba refuses it too)."""
    hint = ("dictionary_path names a folder of jieba user dictionaries (UTF-8 text, one "
            "'word [freq] [tag]' a line), relative to the bot folder")
    if not os.path.isdir(folder):
        what = "is a file, not a folder" if os.path.isfile(folder) else "does not exist"
        return [], [Diagnostic(ERROR, CODE, f"Jieba dictionary_path '{folder}' {what}", where,
                               hint)]
    out, diags = [], []
    for path in sorted(glob.glob(os.path.join(glob.escape(folder), "*"))):
        text, problem, span = _read_utf8(path)
        if problem is not None:
            diags.append(Diagnostic(ERROR, CODE, problem, span or where, hint))
        else:
            out.append([os.path.basename(path), text])
    if not out and not diags:
        diags.append(Diagnostic(WARNING, CODE, f"Jieba dictionary_path '{folder}' has no "
                                "dictionary file: only jieba's own dictionary is used", where, hint))
    return out, diags


def _read_utf8(path: str) -> tuple[Optional[str], Optional[str], Optional[Span]]:
    """(text, None, None), or (None, problem, the line at fault or None)."""
    if os.path.isdir(path):
        return None, f"'{path}' is a folder inside the Jieba dictionary_path (Rasa fails on it)", None
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        return None, f"cannot read Jieba user dictionary '{path}': {exc.strerror}", None
    for number, line in enumerate(raw.split(b"\n"), 1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, (f"Jieba user dictionary '{os.path.basename(path)}' is not UTF-8 "
                          f"(byte {line[exc.start]:#04x}); jieba reads UTF-8 only"), \
                Span(path, number, exc.start + 1)
    return raw.decode("utf-8"), None, None


def component_options(components, name: str) -> Optional[tuple[dict, dict, Optional[Span]]]:
    """(options, {option: span}, entry span) of the first `name` entry of
    NluConfig.components, or None when the pipeline has none written as a mapping."""
    for component in components or ():
        if component.name == name:
            return json.loads(component.options), dict(component.key_spans), component.span
    return None


def compile_tokenizer(config) -> tuple[Optional[dict], list]:
    """The compiled NLU's `tokenizer` entry for a JiebaTokenizer pipeline, and diagnostics."""
    found = component_options(config.components, "JiebaTokenizer")
    options, spans, entry = found if found else ({}, {}, None)
    spec, diags = compile_spec(options, spans, entry)
    return {"jieba": spec}, diags
