"""auth-service's adapters: MongoDB repositories and clients of other systems."""
