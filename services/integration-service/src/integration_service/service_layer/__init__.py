"""integration-service's use cases: one async handler per command, each owning its unit of work."""
