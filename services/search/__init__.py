"""Search: a full-text index of tickets (issue 22)."""
