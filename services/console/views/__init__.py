"""The console's view logic: pure functions from the gateway's answers to what a page shows, tested without a desk."""
