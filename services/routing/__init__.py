"""Routing: decides who works each ticket (offer, first claim wins, auto-assign, fallbacks, lost tickets)."""
