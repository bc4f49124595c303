"""How the outside reaches template-service: HTTP views and event consumers."""
