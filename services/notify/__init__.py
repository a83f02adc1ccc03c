"""Notify: turns ticket, routing, SLA and feedback events into e-mail, SMS, chat and in-app notices."""
