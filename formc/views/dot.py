"""`formc graph`: a compiled machine -> Graphviz DOT text (deterministic); svg/png through `dot`.

Forms are clusters, control states are nodes (a big bot's story states: one node per story
unless `--stories`); rules conditioned on an active form are step boxes inside its cluster. Transitions between two states are labelled edges
(trigger, [guard], / actions). A rule that leaves the conversation where it was (most rules:
listening -> listening) is drawn as a small step box on a round trip, so a bot with dozens of
rules stays readable instead of growing a fan of self-loops. With coverage, never-taken
transitions are grey and dashed, and taken ones show their count. A big bot's overview (more
than 30 story states, `--stories` not given) also draws each state's or form's round-trip rules
as one table and more than 40 stories as one table of where they start (formc.views.overview).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Optional

from dataclasses import replace

from .graph import (View, ViewEdge, build_view, collapse_stories, dom_id, edge_label, filter_view,
                    find_state)
from .overview import rule_tables, story_table, table_label

FORMATS = ("dot", "svg", "png")
FORM_FILL = "#eef4ff"
FALLBACK_FILL = "#fff4e5"
STORY_FILL = "#eefaf0"
UNCOVERED = "#a0a8b4"
# Above this many story states a drawing shows one node per story (rasa-demo: 374 story
# states made a 14,085 x 10,474 px picture); `formc graph --stories` draws them all.
OVERVIEW_STORY_STATES = 30


def quote(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(**attrs) -> str:
    parts = [f"{k}={quote(str(v))}" for k, v in attrs.items() if v is not None and v != ""]
    return "[" + ", ".join(parts) + "]"


def coverage_counts(data: dict) -> dict[str, int]:
    """Coverage JSON -> {transition id: times taken}. Accepts what `formc test --coverage --json`
    writes ({"transitions_taken": [ids], "transitions_never_taken": [ids], ...}), the minimal
    {"transitions": {id: count}} or {"transitions": [ids]}, or any of them under "coverage"."""
    if isinstance(data, dict) and "coverage" in data and "transitions" not in data:
        data = data["coverage"]
    if isinstance(data, dict) and "transitions_taken" in data:
        counts = {str(t): 0 for t in data.get("transitions_never_taken") or ()}
        counts.update({str(t): 1 for t in data.get("transitions_taken") or ()})
        return counts
    table = data.get("transitions", {}) if isinstance(data, dict) else {}
    if isinstance(table, list):
        counts: dict[str, int] = {}
        for item in table:
            tid = item.get("id") if isinstance(item, dict) else item
            n = item.get("count", 1) if isinstance(item, dict) else 1
            if isinstance(tid, str):
                counts[tid] = counts.get(tid, 0) + int(n or 0)
        return counts
    return {str(k): int(v or 0) for k, v in table.items()} if isinstance(table, dict) else {}


def _edge_count(edge: ViewEdge, counts: Optional[dict]) -> Optional[int]:
    if counts is None:
        return None
    return max((counts.get(t, 0) for t in edge.transition_ids), default=0)


def _is_step_box(edge: ViewEdge) -> bool:
    """Round trips become step boxes, except a form's "nothing extracted" loop (one per state)."""
    return edge.source == edge.target and not (edge.kind == "form" and not edge.actions)


def to_dot(view: View, coverage: Optional[dict] = None, overview: bool = False) -> str:
    """The view as DOT text; same view -> byte-identical text. `overview`: a big bot's many
    stories and round-trip rules as table nodes (formc.views.overview)."""
    tables: list = []
    taken: set = set()
    story_edges: dict = {}
    if overview:
        collapsed = story_table(view)
        if collapsed is not None:
            view, stories, story_edges = collapsed
            tables.append(stories)
        rules, taken = rule_tables(view, _is_step_box)
        tables += rules
    out = [f"digraph {quote(view.name or 'formc')} {{",
           "  " + "graph " + _attrs(rankdir="LR", fontname="Helvetica", fontsize="12",
                                   nodesep="0.2", ranksep="0.45", labelloc="t",
                                   label=f"{view.name} (formc)" if view.name else "formc"),
           "  node [fontname=\"Helvetica\", fontsize=\"10\"];",
           "  edge [fontname=\"Helvetica\", fontsize=\"9\"];"]
    top, clusters = _state_lines(view)
    edges = _table_lines(tables, story_edges, coverage, top, clusters)
    for edge in view.edges:
        if edge.id not in taken:
            edges += _edge_lines(edge, view, coverage, top, clusters, overview)
    out.extend(top)
    for name in clusters:
        fill = {"fallback": FALLBACK_FILL, "stories": STORY_FILL}.get(name, FORM_FILL)
        out.append(f"  subgraph {quote('cluster_' + dom_id(name))} {{")
        out.append("    graph " + _attrs(label=name, style="rounded,filled", fillcolor=fill,
                                          color="#9fb3c8"))
        out.extend("  " + line for line in clusters[name])
        out.append("  }")
    out.extend(edges)
    out.append("}")
    return "\n".join(out) + "\n"


def _state_lines(view: View) -> tuple[list, dict]:
    """Each state's node line: (top-level lines, {cluster name: lines})."""
    clusters: dict[str, list[str]] = {}
    top: list[str] = []
    for state in view.states:
        line = "  " + quote(state.id) + " " + _state_attrs(state, view)
        if state.kind == "form":
            clusters.setdefault(f"form {state.form}", []).append(line)
        elif state.kind == "fallback":
            clusters.setdefault("fallback", []).append(line)
        elif state.kind == "story":
            clusters.setdefault("stories", []).append(line)
        else:
            top.append(line)
    return top, clusters


def _edge_lines(edge: ViewEdge, view: View, coverage: Optional[dict], top: list,
                clusters: dict, overview: bool = False) -> list[str]:
    """One view edge: an arrow, or a step box (into `top` or its form's cluster) and its
    arrows; -> the arrow lines. In the overview a form's steps from slot to slot are drawn
    unlabelled (the chain of its states says it; the tooltip keeps the label)."""
    count = _edge_count(edge, coverage)
    style = _coverage_style(count)
    label = edge_label(edge) + (f"\n({count}x)" if count else "")
    quiet = edge.kind == "overview" or (overview and edge.kind == "form" and _inside_form(edge, view))
    if edge.scope:
        # a rule of the whole form: a step box inside the form's cluster, no arrows to one
        # state (it applies while the form asks for any of its slots)
        label = edge_label(_any_slot(edge)) + (f"\n({count}x)" if count else "")
        clusters.setdefault(f"form {edge.scope}", []).append(
            "  " + quote("step:" + edge.id) + " " + _attrs(
                id="t_" + dom_id(edge.id), shape="box", style="rounded" + style.get("dash", ""),
                label=label, color=style.get("color"), fontcolor=style.get("color"),
                tooltip=edge.why, fontsize="9"))
        return []
    if not _is_step_box(edge):
        return [f"  {quote(edge.source)} -> {quote(edge.target)} " + _attrs(
            id="t_" + dom_id(edge.id), label="" if quiet else label,
            tooltip=label if quiet else edge.why,
            color=style.get("color"), fontcolor=style.get("color"),
            style=style.get("dash", "").lstrip(","))]
    box = "step:" + edge.id
    line = "  " + quote(box) + " " + _attrs(
        id="t_" + dom_id(edge.id), shape="box", style="rounded" + style.get("dash", ""),
        label=label, color=style.get("color"), fontcolor=style.get("color"),
        tooltip=edge.why, fontsize="9")
    form_of = {s.id: s.form for s in view.states}
    cluster = form_of.get(edge.source) or (
        edge.form if any(s.form == edge.form for s in view.states) else "")
    if cluster:
        clusters.setdefault(f"form {cluster}", []).append(line)
    else:
        top.append(line)
    return [f"  {quote(edge.source)} -> {quote(box)} "
            + _attrs(arrowhead="none", color=style.get("color") or "#7b8794",
                     style=style.get("dash", "").lstrip(",")),
            f"  {quote(box)} -> {quote(edge.target)} "
            + _attrs(color=style.get("color") or "#7b8794", style=style.get("dash", "").lstrip(","))]


RULE_HEADS = ("user says", "when", "bot runs")
STORY_HEADS = ("user says", "story", "stories after it")


def _table_lines(tables: list, story_edges: dict, coverage: Optional[dict], top: list,
                 clusters: dict) -> list[str]:
    """Table nodes into `top` or their form's cluster; -> the edges that link them."""
    edges: list[str] = []
    for table in tables:
        heads = STORY_HEADS if table.id == "stories" else RULE_HEADS
        line = (f"  {quote(table.id)} [id={quote('table_' + dom_id(table.id))}, shape=\"plain\", "
                f"fontsize=\"9\", label={table_label(table, coverage, heads)}];")
        if table.cluster:
            clusters.setdefault(table.cluster, []).append(line)
        else:
            top.append(line)
        if table.anchor:
            edges.append(f"  {quote(table.anchor)} -> {quote(table.id)} "
                         + _attrs(arrowhead="none", color="#7b8794"))
            edges.append(f"  {quote(table.id)} -> {quote(table.anchor)} " + _attrs(color="#7b8794"))
    for (source, target), parts in story_edges.items():
        if source == target:
            continue
        edges.append(f"  {quote(source)} -> {quote(target)} " + _attrs(
            tooltip=f"{len(parts)} steps", color="#5c8a64"))
    return edges


def _inside_form(edge: ViewEdge, view: View) -> bool:
    forms = {s.id: s.form for s in view.states if s.form}
    return bool(forms.get(edge.source)) and forms.get(edge.source) == forms.get(edge.target)


def _any_slot(edge: ViewEdge) -> ViewEdge:
    parts = ["any slot" if p == f"in {edge.scope}" else p for p in edge.guard.split(", ")]
    return replace(edge, guard=", ".join(parts))


def _state_attrs(state, view: View) -> str:
    shape = "doublecircle" if state.id == view.initial else (
        "ellipse" if state.kind in ("form", "story") else
        "octagon" if state.kind == "fallback" else "circle")
    return _attrs(id="state_" + dom_id(state.id), label=state.label, shape=shape,
                  style="filled", fillcolor="#ffffff", tooltip=state.id)


def _coverage_style(count: Optional[int]) -> dict:
    if count is None or count > 0:
        return {}
    return {"color": UNCOVERED, "dash": ",dashed"}


# ------------------------------------------------------------------------------ rendering

def dot_available() -> Optional[str]:
    return shutil.which("dot")


def render(dot_text: str, fmt: str) -> bytes:
    """DOT -> svg/png bytes with Graphviz; raises RuntimeError when dot is missing or fails."""
    exe = dot_available()
    if exe is None:
        raise RuntimeError("Graphviz 'dot' is not installed, so svg/png cannot be drawn; install "
                           "it (Debian: apt-get install graphviz) or write a .dot file instead")
    proc = subprocess.run([exe, f"-T{fmt}"], input=dot_text.encode("utf-8"),
                          capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError("dot failed: " + proc.stderr.decode("utf-8", "replace").strip())
    return proc.stdout


def graph_dot(machine, form: Optional[str] = None, state: Optional[str] = None,
              coverage: Optional[dict] = None, stories: bool = False) -> str:
    """A machine -> DOT text, optionally narrowed to one form or one state's neighbourhood.
    A big bot's story states are collapsed into one node per story unless `stories`."""
    view = build_view(machine)
    story_states = sum(1 for s in view.states if s.kind == "story")
    overview = story_states > OVERVIEW_STORY_STATES and not stories
    if overview and not (state and state.startswith("story:")):
        view = collapse_stories(view)
    if form and not any(s.form == form for s in view.states):
        forms = sorted({s.form for s in view.states if s.form})
        raise ValueError(f"no form '{form}' in the machine" +
                         (f"; forms: {', '.join(forms)}" if forms else " (it has no forms)"))
    if state:
        found = find_state(view, state)
        if found is None:
            raise ValueError(f"no state '{state}' in the machine; states: "
                             + ", ".join(s.id for s in view.states))
        state = found
    # the tables only in the whole overview: asked for one form or state, draw every step
    return to_dot(filter_view(view, form, state), coverage, overview and not form and not state)


def draw(machine, fmt: str, form: Optional[str] = None, state: Optional[str] = None,
         coverage_file: Optional[str] = None, stories: bool = False) -> bytes:
    """`formc graph`: the machine as the bytes of a .dot, .svg or .png file; raises ValueError
    with a message for the user (unknown format, no Graphviz, unknown state, bad coverage file)."""
    if fmt not in FORMATS:
        raise ValueError(f"cannot draw a '.{fmt}' file; use a .dot, .svg or .png file")
    if fmt != "dot" and dot_available() is None:
        raise ValueError(f"Graphviz 'dot' is not installed, so a .{fmt} file cannot be drawn; "
                         "install it (Debian: apt-get install graphviz) or write a .dot file instead")
    coverage = None
    if coverage_file:
        try:
            with open(coverage_file, encoding="utf-8") as handle:
                coverage = coverage_counts(json.load(handle))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read coverage file {coverage_file}: {exc}") from None
    text = graph_dot(machine, form, state, coverage, stories)
    if fmt == "dot":
        return text.encode("utf-8")
    try:
        return render(text, fmt)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        raise ValueError(str(exc)) from None
