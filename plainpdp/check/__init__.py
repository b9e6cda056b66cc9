"""Checks on parsed policies before they compile: scope rules, schema validation."""
