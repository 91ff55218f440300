"""Vulnerability data: OSV and distro feeds, the SQLite database, CVSS, EPSS and KEV (core + edge)."""
