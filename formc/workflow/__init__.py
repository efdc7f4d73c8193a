"""A Rasa user's workflow around the compiler: `formc init` (a starter bot), recording shell
conversations as test stories, and interactive corrections written as stories/rules."""

from .init import TEMPLATE_FILES, init_bot

__all__ = ["TEMPLATE_FILES", "init_bot"]
