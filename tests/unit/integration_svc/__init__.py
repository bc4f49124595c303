"""Unit tests of integration-service."""
