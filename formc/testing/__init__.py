"""`formc test`: Rasa test stories replayed against the machine (replay) or run live (live)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TestReport:
    """What a test run found: report lines (failed stories as diffs, coverage), and the counts."""

    __test__ = False       # not a pytest class

    lines: list = field(default_factory=list)
    passed: int = 0
    failed: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def text(self) -> str:
        """The report as printed: its lines, then Rasa-style `N passed, N failed`."""
        return "\n".join(self.lines + [f"{self.passed} passed, {self.failed} failed"])
