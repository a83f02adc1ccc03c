"""Feedback: asks the client to rate a resolved ticket, guards the answer, completes unrated tickets."""
