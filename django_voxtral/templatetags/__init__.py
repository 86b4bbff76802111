"""django_voxtral's template tag libraries: ``{% load voxtral %}`` (templatetags/voxtral.py).

Only the package marker Django's template engine looks for; never put tags or imports here.
"""
