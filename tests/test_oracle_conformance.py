"""Recorded Rasa 3.6.21 conversations (tests/oracles/<bot>/*.json) replayed through formc's Agent.

For every recorded conversation the stored bot copy (tests/oracles/<bot>/bot/) is compiled with
formc and each turn is compared three ways:
  (b) dialogue: formc is fed Rasa's recorded NLU parse, so only the dialogue runtime is tested:
      REST replies and the per-turn action/slot/loop trace must match exactly;
  (a) end to end: formc parses the text with its own NLU; the REST replies must match;
  (c) NLU: formc's parse of each text turn has Rasa's intent (the fallback decision included),
      entities and ranking confidences.
Responses with several variations are picked at random by both Rasa and formc, so a reply text
matches any variation of the same response (looked up in the bot's domain).
Recorded with bench/oracle_tools/record.py (see tests/oracles/README.md).
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import re
import shutil
import tempfile

import pytest

from formc.api import compile_project
from formc.model import ActionEndpoint
from formc.runtime.agent import Agent
from formc.runtime.responses import to_rest_messages

from support.runtime_helpers import CORPUS, compact, trace

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "oracles")
ACTION_MODULES = {"formbot": "formbot", "actions2": "actions2", "helpdesk": "helpdesk_assistant",
                  "actions3": "actions3", "actions4": "actions4", "actions5": "actions5"}   # bot -> tests.actions.<module> (rasa-sdk)



def _bot_roots() -> list[str]:
    """Recorded bots: our own (a `bot/` folder) or a corpus bot named in `corpus.txt`."""
    return sorted(os.path.dirname(p) for p in glob.glob(os.path.join(HERE, "*", "bot")) +
                  glob.glob(os.path.join(HERE, "*", "corpus.txt")))


def _records() -> list[str]:
    out = []
    for root in _bot_roots():
        out += sorted(f for f in glob.glob(os.path.join(root, "*.json"))
                      if os.path.basename(f) not in ("index.json", "conversations.json"))
    return out


def _bot_dir(bot: str, tmp_root: str) -> str:
    """Our own bots are stored whole. A corpus bot is read in place from ../shared/corpus and
    assembled in a temporary folder with the light config it was recorded with (and any extra
    data file of ours), so no corpus file is ever copied into the repository."""
    root = os.path.join(HERE, bot)
    if os.path.isdir(os.path.join(root, "bot")):
        return os.path.join(root, "bot")
    with open(os.path.join(root, "corpus.txt")) as handle:
        source = os.path.join(CORPUS, handle.read().strip())
    target = os.path.join(tmp_root, bot)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("config.yml", "tests", "actions"))
    shutil.copy(os.path.join(root, "config.yml"), os.path.join(target, "config.yml"))
    extra = os.path.join(root, "extra")
    if os.path.isdir(extra):
        shutil.copytree(extra, target, dirs_exist_ok=True)
    return target


RECORDS = _records()
IDS = [f"{os.path.basename(os.path.dirname(f))}/{os.path.basename(f)[:-5]}" for f in RECORDS]

# --------------------------------------------------------------------------------- known gaps
# (a) only: turns where formc's own NLU cannot give Rasa's parse. Keyed "bot/conversation" ->
# reason. Every entry must be an NLU difference (the same conversation passes (b)).
NLU_XFAIL: dict[str, str] = {
    # (fixed: no ResponseSelector -> no sub-intent answer; blank text classified unless the
    # RegexFeaturizer has patterns; CRFEntityExtractor roles and duplicates (features/07, 08).
    # Keep new NLU-only differences here with their reason.)
}

# (b) dialogue differences found by these recordings, kept visible as strict xfails until fixed
# (they are bugs in formc's runtime, not in the recordings). They fail (a) as well.
DIALOGUE_BUGS: dict[str, str] = {
    # (fixed: formbot/04_stop_continue, a loop re-run after an unhappy path is not a hidden
    # happy-path turn for memoization; see StoryMemo._loop_rerun)
}


# ------------------------------------------------------------------------------------ fixtures
class _Bots:
    """Compiled machines and action servers, one per bot, made on first use."""

    def __init__(self) -> None:
        self.machines: dict = {}
        self.variants: dict = {}
        self.clients: dict = {}
        self.stops: list = []
        self.tmp = None

    def machine(self, bot: str):
        if bot not in self.machines:
            if self.tmp is None:
                self.tmp = tempfile.mkdtemp(prefix="formc-oracle-bots-")
            machine, diagnostics = compile_project(_bot_dir(bot, self.tmp))
            assert machine is not None, [d.render() for d in diagnostics if d.is_error]
            self.machines[bot] = machine
            self.variants[bot] = _variant_patterns(machine.domain)
        return self.machines[bot]

    def agent(self, bot: str) -> Agent:
        machine = self.machine(bot)
        client = None
        if bot in ACTION_MODULES:
            if bot not in self.clients:
                from support.action_server import start_action_server
                from formc.runtime.action_client import ActionClient
                url, stop = start_action_server(ACTION_MODULES[bot])
                self.stops.append(stop)
                self.clients[bot] = ActionClient(ActionEndpoint(url=url))
            client = self.clients[bot]
        return Agent(machine, action_client=client, seed=0)

    def close(self) -> None:
        for client in self.clients.values():
            asyncio.run(client.close())
        for stop in self.stops:
            stop()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def bots():
    registry = _Bots()
    yield registry
    registry.close()


# ------------------------------------------------------------------------- reply comparison
def _variant_patterns(domain) -> list[tuple[str, list]]:
    """(response name, [regex of each text variation]) for responses with several variations:
    a {slot} placeholder matches anything."""
    out = []
    for response in domain.responses:
        texts = [v["text"] for v in response.variations if isinstance(v.get("text"), str)]
        if len(texts) > 1:
            pats = [re.compile("^" + re.sub(r"\\\{[^}]*\\\}", ".*", re.escape(t.strip())) + "$", re.S)
                    for t in texts]
            out.append((response.name, pats))
    return out


def _same_text(a, b, variants) -> bool:
    if a == b:
        return True
    if not isinstance(a, str) or not isinstance(b, str):
        return False
    for _, pats in variants:
        if any(p.match(a) for p in pats) and any(p.match(b) for p in pats):
            return True
    return False


def _normal(reply: dict) -> dict:
    return {k: v for k, v in reply.items() if k != "recipient_id"}


def _replies_match(want: list, got: list, variants) -> bool:
    if len(want) != len(got):
        return False
    for w, g in zip(want, got):
        w, g = dict(w), dict(g)
        if not _same_text(w.pop("text", None), g.pop("text", None), variants):
            return False
        if w != g:
            return False
    return True


def _read_json(path: str):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


async def _then_close(work, agent: Agent) -> None:
    """Await work, then close the agent's action client in the same event loop: its HTTP session
    belongs to that loop (the next asyncio.run opens a fresh one)."""
    try:
        await work
    finally:
        if agent.action_client is not None:
            await agent.action_client.close()


def _rest(messages: list) -> list:
    return [_normal(r) for m in messages for r in to_rest_messages(m, "oracle")]


def _expand(record: dict, turn: dict) -> str:
    if turn["user"] == "__LONG__":
        index = _read_json(os.path.join(HERE, record["bot"], "index.json"))
        return index["long_message"]
    return turn["user"]


def _replay(bots: _Bots, record: dict, recorded_nlu: bool) -> list[str]:
    """Run the conversation; -> human-readable differences (empty when formc matches Rasa)."""
    agent = bots.agent(record["bot"])
    variants = bots.variants[record["bot"]]
    diffs: list[str] = []
    session = None
    now = 1_700_000_000.0

    async def run() -> None:
        nonlocal session, now
        for i, turn in enumerate(record["turns"]):
            now += 0.5 + turn.get("wait", 0)   # about the recorder's pace, plus its waits (expiry)
            text = _expand(record, turn)
            parse = None
            if recorded_nlu and turn["nlu"] is not None:
                parse = dict(turn["nlu"], text=text)
            result = await agent.handle_message(session, record["id"], text, now=now, parse_data=parse)
            session = result.session
            got = _rest(result.messages)
            label = f"turn {i} {turn['user'][:40]!r}"
            if not _replies_match(turn["replies"], got, variants):
                diffs.append(f"{label} replies\n   rasa : {turn['replies']}\n   formc: {got}")
            if recorded_nlu:
                seq = [compact(e) for e in result.events]
                if i == 0 and seq[:1] == ["action:action_session_start"]:   # prelude: up to the user
                    cut = next((j for j, c in enumerate(seq) if c.startswith("user:")), len(seq))
                    if trace(seq[:cut]) != trace(record["prelude"]):
                        diffs.append(f"{label} prelude {record['prelude']} vs {seq[:cut]}")
                    seq = seq[cut:]
                if trace(seq) != trace(turn["sequence"]):
                    diffs.append(f"{label} trace\n   rasa : {trace(turn['sequence'])}\n"
                                 f"   formc: {trace(seq)}")
        if recorded_nlu:
            final = {k: v for k, v in (record.get("final_slots") or {}).items()}
            got_slots = {k: session.slots.get(k) for k in final}
            if got_slots != final:
                diffs.append(f"final slots\n   rasa : {final}\n   formc: {got_slots}")
            loop = (record.get("final_active_loop") or {}).get("name")
            if loop != session.active_loop:
                diffs.append(f"final active loop: rasa {loop!r}, formc {session.active_loop!r}")

    asyncio.run(_then_close(run(), agent))
    return diffs


@pytest.mark.parametrize("path", RECORDS, ids=IDS)
def test_dialogue_matches_rasa(bots, path, request):
    """(b) Rasa's recorded NLU parse in, Rasa's replies and action/slot/loop trace out."""
    record = _read_json(path)
    key = f"{record['bot']}/{record['id']}"
    if key in DIALOGUE_BUGS:
        request.applymarker(pytest.mark.xfail(reason=DIALOGUE_BUGS[key], strict=True))
    diffs = _replay(bots, record, recorded_nlu=True)
    assert not diffs, "\n".join(diffs)


@pytest.mark.parametrize("path", RECORDS, ids=IDS)
def test_end_to_end_matches_rasa(bots, path, request):
    """(a) formc's own NLU: Rasa's replies out."""
    record = _read_json(path)
    key = f"{record['bot']}/{record['id']}"
    reason = NLU_XFAIL.get(key) or DIALOGUE_BUGS.get(key)
    if reason:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    diffs = _replay(bots, record, recorded_nlu=False)
    assert not diffs, "\n".join(diffs)


REPRODUCED = {"RegexEntityExtractor", "RegexMessageHandler", "CRFEntityExtractor", None}
# Where Rasa's L-BFGS stops at max_iter before converging (formbot: all 100 iterations), its
# path and formc's drift apart by up to ~1e-3; converged fits agree to ~1e-8.
CONFIDENCE_TOLERANCE = 0.005


def _nlu_diffs(bots: _Bots, record: dict) -> list[str]:
    """formc's parse of each text turn vs Rasa's: intent, entities, every ranking confidence."""
    nlu = bots.machine(record["bot"]).nlu
    diffs = []
    for i, turn in enumerate(record["turns"]):
        rasa = turn.get("nlu")
        text = _expand(record, turn)
        if not rasa or not text.strip():
            continue
        got = nlu.parse(text)
        label = f"turn {i} {turn['user'][:40]!r}"
        if (got.get("intent") or {}).get("name") != (rasa.get("intent") or {}).get("name"):
            diffs.append(f"{label} intent: rasa {rasa.get('intent')} formc {got.get('intent')}")
            continue
        key = lambda e: (e.get("entity"), str(e.get("value")), e.get("start"), e.get("end"),  # noqa: E731
                         str(e.get("role")), str(e.get("group")))
        theirs = [e for e in rasa.get("entities") or [] if e.get("extractor") in REPRODUCED]
        if sorted(map(key, got.get("entities") or [])) != sorted(map(key, theirs)):
            diffs.append(f"{label} entities: rasa {rasa.get('entities')} formc {got.get('entities')}")
        ours = {r["name"]: r["confidence"] for r in got.get("intent_ranking") or []}
        for r in rasa.get("intent_ranking") or []:
            if abs(ours.get(r["name"], -1.0) - r["confidence"]) > CONFIDENCE_TOLERANCE:
                diffs.append(f"{label} confidence of {r['name']}: rasa {r['confidence']:.6f} "
                             f"formc {ours.get(r['name'])}")
                break
    return diffs


@pytest.mark.parametrize("path", RECORDS, ids=IDS)
def test_nlu_parse_matches_rasa(bots, path):
    """(c) formc's parse of every recorded text turn: Rasa's intent, entities and confidences
    (every intent of the ranking within CONFIDENCE_TOLERANCE)."""
    record = _read_json(path)
    diffs = _nlu_diffs(bots, record)
    assert not diffs, "\n".join(diffs)
