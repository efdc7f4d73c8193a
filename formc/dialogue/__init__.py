"""Dialogue compilation: rules and forms -> an explicit, serialisable DialogueMachine."""
