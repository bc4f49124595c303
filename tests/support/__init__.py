"""Helpers the test tiers share: real infrastructure, service processes, event taps, tokens."""
