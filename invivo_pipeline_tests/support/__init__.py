"""Helpers the tests share: servers that stand in for APIs, worlds, and the test-only third source."""
