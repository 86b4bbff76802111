"""`manage.py transcribe` and `manage.py voxtral_check`.

Never import anything heavy at package import: Django lists commands by module name.
"""
