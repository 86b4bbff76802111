"""Fixtures that make test media with real ffmpeg and espeak-ng (filled in by the media tests).

Never download media; everything is generated, small and reproducible.
"""
