"""Conversation stores (memory, SQLite, Redis) behind one interface; `open_store(url)` picks one."""
from .base import Conversation, ConversationStore, StoreError, open_store

__all__ = ["Conversation", "ConversationStore", "StoreError", "open_store"]
