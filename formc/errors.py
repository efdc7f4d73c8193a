"""Source positions and diagnostics: every stage reports problems as Diagnostic values."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable, Optional


@dataclass(frozen=True, order=True)
class Span:
    """A place in a source file; line and col are 1-based."""

    file: str
    line: int = 0
    col: int = 0
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}"
        return self.file

    def to_json(self) -> str:
        return str(self)


ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclass(frozen=True)
class Diagnostic:
    """One finding: what is wrong, where, and what to do about it."""

    severity: str
    code: str
    message: str
    span: Optional[Span] = None
    hint: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def render(self) -> str:
        where = f"{self.span}: " if self.span else ""
        text = f"{where}{self.severity}: {self.message} [{self.code}]"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class FormcError(Exception):
    """Raised at a stage boundary when errors make it impossible to go on."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(d.render() for d in self.diagnostics))


@dataclass
class Reporter:
    """Collects diagnostics; stages call error()/warning() and keep going while they can."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, span: Optional[Span] = None, hint: str = "") -> None:
        self.diagnostics.append(Diagnostic(ERROR, code, message, span, hint))

    def warning(self, code: str, message: str, span: Optional[Span] = None, hint: str = "") -> None:
        self.diagnostics.append(Diagnostic(WARNING, code, message, span, hint))

    def extend(self, diagnostics) -> None:
        self.diagnostics.extend(diagnostics)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """The hint for an unknown name: the closest known one, or ''."""
    close = difflib.get_close_matches(name, sorted(options), n=1)
    return f"did you mean '{close[0]}'?" if close else ""


# Every F-code formc emits: code -> (severity, one-line title). The severity is the highest one
# the code is reported at (a few codes are a warning for a skippable slip and an error otherwise).
# Hundreds: 1 files and YAML, 2 domain/config/endpoints, 3 NLU data, 4 stories and rules,
# 5 machine files, 6 validation rules, 8 deployment files. tests/test_fcodes.py keeps this table
# complete (every emitted code is here) and tested (every code here is triggered by a test).
CODES: dict[str, tuple[str, str]] = {
    "F100": (ERROR, "invalid YAML"),
    "F101": (ERROR, "duplicate mapping key"),
    "F102": (ERROR, "a mapping key is a list or mapping"),
    "F103": (ERROR, "environment variable in ${...} is not set"),
    "F104": (ERROR, "file is not valid UTF-8"),
    "F105": (ERROR, "file cannot be read"),
    "F106": (ERROR, "bot directory does not exist"),
    "F107": (ERROR, "no domain found"),
    "F108": (WARNING, "training data format version newer than 3.1: file skipped"),
    "F109": (WARNING, "JSON NLU file is not valid JSON: ignored"),
    "F110": (ERROR, "formc init would overwrite an existing bot"),
    "F120": (ERROR, "no NLU examples to evaluate"),
    "F130": (ERROR, "YAML aliases expand beyond the budget (alias bomb)"),
    "F131": (ERROR, "file larger than the size limit"),
    "F132": (ERROR, "line longer than the length limit"),
    "F201": (ERROR, "a value has the wrong shape (mapping/list expected)"),
    "F202": (ERROR, "domain entry with an empty property block"),
    "F203": (ERROR, "duplicate domain entry"),
    "F204": (ERROR, "intent uses 'triggers' (MappingPolicy, removed in Rasa 2.0)"),
    "F205": (ERROR, "form with ignored_intents but no required_slots"),
    "F206": (ERROR, "slot listed twice in a form's required_slots"),
    "F207": (ERROR, "slot without a type or with an unknown type"),
    "F208": (ERROR, "slot of type any set to influence the conversation"),
    "F209": (ERROR, "float slot with min_value not below max_value"),
    "F210": (WARNING, "unknown domain key"),
    "F211": (WARNING, "'templates' (Rasa 1.x) read as 'responses'"),
    "F212": (WARNING, "'forms' as a list (Rasa 1.x): forms run as custom actions"),
    "F213": (WARNING, "unknown key in a slot"),
    "F214": (WARNING, "unknown key in a slot mapping"),
    "F215": (ERROR, "slot mapping of unknown type"),
    "F216": (ERROR, "slot mapping without its entity or value"),
    "F217": (ERROR, "legacy form requires an undeclared slot"),
    "F218": (ERROR, "response variation without text or custom"),
    "F219": (ERROR, "bad formc re-prompt option (unknown key or max_reprompts)"),
    "F220": (ERROR, "config.yml pipeline/policies is not a list"),
    "F221": (ERROR, "action_endpoint is not a mapping with 'url'"),
    "F222": (ERROR, "bad formc option in config.yml"),
    "F230": (ERROR, "form requires an undeclared slot"),
    "F231": (ERROR, "mapping conditioned on an active_loop that is not a form"),
    "F232": (ERROR, "mapping conditioned on a form that does not require the slot"),
    "F233": (ERROR, "mapping condition names a requested_slot that is not a slot"),
    "F234": (WARNING, "slot maps from an undeclared entity"),
    "F235": (WARNING, "slot mapping names an undeclared intent"),
    "F236": (WARNING, "form ignores an undeclared intent"),
    "F237": (WARNING, "response placeholder that is not a slot"),
    "F238": (WARNING, "name is both a form and a custom action"),
    "F239": (WARNING, "mapping role/group the entity does not declare"),
    "F240": (WARNING, "intent with NLU examples but not declared in the domain"),
    "F241": (WARNING, "regex/lookup table not used for extraction (no annotated example)"),
    "F242": (WARNING, "entity annotated in the training data but not declared"),
    "F243": (WARNING, "entity annotated with a role/group it does not declare"),
    "F301": (ERROR, "unreadable entity markup in an example"),
    "F302": (ERROR, "regex does not compile"),
    "F303": (ERROR, "lookup table file missing or too large"),
    "F304": (ERROR, "`nlu:` is not a list of items / an item is not a mapping"),
    "F305": (WARNING, "NLU item with an empty name"),
    "F306": (WARNING, "example line does not start with '-'"),
    "F307": (WARNING, "intent without examples"),
    "F308": (ERROR, "intent name with more than one '/'"),
    "F309": (ERROR, "`examples` is not a block string of '- ' lines"),
    "F310": (WARNING, "text is a synonym of two values"),
    "F311": (ERROR, "unreadable Markdown NLU or unknown section"),
    "F312": (WARNING, "Markdown section title with surrounding spaces"),
    "F313": (INFO, "too large for logistic regression: tf-idf scorer used"),
    "F314": (WARNING, "retrieval intent without its utter_ response"),
    "F315": (ERROR, "KeywordIntentClassifier example is not a valid regular expression"),
    "F316": (ERROR, "bad JiebaTokenizer option or dictionary"),
    "F317": (ERROR, "bad DucklingEntityExtractor option (timeout, timezone, dimensions)"),
    "F330": (WARNING, "regex may backtrack catastrophically"),
    "F331": (ERROR, "regex cannot be matched within the per-message time budget"),
    "F401": (ERROR, "story/rule runs an unknown action"),
    "F402": (WARNING, "story/rule uses an undeclared intent"),
    "F403": (WARNING, "story/rule sets an undeclared slot"),
    "F404": (ERROR, "story/rule names an active_loop that is not a form"),
    "F405": (ERROR, "rule with more than one user turn"),
    "F406": (ERROR, "two rules predict different actions for the same situation"),
    "F420": (ERROR, "story/rule/step has the wrong shape"),
    "F421": (ERROR, "a story under 'rules:' or a rule under 'stories:'"),
    "F422": (WARNING, "story/rule without a name or steps: skipped"),
    "F423": (WARNING, "unknown key in a story/rule"),
    "F424": (ERROR, "step not allowed in a rule or rule condition"),
    "F425": (ERROR, "'action' step without an action name"),
    "F426": (ERROR, "'or' alternative that is not an intent or slot_was_set"),
    "F427": (WARNING, "unknown story step: skipped"),
    "F428": (WARNING, "intent written with a leading '/'"),
    "F429": (ERROR, "user step without 'intent' or 'user'"),
    "F430": (ERROR, "bad entity in a user step"),
    "F431": (ERROR, "bad slot_was_set item"),
    "F432": (ERROR, "invalid JSON in a Markdown story"),
    "F433": (WARNING, "unsupported event in a Markdown story: skipped"),
    "F450": (ERROR, "story contradicts a rule"),
    "F451": (ERROR, "stories want different actions after the same history"),
    "F452": (WARNING, "checkpoint that no story ends with"),
    "F453": (WARNING, "checkpoints expand beyond the path/join cap"),
    "F501": (ERROR, "not a (readable, supported, complete) .fsm machine file"),
    "F603": (WARNING, "intent without NLU examples"),
    "F604": (WARNING, "example text labelled with different intents"),
    "F606": (WARNING, "intent never used by a story, rule, slot mapping or form"),
    "F608": (WARNING, "response never used"),
    "F609": (INFO, "config.yml without language / assistant_id"),
    "F610": (WARNING, "intent with too few NLU examples"),
    "F611": (ERROR, "form slot that no mapping can fill"),
    "F612": (ERROR, "form slot with no way to ask for it"),
    "F613": (WARNING, "lookup entry listed under two entities"),
    "F614": (INFO, "form without a re-prompt limit"),
    "F615": (ERROR, "on_reprompt_limit names an unknown action"),
    "F616": (ERROR, "forms without RulePolicy"),
    "F617": (WARNING, "rules without RulePolicy"),
    "F618": (INFO, "config component or option formc does not reproduce"),
    "F619": (ERROR, "slot mapped only from undeclared entities: never filled"),
    "F620": (WARNING, "form never activated"),
    "F621": (WARNING, "rule/story shadowed by a form's slot mapping"),
    "F622": (WARNING, "rule/story repeats another step for step"),
    "F630": (WARNING, "form slot mapped only from entities no extractor finds"),
    "F801": (ERROR, "unknown channel in credentials.yml"),
    "F802": (ERROR, "channel settings in credentials.yml not usable"),
    "F803": (ERROR, "unsupported tracker_store/lock_store type or SQL dialect"),
    "F804": (ERROR, "endpoints.yml section or option of the wrong kind"),
    "F805": (WARNING, "event_broker is not supported"),
}
