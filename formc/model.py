"""The project model: frozen dataclasses for a bot as Rasa 3.x understands it, dialect-normalised.

Readers (formc/reader/*) build these from the source files, whatever Rasa dialect they were
written in (1.x, 2.x, 3.x); every later stage (check, lower, runtime) sees only this model.
Each node keeps the Span it came from so any later finding can point at the user's file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from .errors import Span

# ---------------------------------------------------------------------------------- domain

SLOT_TYPES = ("text", "bool", "categorical", "float", "list", "any")
MAPPING_TYPES = ("from_entity", "from_intent", "from_trigger_intent", "from_text", "custom")

DEFAULT_INTENTS = ("restart", "back", "out_of_scope", "session_start", "nlu_fallback")
DEFAULT_ACTIONS = (
    "action_listen", "action_restart", "action_session_start", "action_default_fallback",
    "action_deactivate_loop", "action_revert_fallback_events", "action_default_ask_affirmation",
    "action_default_ask_rephrase", "action_two_stage_fallback", "action_unlikely_intent",
    "action_back", "action_extract_slots",
)
BUILTIN_SLOTS = ("requested_slot", "session_started_metadata")
LISTEN = "action_listen"
SESSION_START = "action_session_start"
TWO_STAGE = "action_two_stage_fallback"
LISTENING = "listening"            # the control state where the bot waits for the user
RASA_VERSION = "3.6.21"            # the Rasa release whose behaviour formc reproduces


@dataclass(frozen=True)
class MappingCondition:
    """One `conditions:` item of a slot mapping. active_loop None with has_active_loop=True means
    `active_loop: null` (only outside any loop); has_active_loop False means the key was absent."""

    active_loop: Optional[str] = None
    requested_slot: Optional[str] = None
    has_active_loop: bool = False


@dataclass(frozen=True)
class SlotMapping:
    type: str
    entity: Optional[str] = None
    role: Optional[str] = None
    group: Optional[str] = None
    intent: tuple[str, ...] = ()
    not_intent: tuple[str, ...] = ()
    value: Any = None
    action: Optional[str] = None
    conditions: tuple[MappingCondition, ...] = ()
    span: Optional[Span] = field(default=None, compare=False)


@dataclass(frozen=True)
class Slot:
    name: str
    type: str
    mappings: tuple[SlotMapping, ...] = ()
    initial_value: Any = None
    influence_conversation: bool = True
    values: tuple[str, ...] = ()          # categorical only
    min_value: float = 0.0                # float only
    max_value: float = 1.0
    span: Optional[Span] = field(default=None, compare=False)
    # formc extension (`formc: {max_reprompts: N, on_reprompt_limit: action}`), not in Rasa
    max_reprompts: Optional[int] = None
    on_reprompt_limit: Optional[str] = None
    reprompt_default: Any = None          # formc: the value taken after max_reprompts failures


@dataclass(frozen=True)
class Intent:
    name: str
    use_entities: Optional[tuple[str, ...]] = None   # None = all (`use_entities: true` / absent)
    ignore_entities: tuple[str, ...] = ()
    is_retrieval: bool = False
    span: Optional[Span] = field(default=None, compare=False)


@dataclass(frozen=True)
class Entity:
    name: str
    roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    influence_conversation: bool = True
    span: Optional[Span] = field(default=None, compare=False)


@dataclass(frozen=True)
class Form:
    name: str
    required_slots: tuple[str, ...] = ()
    ignored_intents: tuple[str, ...] = ()
    span: Optional[Span] = field(default=None, compare=False)
    # formc extension (`formc: {max_reprompts: N, on_reprompt_limit: action}`), not in Rasa
    max_reprompts: Optional[int] = None
    on_reprompt_limit: Optional[str] = None


@dataclass(frozen=True)
class Response:
    """A response and its variations; each variation is a JSON-able dict exactly as written
    (text, image, buttons, custom, channel, condition, ...)."""

    name: str
    variations: tuple[dict, ...]
    span: Optional[Span] = field(default=None, compare=False)


@dataclass(frozen=True)
class Action:
    name: str
    send_domain: bool = False
    span: Optional[Span] = field(default=None, compare=False)


@dataclass(frozen=True)
class SessionConfig:
    session_expiration_time: float = 60.0      # minutes; 0 disables expiry
    carry_over_slots_to_new_session: bool = True


@dataclass(frozen=True)
class Domain:
    intents: tuple[Intent, ...] = ()
    entities: tuple[Entity, ...] = ()
    slots: tuple[Slot, ...] = ()
    forms: tuple[Form, ...] = ()
    responses: tuple[Response, ...] = ()
    actions: tuple[Action, ...] = ()
    session_config: SessionConfig = SessionConfig()
    store_entities_as_slots: bool = True
    # bot texts of end-to-end story steps (`- bot: ...`): Rasa adds them to the domain as
    # actions that utter the text verbatim (§2.7 resolution step 4)
    e2e_actions: tuple[str, ...] = ()

    def intent_names(self) -> list[str]:
        return [i.name for i in self.intents]

    def slot(self, name: str) -> Optional[Slot]:
        return next((s for s in self.slots if s.name == name), None)

    def form(self, name: str) -> Optional[Form]:
        return next((f for f in self.forms if f.name == name), None)

    def response(self, name: str) -> Optional[Response]:
        return next((r for r in self.responses if r.name == name), None)


# ------------------------------------------------------------------------------- NLU data


@dataclass(frozen=True)
class EntityAnnotation:
    """An entity in an example, offsets into the plain (markup-free) text, end exclusive."""

    start: int
    end: int
    value: Any
    entity: str
    role: Optional[str] = None
    group: Optional[str] = None


@dataclass(frozen=True)
class NluExample:
    text: str                      # plain text, markup removed
    intent: str                    # full name, e.g. "faq/opening_hours" for retrieval intents
    entities: tuple[EntityAnnotation, ...] = ()
    span: Optional[Span] = field(default=None, compare=False)


@dataclass(frozen=True)
class SynonymDef:
    text: str                      # the surface form
    value: str                     # the canonical value
    span: Optional[Span] = field(default=None, compare=False)


@dataclass(frozen=True)
class RegexDef:
    name: str
    pattern: str
    span: Optional[Span] = field(default=None, compare=False)


@dataclass(frozen=True)
class LookupDef:
    name: str
    elements: tuple[str, ...]
    span: Optional[Span] = field(default=None, compare=False)


@dataclass(frozen=True)
class NluData:
    examples: tuple[NluExample, ...] = ()
    synonyms: tuple[SynonymDef, ...] = ()
    regexes: tuple[RegexDef, ...] = ()
    lookups: tuple[LookupDef, ...] = ()
    responses: tuple[Response, ...] = ()   # `responses:` found in NLU files (retrieval answers)

    def merge(self, other: "NluData") -> "NluData":
        return NluData(self.examples + other.examples, self.synonyms + other.synonyms,
                       self.regexes + other.regexes, self.lookups + other.lookups,
                       self.responses + other.responses)


# ------------------------------------------------------------------------- stories, rules

@dataclass(frozen=True)
class StepEntity:
    entity: str
    value: Any = ""
    role: Optional[str] = None
    group: Optional[str] = None


@dataclass(frozen=True)
class UserStep:
    intent: Optional[str]                      # None for text-only e2e steps
    entities: tuple[StepEntity, ...] = ()
    text: Optional[str] = None                 # `user:` text (plain, markup removed)
    text_entities: tuple[EntityAnnotation, ...] = ()   # annotations found in `user:` text
    span: Optional[Span] = field(default=None, compare=False)


@dataclass(frozen=True)
class ActionStep:
    name: str
    span: Optional[Span] = field(default=None, compare=False)


@dataclass(frozen=True)
class BotStep:
    text: str
    span: Optional[Span] = field(default=None, compare=False)


@dataclass(frozen=True)
class SlotStep:
    """`slot_was_set:` items as (name, value) pairs; value None = "must not be set" in rules."""

    slots: tuple[tuple[str, Any], ...]
    span: Optional[Span] = field(default=None, compare=False)


@dataclass(frozen=True)
class LoopStep:
    name: Optional[str]                        # None = `active_loop: null`
    span: Optional[Span] = field(default=None, compare=False)


@dataclass(frozen=True)
class CheckpointStep:
    name: str
    conditions: tuple[tuple[str, Any], ...] = ()
    span: Optional[Span] = field(default=None, compare=False)


@dataclass(frozen=True)
class OrStep:
    alternatives: tuple[Any, ...]              # UserStep / SlotStep
    span: Optional[Span] = field(default=None, compare=False)


Step = Any  # UserStep | ActionStep | BotStep | SlotStep | LoopStep | CheckpointStep | OrStep


@dataclass(frozen=True)
class Story:
    """A story, a rule or a test story, as written (before checkpoint/or expansion)."""

    kind: str                                  # "story" | "rule"
    name: str
    steps: tuple[Step, ...]
    condition: tuple[Step, ...] = ()           # rules: SlotStep / LoopStep items
    conversation_start: bool = False
    wait_for_user_input: bool = True
    is_test: bool = False
    span: Optional[Span] = field(default=None, compare=False)


# ---------------------------------------------------------------------------------- config

@dataclass(frozen=True)
class ComponentOptions:
    """One pipeline component's own options, kept whole for the NLU compiler."""

    name: str                                  # short class name
    options: str                               # the entry as sorted JSON
    span: Optional[Span] = None                # the entry
    key_spans: tuple[tuple[str, Span], ...] = ()   # each option's value


@dataclass(frozen=True)
class NluConfig:
    language: str = "en"
    pipeline: tuple[str, ...] = ()             # component names as written (short form)
    fallback_threshold: Optional[float] = None   # None = no FallbackClassifier
    ambiguity_threshold: float = 0.1
    regex_case_sensitive: bool = False
    use_regexes: bool = True
    use_lookup_tables: bool = True
    use_word_boundaries: Optional[bool] = None   # None = decide by language (off for CJK)
    synonyms_enabled: bool = True
    intent_classifier: str = "similarity"        # "keyword" for KeywordIntentClassifier pipelines
    keyword_case_sensitive: bool = True
    # --- added for formc/nlu (defaults reproduce Rasa's light pipeline; see formc/nlu/compile.py)
    intent_scorer: Optional[str] = None          # "logreg" | "tfidf" | "keyword"; None = from pipeline
    logreg_max_iter: int = 100                   # LogisticRegressionClassifier's max_iter / tol
    logreg_tol: float = 1e-4
    # (analyzer, min_n, max_n, lowercase, min_df, max_df) per CountVectorsFeaturizer
    count_vectors: tuple[tuple, ...] = (("char_wb", 1, 4, True, 1, 1.0),)
    regex_featurizer: bool = True                # RegexFeaturizer in the pipeline
    regex_featurizer_case_sensitive: bool = True
    # RegexFeaturizer's own `use_word_boundaries` (None = Rasa's default True; see nlu/compile.py)
    regex_featurizer_word_boundaries: Optional[bool] = None
    entity_match: str = "rasa"                   # "rasa" (Rasa-exact) | "longest"
    normalize: str = "nfkc"                      # "nfkc" | "none": text normalisation for matching
    cjk_word_boundaries: bool = False            # require \b next to CJK characters too
    ranking_length: int = 10
    logreg_max_cost: float = 4e7                 # examples' nnz x intents above which tfidf is used
    retrieval_selectors: tuple[str, ...] = ()    # ResponseSelector retrieval_intent keys ("" = default)
    # how the intent/response scorers tokenize CJK text: "run" (Rasa's WhitespaceTokenizer, a
    # CJK run is one word) | "char" (one token per CJK character); None = decide at compile
    # time (formc/nlu/compile.py cjk_token_mode: language, pipeline's tokenizer, the examples)
    cjk_tokens: Optional[str] = None
    # CRFEntityExtractor / DIETClassifier (entity part) options in pipeline order, each
    # ((key, value), ...) with "extractor" and "position"; see formc/nlu/crf.py
    entity_crfs: tuple = ()
    # the options of the components in reader/config.py WHOLE_COMPONENTS (JiebaTokenizer,
    # DucklingEntityExtractor), as written, with where they were written
    components: tuple[ComponentOptions, ...] = ()


@dataclass(frozen=True)
class PolicyConfig:
    core_fallback_threshold: float = 0.3
    core_fallback_action_name: str = "action_default_fallback"
    enable_fallback_prediction: bool = True
    max_history: Optional[int] = None          # MemoizationPolicy; None = unlimited
    has_rule_policy: bool = True
    has_memoization: bool = True
    augmented_memoization: bool = False
    restrict_rules: bool = True
    check_for_contradictions: bool = True     # RulePolicy: also decides which turns are rule-only
    ted: bool = False                         # TEDPolicy named: formc's story back-off stands in
    ted_max_history: Optional[int] = None     # its max_history (None: TED's default, 5)


@dataclass(frozen=True)
class Config:
    nlu: NluConfig = NluConfig()
    policies: PolicyConfig = PolicyConfig()
    assistant_id: Optional[str] = None
    span: Optional[Span] = field(default=None, compare=False)


@dataclass(frozen=True)
class ActionEndpoint:
    url: str
    token: Optional[str] = None
    token_name: str = "token"
    headers: tuple[tuple[str, str], ...] = ()
    enable_selective_domain: bool = False


@dataclass(frozen=True)
class Endpoints:
    action_endpoint: Optional[ActionEndpoint] = None
    tracker_store: Optional[dict] = None
    lock_store: Optional[dict] = None


@dataclass(frozen=True)
class Project:
    root: str
    domain: Domain
    nlu: NluData
    stories: tuple[Story, ...]                 # training stories and rules (kind tells which)
    tests: tuple[Story, ...]
    config: Config
    endpoints: Endpoints
    files: tuple[str, ...] = ()                # every source file read, relative to root
    digest: str = ""                           # sha256 over those files (path + bytes)

    @property
    def rules(self) -> tuple[Story, ...]:
        return tuple(s for s in self.stories if s.kind == "rule")

    @property
    def training_stories(self) -> tuple[Story, ...]:
        return tuple(s for s in self.stories if s.kind == "story")


# A bare slot name in `slot_was_set` ("the slot is set"); resolved against the slot type by the
# project reader: text -> "filled", list -> ["filled"], other types -> None (as Rasa does).
FILLED = "\x00filled"
