"""Management commands of django_voxtral: transcribe local files, check the setup.

Never put business logic here: the commands call the pipeline and the runner.
"""
