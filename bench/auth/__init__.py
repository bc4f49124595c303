"""auth-service benchmarks: the access-token hot path against a bare read, and the refresh storm."""
