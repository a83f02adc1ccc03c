"""Frontline's common library: schemas, topics, settings, Kafka and MongoDB adapters, clock."""
