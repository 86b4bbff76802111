"""Tests of floors 1 and 2 (django_voxtral.speech): backends, results, formats, pipeline, CLI.

Nothing here may need Django settings or a database; the speech package runs without Django.
"""
