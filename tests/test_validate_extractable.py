"""`formc validate` F630: a required form slot that only entities no extractor finds could fill."""

from __future__ import annotations

import os

from formc.api import validate_project

from support.validate_fixtures import DOMAIN, NLU, line_of, write_bot

NO_LOOKUP = NLU.replace("- lookup: cuisine\n  examples: |\n    - italian\n    - thai\n"
                        "    - indian\n", "")
CRF = """\
recipe: default.v1
language: en
assistant_id: validate_test_bot
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
  - name: LogisticRegressionClassifier
  - name: CRFEntityExtractor
policies:
  - name: RulePolicy
"""
ROLE_DOMAIN = DOMAIN.replace("        entity: cuisine\n",
                             "        entity: cuisine\n        role: main\n")


def f630(bot: str) -> list[tuple]:
    out = []
    for d in validate_project(bot):
        if d.code == "F630":
            out.append((d.severity, os.path.relpath(d.span.file, bot), d.span.line, d.span.col,
                        d.message, d.hint))
    return out


def test_slot_from_an_entity_nothing_extracts_is_an_error_at_the_mapping(tmp_path):
    bot = write_bot(tmp_path, nlu=NO_LOOKUP)        # KeywordIntentClassifier only
    [(severity, path, line, col, message, hint)] = f630(bot)
    assert (severity, path, line) == ("error", "domain.yml", line_of(DOMAIN, "entity: cuisine"))
    assert col == DOMAIN.splitlines()[line - 1].index("cuisine") + 1
    assert message == ("form 'order_form' can never be completed: slot 'cuisine' maps only "
                       "from entity 'cuisine', which no extractor finds")
    assert "lookup table" in hint and "regex" in hint and "CRFEntityExtractor" in hint
    assert "Duckling" in hint


def test_a_lookup_table_or_a_crf_makes_the_entity_extractable(tmp_path):
    assert f630(write_bot(tmp_path / "lookup")) == []            # the fixture's lookup table
    assert f630(write_bot(tmp_path / "crf", nlu=NO_LOOKUP, config=CRF)) == []


def test_a_crf_in_the_pipeline_needs_annotated_examples(tmp_path):
    plain = NO_LOOKUP.replace("[italian](cuisine)", "italian").replace(
        "[thai](cuisine)", "thai").replace("[indian](cuisine)", "indian")
    assert len(f630(write_bot(tmp_path, nlu=plain, config=CRF))) == 1


def test_a_role_needs_a_crf_trained_on_that_role(tmp_path):
    found = f630(write_bot(tmp_path / "lookup", domain=ROLE_DOMAIN))   # lookups give no roles
    assert [m for *_r, m, _h in found] == [
        "form 'order_form' can never be completed: slot 'cuisine' maps only from entity "
        "'cuisine' (role 'main'), which no extractor finds"]
    with_role = NO_LOOKUP.replace("[thai](cuisine)", '[thai]{"entity": "cuisine", "role": "main"}')
    assert f630(write_bot(tmp_path / "crf", domain=ROLE_DOMAIN, nlu=with_role, config=CRF)) == []


def test_a_duckling_dimension_counts_only_when_configured(tmp_path):
    domain = DOMAIN.replace("entity: cuisine", "entity: number").replace(
        "entities:\n  - cuisine", "entities:\n  - cuisine\n  - number")
    duckling = CRF.replace("  - name: CRFEntityExtractor\n",
                           "  - name: DucklingEntityExtractor\n    dimensions: [{}]\n")
    assert f630(write_bot(tmp_path / "n", domain=domain, config=duckling.format("number"))) == []
    assert len(f630(write_bot(tmp_path / "e", domain=domain,
                              config=duckling.format("email")))) == 1


def test_button_payloads_count_as_an_extractor(tmp_path):
    domain = DOMAIN.replace(
        '  utter_ask_cuisine:\n    - text: "Which cuisine?"\n',
        '  utter_ask_cuisine:\n    - text: "Which cuisine?"\n      buttons:\n'
        '        - title: Thai\n          payload: \'/inform{"cuisine": "thai"}\'\n')
    assert f630(write_bot(tmp_path, domain=domain, nlu=NO_LOOKUP)) == []
