"""Message text -> tokens (word, start, end), the way Rasa 3.6's WhitespaceTokenizer splits it.

Why emulate rather than simply split on spaces: the intent scorer reproduces Rasa's light
pipeline, whose features are built from these exact tokens (punctuation stripped at word edges,
apostrophes inside words split, whole-token "emoji" dropped). Rasa's emoji class spans
U+24C2..U+1F251, which also covers CJK ideographs: a token made only of Chinese characters is
dropped, and a message left with no token becomes one token holding the whole text.
"""

from __future__ import annotations

import re

import regex

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

Token = tuple  # (text, start, end)


def tokenize(text: str) -> list[Token]:
    """Tokens of `text` with offsets into `text` (end exclusive)."""
    if _PLAIN.fullmatch(text):
        tokens = [(m.group(), m.start(), m.end()) for m in _RUN.finditer(text)]
        return tokens or [(text, 0, len(text))]
    words = [w for w in _CLEAN.sub(" ", text).split() if not _EMOJI.fullmatch(w)]
    if not words:
        words = [text]
    tokens: list[Token] = []
    offset = 0
    for word in words:
        start = text.find(word, offset)
        if start < 0:        # cannot happen for substrings of text; kept total for safety
            continue
        offset = start + len(word)
        tokens.append((word, start, offset))
    return tokens
