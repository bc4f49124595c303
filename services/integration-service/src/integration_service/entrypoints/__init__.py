"""How the outside reaches integration-service: HTTP views and event consumers."""
