"""One module per area; each that defines ``router`` is included by ``services/console/app.py``."""
