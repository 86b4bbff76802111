"""Shared pytest setup: fixtures live in plugin modules, one per subject.

Never start a process or server here at import time; fixtures do it on demand.
"""

pytest_plugins = ["tests.fixtures_media", "tests.fixtures_standin", "tests.fixtures_api"]
