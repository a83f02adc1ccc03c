"""Attack replays: every boundary of docs/security.md, tried on every run of `make test`."""
