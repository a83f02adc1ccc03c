"""The library every service runs on: Kafka and MongoDB adapters, timers, service wiring, settings, clock, health."""
