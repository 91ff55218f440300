"""Packages x advisories -> findings, each with its explanation (core)."""
