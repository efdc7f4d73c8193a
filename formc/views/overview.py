"""The overview of a big bot as DOT table nodes: the rules that leave the conversation where it
was, one table per state or form instead of one box each, and many stories as one table.

rasa-demo drawn with a box per rule and a node per story was 13,809 x 8,646 px; a table keeps
every rule's trigger, conditions and actions on one line, so the picture stays readable. With
coverage, never-taken rows are grey and taken ones show their count; the tables' rows are not
separate SVG elements, so the chat page cannot light up a rule inside a table (the states can).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from .graph import View, ViewEdge

# A state or form with fewer round-trip rules than this keeps one box per rule.
MIN_TABLE_RULES = 4
# Up to this many story nodes are drawn (one per story); more become one table.
MAX_STORY_NODES = 40
HEADER_FILL = "#e4e7eb"
UNCOVERED = "#a0a8b4"


@dataclass
class Table:
    id: str                        # the DOT node id
    title: str
    rows: list                     # [(transition id or "", [cells], edge)]
    cluster: str = ""              # "form F" when the table belongs in a form's cluster
    anchor: str = ""               # the state its rules leave and return to ("" = none drawn)


def html(text: str) -> str:
    """Text safe inside a Graphviz HTML-like label."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\n", "<BR/>"))


def rule_tables(view: View, is_round_trip: Callable[[ViewEdge], bool]) -> tuple[list, set]:
    """Round-trip rules grouped per state (per form for a form's states and its form-scoped
    rules) -> (tables, ids of the edges they hold). Small groups are left as boxes."""
    form_of = {s.id: s.form for s in view.states}
    groups: dict[tuple, list] = {}
    for edge in view.edges:
        if edge.scope:
            key = ("form " + edge.scope, "")
        elif is_round_trip(edge):
            form = form_of.get(edge.source, "")
            key = ("form " + form, "") if form else ("", edge.source)
        else:
            continue
        groups.setdefault(key, []).append(edge)
    tables, taken = [], set()
    for (cluster, anchor), edges in groups.items():
        if len(edges) < MIN_TABLE_RULES:
            continue
        where = f"while {cluster.split(' ', 1)[1]} is active" if cluster else f"at {anchor}"
        rows = [(e.id, [e.trigger or "(bot step)", _conditions(e),
                                        ", ".join(e.actions)], e) for e in edges]
        tables.append(Table("rules:" + (cluster or anchor), f"{len(edges)} rules {where}",
                            rows, cluster, anchor))
        taken |= {e.id for e in edges}
    return tables, taken


def _conditions(edge: ViewEdge) -> str:
    if not edge.scope:
        return edge.guard
    return ", ".join(p for p in edge.guard.split(", ") if p != f"in {edge.scope}")


def story_table(view: View) -> Optional[tuple]:
    """Many collapsed stories (formc.views.graph.collapse_stories) -> one table: a row per way
    into the stories (trigger, the story it enters, how many more stories follow from there).
    -> (the view without story nodes and their edges, the table, edges to draw to it), or None
    when the stories are few enough to draw."""
    story_ids = {s.id for s in view.states if s.kind == "story"}
    if len(story_ids) <= MAX_STORY_NODES:
        return None
    inner: dict[str, set] = {}
    for edge in view.edges:
        if edge.source in story_ids and edge.target in story_ids:
            inner.setdefault(edge.source, set()).add(edge.target)
    labels = {s.id: s.label.split("\n", 1)[0] for s in view.states}
    rows, outside = [], {}
    for edge in view.edges:
        if edge.source in story_ids and edge.target in story_ids:
            continue
        if edge.target in story_ids:
            more = len(_reachable(edge.target, inner)) - 1
            start = edge.trigger or edge.guard or "(no intent: after a bot step or on a slot)"
            rows.append(("", [start, labels[edge.target], f"+{more}" if more else ""], edge))
        if edge.source in story_ids or edge.target in story_ids:
            ends = tuple("stories" if end in story_ids else end for end in (edge.source, edge.target))
            outside.setdefault(ends, []).append(edge)
    rows.sort(key=lambda row: (row[1][0], row[1][1]))
    states = sum(int(s.label.rsplit("(", 1)[1].split(" ", 1)[0]) for s in view.states
                 if s.id in story_ids and "(" in s.label)
    table = Table("stories", f"{len(story_ids)} stories ({states} story states): where they start",
                  rows)
    kept = View(view.name, tuple(s for s in view.states if s.id not in story_ids),
                tuple(e for e in view.edges if e.source not in story_ids and e.target not in story_ids),
                view.initial)
    return kept, table, outside


def _reachable(start: str, inner: dict) -> set:
    seen, todo = {start}, [start]
    while todo:
        for nxt in inner.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def table_label(table: Table, counts: Optional[dict], heads: tuple) -> str:
    """The table as a Graphviz HTML-like label; never-taken rows grey, taken ones counted."""
    cols = len(heads)
    out = ['<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">',
           f'<TR><TD COLSPAN="{cols}" BGCOLOR="{HEADER_FILL}"><B>{html(table.title)}</B></TD></TR>',
           "<TR>" + "".join(f'<TD BGCOLOR="{HEADER_FILL}"><I>{html(h)}</I></TD>' for h in heads)
           + "</TR>"]
    for _tid, cells, edge in table.rows:
        count = None if counts is None or edge is None else max(
            (counts.get(t, 0) for t in edge.transition_ids), default=0)
        if count:
            cells = [*cells[:-1], f"{cells[-1]} ({count}x)"]
        tds = []
        for i, cell in enumerate(cells):
            text = html(cell) or " "
            if count == 0:
                text = f'<FONT COLOR="{UNCOVERED}">{text}</FONT>'
            tds.append(f'<TD ALIGN="LEFT">{text}</TD>')
        out.append("<TR>" + "".join(tds) + "</TR>")
    out.append("</TABLE>>")
    return "".join(out)
