"""The command line: the only place that prints results and diagnostics and sets exit codes
(0 ok, 1 errors, 2 usage); every command calls formc.api (or a view) and renders what it returns."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from . import __version__
from .diagnostics import render_text
from .errors import FormcError


def use_colour(stream=None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    stream = stream or sys.stderr
    return (hasattr(stream, "isatty") and stream.isatty() and "NO_COLOR" not in os.environ
            and os.environ.get("TERM") != "dumb")


def _print_diagnostics(diagnostics, show_warnings: bool = True) -> None:
    shown = [d for d in diagnostics if show_warnings or d.is_error]
    if shown:
        print(render_text(shown, color=use_colour(sys.stderr)), file=sys.stderr)


class _Progress:
    """A 'compiling ...' line on stderr when a compile is still running after `delay` seconds
    (quick compiles stay silent); on a terminal the line is erased when the work ends."""

    def __init__(self, label: str, delay: float = 1.0):
        self.label, self.delay = label, delay
        self.timer = None
        self.shown = False

    def _show(self) -> None:
        self.shown = True
        end = "" if use_colour(sys.stderr) or sys.stderr.isatty() else "\n"
        print(f"{self.label} ...", end=end, file=sys.stderr, flush=True)

    def __enter__(self):
        import threading

        self.timer = threading.Timer(self.delay, self._show)
        self.timer.daemon = True
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.cancel()
        if self.shown and sys.stderr.isatty():
            print("\r\033[K", end="", file=sys.stderr, flush=True)


def cmd_compile(args) -> int:
    from .api import compile_project
    from .artifact import dump_machine

    started = time.perf_counter()
    with _Progress(f"compiling {args.bot_dir} (reading, checking, training the NLU)"):
        machine, diagnostics = compile_project(args.bot_dir)
    errors = [d for d in diagnostics if d.is_error]
    warnings = [d for d in diagnostics if d.severity == "warning"]
    _print_diagnostics(errors + (warnings if args.warnings else []))
    if warnings and not args.warnings and not args.quiet:
        print(f"{len(warnings)} warning(s): run formc validate {args.bot_dir} to see them",
              file=sys.stderr)
    if machine is None:
        print(f"formc: {len(errors)} error(s); no machine written", file=sys.stderr)
        return 1
    output = args.output or os.path.join(args.bot_dir.rstrip("/") + ".fsm")
    size = dump_machine(machine, output, root=args.bot_dir)
    elapsed = (time.perf_counter() - started) * 1000
    s = machine.summary()
    print(f"compiled {args.bot_dir} -> {output}: {s['states']} states, {s['transitions']} "
          f"transitions, {s['intents']} intents, {s['slots']} slots, {s['forms']} forms, "
          f"{size:,} bytes in {elapsed:.0f} ms")
    return 0


def cmd_inspect(args) -> int:
    from .api import load
    from .views.text import format_machine

    print(format_machine(load(args.machine)))
    return 0


def cmd_validate(args) -> int:
    from .api import validate_project
    from .diagnostics import render_github, render_json

    started = time.perf_counter()
    diagnostics = validate_project(args.bot_dir)
    elapsed = (time.perf_counter() - started) * 1000
    failing = {"error", "warning"} if args.strict else {"error"}
    code = 1 if any(d.severity in failing for d in diagnostics) else 0
    if args.format == "json":
        print(render_json(diagnostics))
    elif args.format == "github":
        if diagnostics:
            print(render_github(diagnostics))
    else:
        if diagnostics:
            print(render_text(diagnostics, color=use_colour(sys.stdout)))
            print()
        counts = {s: sum(1 for d in diagnostics if d.severity == s) for s in ("error", "warning", "info")}
        print(f"formc validate {args.bot_dir}: {'failed' if code else 'passed'}: "
              f"{counts['error']} error(s), {counts['warning']} warning(s), "
              f"{counts['info']} note(s) in {elapsed:.0f} ms")
    return code


def cmd_parse(args) -> int:
    from .api import load

    print(json.dumps(load(args.machine).nlu.parse(args.message), indent=2, ensure_ascii=False))
    return 0


def cmd_nlu_eval(args) -> int:
    from .nlu.evaluate import evaluate_bot, format_report

    if args.folds < 2 and not args.test_file:
        print("formc nlu-eval: --folds must be at least 2", file=sys.stderr)
        return 2
    report = evaluate_bot(args.bot_dir, args.folds, args.test_file)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.format == "json"
          else format_report(report))
    return 0


def cmd_test(args) -> int:
    if args.live or args.action_url or args.endpoints:
        from .testing.live import run_live_tests

        report = run_live_tests(args.bot_dir, tuple(args.test_files), endpoints=args.endpoints,
                                action_url=args.action_url, fail_on_nlu=args.fail_on_nlu,
                                coverage=args.coverage, json_out=args.json)
    else:
        from .testing.replay import run_tests

        report = run_tests(args.bot_dir, tuple(args.test_files), coverage=args.coverage,
                           json_out=args.json, fail_on_nlu=args.fail_on_nlu)
    print(report.text())
    return report.exit_code


def cmd_shell(args) -> int:
    from .shell import run_shell

    return run_shell(args.machine, debug=args.debug, record=args.record,
                     interactive=args.interactive) or 0


def cmd_init(args) -> int:
    from .workflow import init_bot

    written = init_bot(args.directory)
    for path in written:
        print(f"  wrote {path}")
    where = args.directory
    print(f"a starter bot is in {where}: try `formc validate {where}`, `formc test {where}` and "
          f"`formc shell {where}`")
    return 0


def cmd_serve(args) -> int:
    from .server.app import serve_command

    return serve_command(args) or 0


def cmd_graph(args) -> int:
    from .api import load
    from .views.dot import FORMATS, draw

    fmt = os.path.splitext(args.output)[1].lstrip(".").lower()
    if fmt not in FORMATS:
        print(f"formc graph: cannot tell the format of '{args.output}'; use a .dot, .svg or .png "
              "file", file=sys.stderr)
        return 2
    try:
        data = draw(load(args.machine), fmt, args.form, args.state, args.coverage, args.stories)
    except ValueError as exc:
        print(f"formc graph: {exc}", file=sys.stderr)
        return 1
    with open(args.output, "wb") as handle:
        handle.write(data)
    print(f"wrote {args.output} ({len(data):,} bytes)")
    return 0


def cmd_diff(args) -> int:
    from .api import load
    from .views.diff import diff_machines, format_diff, is_empty

    old, new = load(args.old), load(args.new)
    result = diff_machines(old, new)
    if result["nlu"]["added"] or result["nlu"]["removed"] or result["nlu"]["changed"]:
        result["nlu_examples"] = _nlu_examples(args, old, new)
    if args.format == "json":
        print(json.dumps({"old": args.old, "new": args.new, "identical": is_empty(result),
                          **result}, indent=2, ensure_ascii=False, sort_keys=True))
    else:
        print(format_diff(result, args.old, args.new))
    return 0 if is_empty(result) else 1


def _nlu_examples(args, old, new):
    """Which intents' examples changed and which texts classify differently: needs the sources
    (bot directories as arguments, or --examples BOT_DIR for .fsm files)."""
    from .reader import read_project
    from .views.diff import nlu_changes, project_texts

    sides = []
    for path in (args.old, args.new):
        source = path if os.path.isdir(path) else args.examples
        project = read_project(source)[0] if source else None
        sides.append(project_texts(project) if project is not None else ([], []))
    if not any(texts for _examples, texts in sides):
        return None
    return nlu_changes(old, new, sides[0][0], sides[1][0], sides[0][1] + sides[1][1])


def _add_shell_parsers(sub) -> None:
    """`formc shell` and `formc init`: the interactive side of a Rasa user's workflow."""
    p = sub.add_parser("shell", help="chat with a bot in the terminal")
    p.add_argument("machine", help=".fsm file or bot directory")
    p.add_argument("--debug", action="store_true", help="show transitions, reasons and timings")
    p.add_argument("--record", metavar="FILE",
                   help="write the conversation as a Rasa test story (formc test / rasa test)")
    p.add_argument("--interactive", metavar="FILE",
                   help="confirm or correct each turn's intent and action, as rasa interactive; "
                        "the corrected conversation is written to FILE as a training story")
    p.set_defaults(func=cmd_shell)

    p = sub.add_parser("init", help="create a small working bot to start from")
    p.add_argument("directory", nargs="?", default=".", help="where (default: here)")
    p.set_defaults(func=cmd_init)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="formc", description="Compile Rasa-style bots into an "
                                     "explicit state machine and run them.")
    parser.add_argument("--version", action="version", version=f"formc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("compile", help="compile a bot directory into a .fsm machine file")
    p.add_argument("bot_dir")
    p.add_argument("-o", "--output", help="output file (default: BOT_DIR.fsm)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="show errors only, without the count of hidden warnings")
    p.add_argument("--warnings", action="store_true",
                   help="also show the warnings (formc validate shows everything)")
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("inspect", help="print a machine's states and transitions with sources")
    p.add_argument("machine", help=".fsm file or bot directory")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("validate", help="check a bot for mistakes (for CI and pre-commit hooks)")
    p.add_argument("bot_dir")
    p.add_argument("--format", choices=("human", "github", "json"), default="human")
    p.add_argument("--strict", action="store_true", help="also fail on warnings")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("parse", help="run the NLU on one message; prints Rasa's /model/parse JSON")
    p.add_argument("machine", help=".fsm file or bot directory")
    p.add_argument("message")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("nlu-eval", help="cross-validate the NLU on the bot's own examples")
    p.add_argument("bot_dir")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--test-file", help="evaluate on this NLU file instead of cross-validating")
    p.add_argument("--format", choices=("human", "json"), default="human")
    p.set_defaults(func=cmd_nlu_eval)

    p = sub.add_parser("test", help="run Rasa test stories against the compiled machine")
    p.add_argument("bot_dir")
    p.add_argument("test_files", nargs="*")
    p.add_argument("--coverage", action="store_true", help="report states/transitions exercised")
    p.add_argument("--json", metavar="FILE", help="write results (and coverage) as JSON")
    p.add_argument("--fail-on-nlu", action="store_true",
                   help="also fail a story when the NLU misreads a user text")
    p.add_argument("--live", action="store_true",
                   help="run each story as a real conversation (custom actions on the action server)")
    p.add_argument("--endpoints", metavar="FILE", help="--live: endpoints.yml with the action_endpoint")
    p.add_argument("--action-url", metavar="URL", help="--live: action server webhook URL")
    p.set_defaults(func=cmd_test)

    _add_shell_parsers(sub)

    p = sub.add_parser("serve", help="serve a machine over Rasa's REST channel and HTTP API")
    p.add_argument("machine", help=".fsm file or bot directory")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; Rasa binds 0.0.0.0: pass --host 0.0.0.0)")
    p.add_argument("--port", type=int, default=5005)
    p.add_argument("--store", default=None,
                   help="sqlite:///PATH, redis://HOST:PORT/DB, postgresql://USER@HOST:PORT/DB or "
                        "memory:// (default: endpoints.yml's tracker_store, else sqlite:///formc.db)")
    p.add_argument("--endpoints", help="endpoints.yml: action server, tracker_store, lock_store, "
                   "models (default: the bot directory's endpoints.yml)")
    p.add_argument("--credentials", help="credentials.yml: channels (rest, socketio, callback; "
                   "default: the bot directory's credentials.yml)")
    p.add_argument("--auth-token", help="token required as ?token= on admin endpoints")
    p.add_argument("--cors", action="append", default=[], metavar="ORIGIN")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--max-body", default="1MB", help="largest accepted request body")
    p.add_argument("--model-dir", metavar="DIR",
                   help="PUT /model loads only .fsm files or bot directories inside DIR")
    p.add_argument("--record-exp", type=float, default=None,
                   help="seconds after which an idle conversation is dropped")
    p.add_argument("--keep-events", default="all", metavar="all|N|DAYSd",
                   help="event log retention per conversation: all (default), the newest N "
                        "events, or the last N days (30d)")
    p.add_argument("--debug", action="store_true", help="log per-turn timing")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("graph", help="draw the compiled machine with Graphviz")
    p.add_argument("machine", help=".fsm file or bot directory")
    p.add_argument("-o", "--output", required=True, help="FILE.dot, FILE.svg or FILE.png")
    p.add_argument("--form", help="only this form")
    p.add_argument("--state", help="only this state and its neighbours")
    p.add_argument("--coverage", help="coverage JSON from 'formc test --coverage --json'")
    p.add_argument("--stories", action="store_true",
                   help="every story state and rule step (default for a big bot: an overview)")
    p.set_defaults(func=cmd_graph)

    p = sub.add_parser("diff", help="what changed between two builds of a bot (exit 1 if anything did)")
    p.add_argument("old", help=".fsm file or bot directory")
    p.add_argument("new", help=".fsm file or bot directory")
    p.add_argument("--examples", metavar="BOT_DIR",
                   help="for .fsm files: classify this bot's example and test texts with both")
    p.add_argument("--format", choices=("human", "json"), default="human")
    p.set_defaults(func=cmd_diff)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except FormcError as exc:
        _print_diagnostics(exc.diagnostics)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
