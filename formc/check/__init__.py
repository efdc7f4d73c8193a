"""Every check on a bot, in one place: cross-references (F23x/F24x, run by every build), project
rules (F6xx, `formc validate`) and rules on the compiled machine (F62x)."""

from .machine import check_machine
from .project import check_rules
from .references import check_references

__all__ = ["check_machine", "check_references", "check_rules"]
