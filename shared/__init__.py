"""Frontline's common library: message contracts, the service runtime, and the directories' data models."""
