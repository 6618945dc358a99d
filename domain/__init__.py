"""Helionyx's domain: events, objects and use cases. Imports only the standard library."""
