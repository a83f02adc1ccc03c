"""SLA processor: business-calendar clocks, warnings, breaches, escalation ladders, client deadlines."""
