"""Developer tooling (the `frontline` command, embedded infrastructure, manifests, docs, demo); not in images."""
