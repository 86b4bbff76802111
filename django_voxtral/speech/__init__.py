"""Floors 1 and 2: speech backends, results, formats and the pipeline from a media file to a result.

Never import Django or the Django floor of django_voxtral here; this runs in any Python program.
"""
