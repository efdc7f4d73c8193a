"""POST /model/test/intents: labelled NLU examples in the body -> Rasa's NLU evaluation report.

The body is Rasa NLU training data: YAML (Content-Type application/x-yaml, the `nlu:` section)
or Rasa's JSON format ({"rasa_nlu_data": {"common_examples": [...]}}), as Rasa 3.6 reads it
(Markdown training data was removed in Rasa 3.0). Bounded: the body by --max-body and
FORMC_TEST_MAX_BYTES, the examples by FORMC_TEST_MAX_EXAMPLES, the time by
FORMC_TEST_SECONDS; the examples are parsed in slices so other requests keep being served.
"""
from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from ..model import EntityAnnotation, NluExample
from ..nlu.rasa_eval import Evaluation
from .errors import ApiError, bad_request, json_type, parse_json_object

MAX_BYTES = int(os.environ.get("FORMC_TEST_MAX_BYTES", 4 * 1024 * 1024))
MAX_EXAMPLES = int(os.environ.get("FORMC_TEST_MAX_EXAMPLES", 20_000))
MAX_SECONDS = float(os.environ.get("FORMC_TEST_SECONDS", 120))
YAML_TYPE = "application/x-yaml"
DATA_HELP = "https://rasa.com/docs/rasa/training-data-format"
_SLICE = 25          # examples parsed between two yields to the event loop
EMPTY = "You must provide some nlu data in the request body in order to evaluate your model."
JSON_EXAMPLE = '{"rasa_nlu_data": {"common_examples": [{"text": "hi", "intent": "greet"}]}}'


def read_examples(body: bytes, content_type: str) -> list[NluExample]:
    """The body's labelled examples, or an ApiError (400/413) saying what is wrong."""
    if not body or not body.strip():
        raise bad_request(EMPTY)
    if len(body) > MAX_BYTES:
        raise ApiError(413, "PayloadTooLarge", f"The test data is {len(body):,} bytes; the server "
                       f"evaluates at most {MAX_BYTES:,} bytes (FORMC_TEST_MAX_BYTES).")
    kind = content_type.split(";")[0].strip().lower()
    if kind == YAML_TYPE:
        examples = _yaml_examples(body)
    elif "markdown" in kind or body.lstrip().startswith(b"## intent:"):
        raise bad_request(f"Markdown training data is not read (Rasa 3.0 removed it); send YAML "
                          f"as {YAML_TYPE} or Rasa's JSON format like {JSON_EXAMPLE}.")
    else:
        examples = _json_examples(parse_json_object(body, JSON_EXAMPLE))
    if len(examples) > MAX_EXAMPLES:
        raise ApiError(413, "PayloadTooLarge", f"The test data has {len(examples):,} examples; the "
                       f"server evaluates at most {MAX_EXAMPLES:,} (FORMC_TEST_MAX_EXAMPLES).")
    return examples


def _yaml_examples(body: bytes) -> list[NluExample]:
    from ..nlu.reader import read_nlu_yaml
    from ..yaml_loader import decode, load_yaml

    def refuse(problems) -> ApiError:
        said = "; ".join(f"{d.span}: {d.message}" if d.span else d.message for d in problems)
        return ApiError(400, "BadRequest", "The request body does not contain valid YAML. "
                        f"Error: {said}", help=DATA_HELP)

    text, problems = decode(body, "<request body>")
    if text is None:
        raise refuse(problems)
    doc, problems = load_yaml(text, "<request body>", expand_env=False)
    if any(d.is_error for d in problems):
        raise refuse([d for d in problems if d.is_error])
    if doc is None:
        return []
    if not isinstance(doc, dict):
        raise ApiError(400, "BadRequest", "The request body does not contain valid YAML. Error: "
                       f"the document is {json_type(doc)}; expected a mapping with an `nlu:` "
                       "list.", help=DATA_HELP)
    data, problems = read_nlu_yaml(doc.get("nlu"), "<request body>")
    if any(d.is_error for d in problems):
        raise refuse([d for d in problems if d.is_error])
    return list(data.examples)


def _json_examples(body: dict) -> list[NluExample]:
    data = body.get("rasa_nlu_data")
    if not isinstance(data, dict):
        raise bad_request(f"The request body has no `rasa_nlu_data` object; expected Rasa NLU "
                          f"training data like {JSON_EXAMPLE} (or YAML sent as {YAML_TYPE}).",
                          parameter="rasa_nlu_data", **{"in": "body"})
    out = []
    for key in ("common_examples", "intent_examples", "entity_examples"):
        items = data.get(key, [])
        if not isinstance(items, list):
            raise bad_request(f"rasa_nlu_data.{key} is {json_type(items)}; expected a list.")
        out += [_json_example(item, f"rasa_nlu_data.{key}[{i}]") for i, item in enumerate(items)
                if len(out) + i <= MAX_EXAMPLES]   # the count is refused by the caller
    return out


def _json_example(item: Any, where: str) -> NluExample:
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise bad_request(f"{where} must be an object with a string `text`.")
    intent = item.get("intent") or ""
    if not isinstance(intent, str):
        raise bad_request(f"{where}.intent is {json_type(intent)}; expected a string.")
    entities = item.get("entities") or []
    if not isinstance(entities, list):
        raise bad_request(f"{where}.entities is {json_type(entities)}; expected a list.")
    return NluExample(item["text"], intent,
                      tuple(_annotation(e, item["text"], f"{where}.entities[{j}]")
                            for j, e in enumerate(entities)))


def _annotation(e: Any, text: str, where: str) -> EntityAnnotation:
    ok = (isinstance(e, dict) and isinstance(e.get("entity"), str)
          and all(isinstance(e.get(k), int) and not isinstance(e.get(k), bool)
                  for k in ("start", "end"))
          and 0 <= e["start"] <= e["end"] <= len(text))
    if not ok:
        raise bad_request(f"{where} must be an object with a string `entity` and integer `start` "
                          f"and `end` offsets inside the example's text.")
    value = e.get("value", text[e["start"]:e["end"]])
    role, group = e.get("role"), e.get("group")
    return EntityAnnotation(e["start"], e["end"], value, e["entity"],
                            None if role is None else str(role), None if group is None else str(group))


async def evaluate_request(nlu: Any, examples: list[NluExample]) -> dict:
    """Parse every example with `nlu` (in slices, within MAX_SECONDS) -> the report."""
    ev = Evaluation(examples, getattr(nlu, "text_tokens", None))
    deadline = time.monotonic() + MAX_SECONDS
    for start in range(0, len(examples), _SLICE):
        for ex in examples[start:start + _SLICE]:
            ev.add(ex, nlu.parse(ex.text))
        if time.monotonic() > deadline:
            raise ApiError(413, "PayloadTooLarge", f"Evaluating the test data took longer than "
                           f"{MAX_SECONDS:g} s (FORMC_TEST_SECONDS); send fewer examples.")
        await asyncio.sleep(0)   # let other requests in between two slices
    return ev.report()
