"""Image -> inventory -> findings, gates, exceptions and VEX (core)."""
