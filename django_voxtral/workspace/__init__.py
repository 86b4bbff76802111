"""The transcript workspace: the media playing beside its words, the waveform, editing and history.

Pages only (the admin's at .../workspace/ and the owner's at transcripts/<id>/): changes go
through the API and transcripts.py, never through these views.
"""
