"""formc: compile Rasa-style form/slot bots into an explicit finite-state machine and run it."""

__version__ = "0.1.0"
