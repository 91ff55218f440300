"""CycloneDX and SPDX SBOMs, read and write (core)."""
