"""The Lark grammars (`*.lark`), shipped as package data and read with importlib.resources."""
