"""The knowledge service's internal API (the service token): the gateway calls it with each caller's viewer."""
