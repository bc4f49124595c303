"""How the outside reaches auth-service: HTTP views and event consumers."""
