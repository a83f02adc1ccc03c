"""Browser tests: a package so that the shared console desk (``package`` scope) stops after its last test."""
