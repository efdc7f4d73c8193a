"""YAML and legacy Markdown NLU readers, lookup files (BOM, CRLF, bad encoding), positions."""

from __future__ import annotations

import os

from formc.nlu.reader import read_lookup_file, read_nlu_markdown, read_nlu_yaml
from formc.yaml_loader import load_yaml
from support.nlu_support import CORPUS, read_bot_nlu

YAML = """\
version: "3.1"
nlu:
- intent: greet
  metadata: {tone: casual}
  examples: |
    - hi
    - hello, I am [Ann](name)
    not a list line
- intent: inform
  examples:
  - text: "a [thai](cuisine) place please"
    metadata: {source: webchat}
  - text: '[four]{"entity": "number", "value": "4"} people'
- synonym: new york city
  examples: |
    - NYC
    - big apple
- regex: zipcode
  examples: |
    - \\b[0-9]{5}\\b
- lookup: cuisine
  examples: |
    - italian
    - south indian
- intent: faq/ask/too
  examples: |
    - x
- intent: empty
- foo: bar
- intent: bad
  examples: |
    - [x]{"entity": oops}
"""


def read(text, tmp_path):
    path = tmp_path / "nlu.yml"
    path.write_text(text, encoding="utf-8")
    value, diags = load_yaml(text, str(path))
    assert not diags
    return read_nlu_yaml(value["nlu"], str(path))


def test_yaml_items(tmp_path):
    data, diags = read(YAML, tmp_path)
    assert [(e.text, e.intent) for e in data.examples][:4] == [
        ("hi", "greet"), ("hello, I am Ann", "greet"), ("a thai place please", "inform"),
        ("four people", "inform")]
    assert data.examples[3].entities[0].value == "4"
    assert [(s.text, s.value) for s in data.synonyms] == [("NYC", "new york city"),
                                                         ("big apple", "new york city")]
    assert data.regexes[0].pattern == r"\b[0-9]{5}\b"
    assert data.lookups[0].elements == ("italian", "south indian")
    codes = sorted(d.code for d in diags)
    assert codes == ["F301", "F304", "F306", "F307", "F308"]


def test_yaml_positions_inside_block_scalar(tmp_path):
    data, diags = read(YAML, tmp_path)
    hello = data.examples[1]
    assert (hello.span.line, hello.span.col) == (7, 7)
    skipped = next(d for d in diags if d.code == "F306")
    assert (skipped.span.line, skipped.span.col) == (8, 5)
    bad = next(d for d in diags if d.code == "F301")
    assert (bad.span.line, bad.span.col) == (32, 7)
    assert data.regexes[0].span.line == 20


MD = """\
<!-- a comment
spanning lines -->
## intent:greet
- hey
* hello [Ann](name)

## intent: inform
+ a [NYC]{"entity": "city", "value": "new york city"} place
- [LA](city:Los Angeles)

## synonym:new york city
- NYC
- big apple

## regex:zipcode
- [0-9]{5}

## lookup:city
- Berlin
- Rome

## lookup:street
  lookups/streets.txt
## story:not nlu
"""


def test_markdown(tmp_path):
    os.makedirs(tmp_path / "lookups")
    (tmp_path / "lookups" / "streets.txt").write_bytes(
        "\ufeffMain Street\r\n\r\n  Hauptstraße \r\nRue de la Paix\r\n".encode("utf-8"))
    data, diags = read_nlu_markdown(MD.replace("\n", "\r\n"), "data/nlu.md", str(tmp_path))
    assert [(e.text, e.intent) for e in data.examples] == [
        ("hey", "greet"), ("hello Ann", "greet"), ("a NYC place", "inform"), ("LA", "inform")]
    assert data.examples[0].span.line == 4 and data.examples[0].span.col == 3
    assert data.examples[3].entities[0].value == "Los Angeles"
    assert [(s.text, s.value) for s in data.synonyms] == [("NYC", "new york city"),
                                                         ("big apple", "new york city")]
    assert [(r.name, r.pattern) for r in data.regexes] == [("zipcode", "[0-9]{5}")]
    assert [(l.name, l.elements) for l in data.lookups] == [
        ("city", ("Berlin", "Rome")), ("street", ("Main Street", "Hauptstraße", "Rue de la Paix"))]
    assert sorted(d.code for d in diags) == ["F311", "F312"]


def test_lookup_file_errors_name_the_file(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"ok\nbad \xff byte\n")
    elements, diags = read_lookup_file("bad.txt", str(tmp_path))
    assert elements == [] and diags[0].code == "F303"
    assert "bad.txt" in diags[0].message and "UTF-8" in diags[0].message and "line 2" in diags[0].message
    elements, diags = read_lookup_file("missing.txt", str(tmp_path))
    assert diags[0].code == "F303" and "missing.txt" in diags[0].message


def test_lookup_file_bom_crlf_cjk(tmp_path):
    (tmp_path / "cities.txt").write_bytes("\ufeff北京\r\n上海\r\n\r\nＴｏｋｙｏ\r\n".encode("utf-8"))
    elements, diags = read_lookup_file("cities.txt", str(tmp_path))
    assert elements == ["北京", "上海", "Ｔｏｋｙｏ"] and diags == []


def test_corpus_markdown_bot_reads():
    data, diags = read_bot_nlu(os.path.join(CORPUS, "medicare-masterclass-md"))
    assert len(data.examples) == 269 and not [d for d in diags if d.is_error]
    assert {r.name for r in data.regexes} >= {"location"}
    assert any(e.entities for e in data.examples)


def test_all_corpus_bots_read_without_errors():
    for bot in sorted(os.listdir(CORPUS)):
        root = os.path.join(CORPUS, bot)
        if os.path.isdir(root):
            data, diags = read_bot_nlu(root)
            assert not [d for d in diags if d.is_error], (bot, diags[:3])
