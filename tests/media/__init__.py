"""Tests of floor 0, the media floor (ffmpeg_bridge): probe, find speech, split, peaks, mux.

Nothing here may import django_voxtral or Django; these tests know files and ffmpeg only.
"""
