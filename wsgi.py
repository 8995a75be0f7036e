"""Entry point for gunicorn: `gunicorn wsgi:app`."""

import gc

from community import create_app

app = create_app()
# What exists now (modules, the app, the url map) lives as long as the process: the garbage
# collector need not walk it again on every full collection. A hot thread's rebuild makes
# tens of thousands of short-lived objects, and those walks were a third of its time.
gc.freeze()
