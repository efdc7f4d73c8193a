"""Readers: source files -> the project model (formc.model)."""

from .project import read_project

__all__ = ["read_project"]
