"""Helpers shared by the test modules (bots, servers, paths); import them as `support.<module>`."""
