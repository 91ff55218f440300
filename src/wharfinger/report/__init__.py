"""Renderers: table, JSON, SARIF, CycloneDX VEX, OpenVEX, HTML (core)."""
