"""Dialogue runtime: sessions, the engine, response rendering and the action-server client."""
