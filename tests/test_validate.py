"""`formc validate`: one test per rule (exact code, file:line:col and message), the compiler's
findings passed through, output formats and exit codes."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import pytest

from formc.cli import main
from formc.api import validate_project as validate_bot
from support.validate_fixtures import CONFIG, DOMAIN, NLU, RULES, line_of, write_bot


def findings(bot: str, *codes: str) -> list[tuple]:
    """(code, severity, relative file, line, col, message) of the given codes."""
    out = []
    for d in validate_bot(bot):
        if d.code in codes:
            rel = os.path.relpath(d.span.file, bot) if d.span else None
            out.append((d.code, d.severity, rel, d.span.line if d.span else None,
                        d.span.col if d.span else None, d.message))
    return out


def test_clean_bot_has_only_the_reprompt_note(tmp_path):
    bot = write_bot(tmp_path)
    assert [(d.code, d.severity) for d in validate_bot(bot)] == [("F614", "info")]


def test_f603_intent_without_examples(tmp_path):
    domain = DOMAIN.replace("  - stop\n", "  - stop\n  - order\n")
    rules = RULES + "\n- rule: order\n  steps:\n  - intent: order\n  - action: utter_greet\n"
    bot = write_bot(tmp_path, domain=domain, rules=rules)
    assert findings(bot, "F603") == [
        ("F603", "warning", "domain.yml", line_of(domain, "- order"), 5,
         "intent 'order' has no NLU examples: the NLU can never predict it (only '/order' "
         "payloads reach it)")]


def test_f604_same_text_two_intents(tmp_path):
    nlu = NLU + "    - hi there\n"          # appended to the `stop` examples
    bot = write_bot(tmp_path, nlu=nlu)
    assert findings(bot, "F604") == [
        ("F604", "warning", "data/nlu.yml", line_of(nlu, "hi there", 2), 7,
         f"example 'hi there' is labelled 'stop' here and 'greet' (line {line_of(nlu, 'hi there')})")]


def test_f606_intent_never_used(tmp_path):
    domain = DOMAIN.replace("  - stop\n", "  - stop\n  - thank\n")
    nlu = NLU + "- intent: thank\n  examples: |\n    - thanks\n    - thank you\n"
    bot = write_bot(tmp_path, domain=domain, nlu=nlu)
    assert findings(bot, "F606") == [
        ("F606", "warning", "domain.yml", line_of(domain, "- thank"), 5,
         "intent 'thank' is not used by any story, rule or slot mapping: the bot has no reaction "
         "to it")]


def test_f606_counts_intents_used_by_slot_mappings(tmp_path):
    domain = DOMAIN.replace("  - stop\n", "  - stop\n  - thank\n").replace(
        "        entity: cuisine\n", "        entity: cuisine\n        not_intent: [thank]\n")
    nlu = NLU + "- intent: thank\n  examples: |\n    - thanks\n    - thank you\n"
    assert findings(write_bot(tmp_path, domain=domain, nlu=nlu), "F606") == []


def test_f608_response_never_used(tmp_path):
    domain = DOMAIN + "  utter_unused:\n    - text: \"Never said.\"\n"
    bot = write_bot(tmp_path, domain=domain)
    assert findings(bot, "F608") == [
        ("F608", "warning", "domain.yml", line_of(domain, "utter_unused:"), 3,
         "response 'utter_unused' is never used by a story, rule or form")]


def test_f608_knows_the_responses_default_actions_utter(tmp_path):
    domain = DOMAIN + "".join(f"  {name}:\n    - text: \"x\"\n" for name in
                              ("utter_back", "utter_restart", "utter_default", "utter_ask_rephrase"))
    assert findings(write_bot(tmp_path, domain=domain), "F608") == []


def test_f609_config_without_language_and_assistant_id(tmp_path):
    config = "pipeline:\n  - name: KeywordIntentClassifier\npolicies:\n  - name: RulePolicy\n"
    bot = write_bot(tmp_path, config=config)
    assert findings(bot, "F609") == [
        ("F609", "info", "config.yml", 1, 1, "config.yml has no 'assistant_id'"),
        ("F609", "info", "config.yml", 1, 1, "config.yml has no 'language'; Rasa assumes 'en'")]


def test_f609_placeholder_assistant_id(tmp_path):
    config = CONFIG.replace("validate_test_bot", "placeholder_default")
    bot = write_bot(tmp_path, config=config)
    assert findings(bot, "F609") == [
        ("F609", "info", "config.yml", line_of(config, "assistant_id"), 15,
         "config.yml has the placeholder 'assistant_id'")]


def test_f610_too_few_examples(tmp_path):
    domain = DOMAIN.replace("  - stop\n", "  - stop\n  - thank\n")
    nlu = NLU + "- intent: thank\n  examples: |\n    - thanks\n"
    rules = RULES + "\n- rule: thank\n  steps:\n  - intent: thank\n  - action: utter_greet\n"
    bot = write_bot(tmp_path, domain=domain, nlu=nlu, rules=rules)
    assert findings(bot, "F610") == [
        ("F610", "warning", "data/nlu.yml", line_of(nlu, "- thanks"), 7,
         "intent 'thank' has only 1 NLU example(s); at least 2 are needed to recognise it "
         "reliably")]


def test_f611_required_slot_no_mapping_can_fill(tmp_path):
    domain = DOMAIN.replace("      - cuisine\n", "      - cuisine\n      - size\n").replace(
        "forms:", "  size:\n    type: text\n    mappings:\n      - type: custom\nforms:").replace(
        "  utter_done:", "  utter_ask_size:\n    - text: \"Which size?\"\n  utter_done:")
    bot = write_bot(tmp_path, domain=domain)
    assert findings(bot, "F611") == [
        ("F611", "error", "domain.yml", line_of(domain, "  size:"), 3,
         "form 'order_form' requires slot 'size', but no slot mapping can fill it while the "
         "form is active: the form would ask forever")]


def test_f611_validation_action_can_fill(tmp_path):
    domain = DOMAIN.replace("      - cuisine\n", "      - cuisine\n      - size\n").replace(
        "forms:", "  size:\n    type: text\n    mappings:\n      - type: custom\n"
        "actions:\n  - validate_order_form\nforms:").replace(
        "  utter_done:", "  utter_ask_size:\n    - text: \"Which size?\"\n  utter_done:")
    assert findings(write_bot(tmp_path, domain=domain), "F611") == []


def test_f612_no_way_to_ask(tmp_path):
    domain = DOMAIN.replace("  utter_ask_cuisine:\n    - text: \"Which cuisine?\"\n", "")
    bot = write_bot(tmp_path, domain=domain)
    assert findings(bot, "F612") == [
        ("F612", "error", "domain.yml", line_of(domain, "order_form:"), 3,
         "form 'order_form' has no way to ask for slot 'cuisine'")]
    assert [d.hint for d in validate_bot(bot) if d.code == "F612"] == [
        "add a response 'utter_ask_cuisine' (or 'utter_ask_order_form_cuisine', or a custom "
        "action 'action_ask_cuisine')"]


def test_f613_lookup_entry_in_two_entities(tmp_path):
    domain = DOMAIN.replace("  - cuisine\n", "  - cuisine\n  - dish\n", 1)   # entities only
    nlu = NLU + ("- lookup: cuisine\n  examples: |\n    - italian\n    - thai\n"
                 "- lookup: dish\n  examples: |\n    - pizza\n    - Thai\n")
    bot = write_bot(tmp_path, domain=domain, nlu=nlu)
    assert findings(bot, "F613") == [
        ("F613", "warning", "data/nlu.yml", line_of(nlu, "- lookup: dish"), 11,
         "lookup entry 'Thai' is listed under both 'cuisine' and 'dish': the extractor cannot "
         "tell which entity it is")]


def test_f614_and_f615_reprompt_limit(tmp_path):
    from formc.reader import read_project
    from formc.check import check_rules as check_project

    project, _ = read_project(write_bot(tmp_path))
    notes = [(d.code, d.message) for d in check_project(project) if d.code in ("F614", "F615")]
    assert notes == [("F614", "form 'order_form' has no re-prompt limit for 'cuisine': a user who "
                      "never gives a usable answer is asked the same question forever")]
    form = replace(project.domain.forms[0], max_reprompts=2, on_reprompt_limit="utter_gve_up")
    project = replace(project, domain=replace(project.domain, forms=(form,)))
    found = [(d.code, d.severity, d.message) for d in check_project(project)
             if d.code in ("F614", "F615")]
    assert found == [("F615", "error", "order_form: on_reprompt_limit names 'utter_gve_up', which "
                      "is not a response or action of the domain")]


def test_f620_form_never_activated(tmp_path):
    rules = RULES.replace("- rule: start the order\n  steps:\n  - intent: inform\n  - action: "
                          "order_form\n  - active_loop: order_form\n", "")
    bot = write_bot(tmp_path, rules=rules)
    assert findings(bot, "F620") == [
        ("F620", "warning", "domain.yml", line_of(DOMAIN, "order_form:"), 3,
         "form 'order_form' is never activated: no rule or story runs it, so its 1 state(s) "
         "are unreachable")]


def test_f621_interruption_shadowed_by_from_text(tmp_path):
    domain = DOMAIN.replace("        entity: cuisine\n", "        entity: cuisine\n"
                            "      - type: from_text\n        conditions:\n"
                            "          - active_loop: order_form\n")
    bot = write_bot(tmp_path, domain=domain)
    assert findings(bot, "F621") == [
        ("F621", "warning", "data/rules.yml", line_of(RULES, "action: action_deactivate_loop"), 13,
         "rule 'stop the order' never fires while 'order_form' asks for 'cuisine': the form "
         "takes any 'stop' message as the value of 'cuisine' (from_text mapping)")]
    fixed = domain.replace("          - active_loop: order_form\n",
                           "          - active_loop: order_form\n        not_intent: [stop]\n")
    assert findings(write_bot(tmp_path, domain=fixed), "F621") == []


def test_f622_rule_repeats_another(tmp_path):
    rules = RULES + "\n- rule: greet again\n  steps:\n  - intent: greet\n  - action: utter_greet\n"
    bot = write_bot(tmp_path, rules=rules)
    first = line_of(rules, "action: utter_greet")
    assert findings(bot, "F622") == [
        ("F622", "warning", "data/rules.yml", line_of(rules, "action: utter_greet", 2), 13,
         f"rule 'greet again' repeats rule 'greet' ({os.path.join(bot, 'data/rules.yml')}:"
         f"{first}:13) step for step: it never makes the bot do anything the other does not")]


def test_rule_conflicts_come_from_the_dialogue_compiler(tmp_path):
    rules = RULES + ("\n- rule: greet differently\n  steps:\n  - intent: greet\n"
                     "  - action: utter_stopped\n")
    bot = write_bot(tmp_path, rules=rules)
    conflicts = [d for d in validate_bot(bot) if d.code == "F406"]
    assert len(conflicts) == 1 and conflicts[0].is_error
    assert "rule 'greet differently' predicts 'utter_stopped'" in conflicts[0].message
    assert conflicts[0].span.line == line_of(rules, "action: utter_stopped", 2)


def test_cross_reference_checks_are_kept(tmp_path):
    domain = DOMAIN.replace("      - cuisine\n", "      - cuisine\n      - drink\n")
    bot = write_bot(tmp_path, domain=domain)
    assert [(d.code, d.message) for d in validate_bot(bot) if d.code == "F230"] == [
        ("F230", "form 'order_form' requires slot 'drink', which is not declared")]


# ------------------------------------------------------------------------ formats, exit codes

def test_human_output_has_code_frame_and_exit_1_on_errors(tmp_path, capsys):
    domain = DOMAIN.replace("  utter_ask_cuisine:\n    - text: \"Which cuisine?\"\n", "")
    bot = write_bot(tmp_path, domain=domain)
    assert main(["validate", bot]) == 1
    out = capsys.readouterr().out
    line = line_of(domain, "order_form:")
    assert (f"{bot}/domain.yml:{line}:3: error: form 'order_form' has no way to ask for slot "
            f"'cuisine' [F612]\n  {line:>4} |   order_form:\n       |   ^\n"
            "  hint: add a response 'utter_ask_cuisine'") in out
    assert f"formc validate {bot}: failed: 1 error(s), 0 warning(s), 1 note(s) in " in out


def test_strict_fails_on_warnings_only_with_strict(tmp_path, capsys):
    bot = write_bot(tmp_path, domain=DOMAIN + "  utter_unused:\n    - text: \"x\"\n")
    assert main(["validate", bot]) == 0
    assert main(["validate", bot, "--strict"]) == 1
    assert main(["validate", write_bot(tmp_path), "--strict"]) == 0   # notes never fail


def test_github_format(tmp_path, capsys):
    domain = DOMAIN + "  utter_unused:\n    - text: \"x\"\n"
    bot = write_bot(tmp_path, domain=domain)
    assert main(["validate", bot, "--format", "github"]) == 0
    lines = capsys.readouterr().out.splitlines()
    line = line_of(domain, "utter_unused:")
    assert (f"::warning file={bot}/domain.yml,line={line},col=3,title=F608::response "
            "'utter_unused' is never used by a story, rule or form (hint: use it in a rule or "
            "story, or remove it)") in lines
    assert any(item.startswith("::notice ") and "title=F614" in item for item in lines)


def test_json_format(tmp_path, capsys):
    domain = DOMAIN.replace("  utter_ask_cuisine:\n    - text: \"Which cuisine?\"\n", "")
    bot = write_bot(tmp_path, domain=domain)
    assert main(["validate", bot, "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["summary"] == {"errors": 1, "warnings": 0}
    f612 = next(d for d in data["diagnostics"] if d["code"] == "F612")
    assert f612 == {"severity": "error", "code": "F612", "file": f"{bot}/domain.yml",
                    "line": line_of(domain, "order_form:"), "col": 3,
                    "message": "form 'order_form' has no way to ask for slot 'cuisine'",
                    "hint": "add a response 'utter_ask_cuisine' (or 'utter_ask_order_form_cuisine',"
                            " or a custom action 'action_ask_cuisine')"}


def test_missing_directory_is_an_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope"), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [d["code"] for d in data["diagnostics"]] == ["F106"]


@pytest.mark.parametrize("bot", ["hello", "restaurant", "phone-plan-zh"])
def test_example_bots_validate_without_errors(bot):
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", bot)
    errors = [d.render() for d in validate_bot(root) if d.is_error]
    assert errors == []


def test_f616_f617_forms_and_rules_need_rule_policy(tmp_path):
    memo_only = CONFIG.replace("  - name: RulePolicy\n", "  - name: MemoizationPolicy\n")
    found = findings(write_bot(tmp_path, config=memo_only), "F616", "F617")
    assert [(code, severity, rel) for code, severity, rel, *_ in found] == [
        ("F616", "error", "config.yml"), ("F617", "warning", os.path.join("data", "rules.yml"))]
    assert findings(write_bot(tmp_path / "with", config=CONFIG), "F616", "F617") == []


def test_f618_names_the_trained_models_and_options_formc_does_not_reproduce(tmp_path):
    config = CONFIG.replace("  - name: KeywordIntentClassifier\n",
                            "  - name: DIETClassifier\n  - name: CountVectorsFeaturizer\n"
                            "    max_features: 50\n  - name: LogisticRegressionClassifier\n"
                            "    max_iter: 100\n").replace(
        "  - name: RulePolicy\n", "  - name: RulePolicy\n  - name: TEDPolicy\n")
    found = findings(write_bot(tmp_path, config=config), "F618")
    assert [(line, "'DIETClassifier'" in msg or "'TEDPolicy'" in msg or "'max_features: 50'" in msg)
            for _c, _s, _f, line, _col, msg in found] == [(5, True), (6, True), (12, True)]


def test_f618_for_a_missing_pipeline_or_policies(tmp_path):
    config = "recipe: default.v1\nlanguage: en\nassistant_id: x\n"
    found = [msg for *_rest, msg in findings(write_bot(tmp_path, config=config), "F618")]
    assert len(found) == 2 and "DIETClassifier" in found[0] and "TEDPolicy" in found[1]


def test_f618_for_a_document_share_in_min_df_or_max_df(tmp_path):
    config = CONFIG.replace("  - name: KeywordIntentClassifier\n",
                            "  - name: CountVectorsFeaturizer\n    min_df: 2\n    max_df: 0.5\n"
                            "  - name: LogisticRegressionClassifier\n")
    found = [msg for *_rest, msg in findings(write_bot(tmp_path, config=config), "F618")]
    assert len(found) == 1 and "'max_df: 0.5'" in found[0]    # an integer min_df is exact
