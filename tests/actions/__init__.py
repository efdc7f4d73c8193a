"""Our own rasa-sdk custom actions for corpus bots, one module per bot (run: python -m rasa_sdk --actions tests.actions.<bot>).

Written from the plain-language descriptions in /work/shared/corpus/<bot>/SOURCE.md (no upstream
code). Deliberately empty: rasa-sdk registers every Action subclass it has imported, so importing
all bots here would put every bot's actions on every server.
"""
