"""The web console: the agents' workspace, the leads' and admins' pages and the client portal, over the gateway API."""
