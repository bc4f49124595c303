"""template-service unit tests."""
