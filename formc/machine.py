"""The compiled bot (Machine): domain, config, endpoints, NLU tables and the dialogue machine."""

from __future__ import annotations

import dataclasses
from functools import cached_property

from . import model
from .dialogue.machine import DialogueMachine


@dataclasses.dataclass(frozen=True)
class Machine:
    """Everything the runtime needs, and nothing that changes between two builds of one bot."""

    name: str
    digest: str                      # sha256 of the bot's source files
    domain: model.Domain
    config: model.Config
    endpoints: model.Endpoints
    nlu_data: dict                   # compiled NLU tables (formc.nlu.compile)
    dialogue: DialogueMachine

    @cached_property
    def nlu(self):
        """The runtime NLU, built on first use from the compiled tables."""
        from .nlu.classify import Nlu

        return Nlu.from_dict(self.nlu_data)

    def summary(self) -> dict:
        dialogue = self.dialogue
        return {"states": len(dialogue.states), "transitions": len(dialogue.transitions),
                "intents": len(self.domain.intents), "slots": len(self.domain.slots),
                "forms": len(self.domain.forms), "responses": len(self.domain.responses)}
