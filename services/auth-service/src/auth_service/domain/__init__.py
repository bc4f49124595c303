"""auth-service's domain: pydantic models and plain rules, with no I/O."""
