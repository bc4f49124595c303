"""template-service served for real."""
