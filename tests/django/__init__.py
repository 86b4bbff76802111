"""Tests of floor 3, the Django app: models, runner, workers, admin, API, hooks and commands.

Everything here runs on SQLite and again on PostgreSQL (make test); never assume one database.
"""
