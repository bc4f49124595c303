"""The templates as data: one JSON file per template, under a folder per integration."""
