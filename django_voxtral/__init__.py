"""django-voxtral: speech transcription for Django sites, from any audio or video file.

Importing this package must never need Django settings; the Django parts live in submodules.
"""

__version__ = "0.1.0"
