#!/usr/bin/env python
"""The example site's manage.py: a Django site with a Video model transcribed on upload.

Never use these settings in production as they are: the secret key is for the demo only.
"""

import os
import sys

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
