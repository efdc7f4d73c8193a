"""Message text -> tokens (word, start, end), as Rasa 3.6's WhitespaceTokenizer or JiebaTokenizer splits it.

Modes (`cjk`): "run" (default) is the exact WhitespaceTokenizer emulation below; "char"
makes every CJK ideograph, kana or hangul character its own token and tokenizes the text
between them as "run" does. "char" stands in for the tokenizers Chinese/Japanese/Korean bots
use (BERT's per-character Chinese tokenization), which never see a sentence as one word.
"jieba" (or "jieba:<digest>" with user dictionaries / a token_pattern) is Rasa's
JiebaTokenizer itself: the jieba package's tokens, whitespace and punctuation included.

Why emulate rather than simply split on spaces: the intent scorer reproduces Rasa's light
pipeline, whose features are built from these exact tokens (punctuation stripped at word edges,
apostrophes inside words split, whole-token "emoji" dropped). Rasa's emoji class spans
U+24C2..U+1F251, which also covers CJK ideographs: a token made only of Chinese characters is
dropped, and a message left with no token becomes one token holding the whole text.
"""

from __future__ import annotations

import re

import regex

from .jieba_tokens import JIEBA, jieba_tokens  # noqa: F401  (re-exported)
from .regex_budget import message_memo

# Punctuation runs that Rasa replaces by a space: at the end of a word, at the start of a word
# (unless a digit follows), and inside a word between non-digits (except URL/e-mail characters).
_CLEAN = regex.compile(
    r"[^\w#@&]+(?=\s|$)"
    r"|(\s|^)[^\w#@&]+(?=[^0-9\s])"
    r"|(?<=[^0-9\s])[^\w._~:/?#\[\]()@!$&*+,;=-]+(?=[^0-9\s])"
)
_EMOJI = re.compile(
    "[\U0001F600-\U0001F64F\U0001F300-\U0001F5FF\U0001F680-\U0001F6FF\U0001F1E0-\U0001F1FF"
    "\u2702-\u27B0\u24C2-\U0001F251\u200d\u200c]+"
)

# ASCII letters, digits, _ and ASCII whitespace only: _CLEAN can then only rewrite whitespace
# runs to a space (every alternative needs a non-word character), which split() ignores, and
# no emoji can occur; so the words are simply text.split() (the common, fast case).
_PLAIN = re.compile(r"[A-Za-z0-9_ \t\n\r\f\v]*")
_RUN = re.compile(r"\S+")

# Han (with 々 〇), hiragana, katakana (with the full/half-width prolonged sound marks, which
# are script Common) and hangul; CJK punctuation is not included, it is cleaned as in "run".
_CJK = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\u3006\u30fc\uff70]")

RUN, CHAR = "run", "char"
CJK_MODES = (RUN, CHAR)          # what `formc: {cjk_tokens: ...}` may choose

Token = tuple  # (text, start, end)

CJK_TOKEN_LANGUAGES = ("zh", "ja", "ko")
_LETTER = regex.compile(r"[^\W\d_]")


def cjk_mode(language, pipeline=(), texts=()) -> str:
    """The CJK mode a bot gets unless it chooses one: "run" when the pipeline names Rasa's
    WhitespaceTokenizer and "jieba" when it names JiebaTokenizer (formc then reproduces Rasa
    exactly; the compiler turns "jieba" into the mode of its options); otherwise "char" for zh/ja/ko
    (Jieba, BERT and the like never make a whole CJK sentence one word) and for `texts` (the
    examples) mostly written in CJK characters; "run" for the rest. The reader passes no texts
    when config.yml names a language, so a declared non-CJK language always means "run"."""
    names = {str(p).rsplit(".", 1)[-1] for p in pipeline}
    if "WhitespaceTokenizer" in names:
        return RUN
    if "JiebaTokenizer" in names:
        return JIEBA
    if language is not None:
        code = str(language).split("_")[0].split("-")[0].lower()
        if code in CJK_TOKEN_LANGUAGES:
            return CHAR
    return CHAR if mostly_cjk(texts) else RUN


def mostly_cjk(texts) -> bool:
    """More CJK characters than other letters in `texts`."""
    cjk = other = 0
    for text in texts:
        n = len(_CJK.findall(text))
        cjk += n
        other += len(_LETTER.findall(text)) - n
    return cjk > other


def tokenize(text: str, cjk: str = RUN) -> list[Token]:
    """Tokens of `text` with offsets into `text` (end exclusive). Inside a parse the list is
    shared by every caller for that text (the scorers, selectors and CRFs each ask): read it,
    never change it."""
    memo = message_memo()
    if memo is None:
        return _tokens(text, cjk)
    key = ("tokens", text, cjk)
    found = memo.get(key)
    if found is None:
        found = memo[key] = _tokens(text, cjk)
    return found


def _tokens(text: str, cjk: str) -> list[Token]:
    if cjk.startswith(JIEBA):
        return jieba_tokens(text, cjk)
    if cjk == CHAR and _CJK.search(text):
        return _char_tokens(text)
    return _words(text, 0) or [(text, 0, len(text))]


def _char_tokens(text: str) -> list[Token]:
    """One token per CJK character; the stretches between them tokenized as in "run" (a
    stretch without words adds nothing: there is at least one CJK token)."""
    tokens: list[Token] = []
    pos = 0
    for m in _CJK.finditer(text):
        start = m.start()
        if start > pos:
            tokens += _words(text[pos:start], pos)
        tokens.append((m.group(), start, m.end()))
        pos = m.end()
    if pos < len(text):
        tokens += _words(text[pos:], pos)
    return tokens


def _words(text: str, base: int) -> list[Token]:
    """WhitespaceTokenizer's words of `text`, offsets shifted by `base`; [] when none."""
    if _PLAIN.fullmatch(text):
        return [(m.group(), base + m.start(), base + m.end()) for m in _RUN.finditer(text)]
    tokens: list[Token] = []
    offset = 0
    for word in _CLEAN.sub(" ", text).split():
        if _EMOJI.fullmatch(word):
            continue
        start = text.find(word, offset)
        if start < 0:        # cannot happen for substrings of text; kept total for safety
            continue
        offset = start + len(word)
        tokens.append((word, base + start, base + offset))
    return tokens
