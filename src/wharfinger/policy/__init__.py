"""Admission policy documents and the pure evaluate(request, facts) -> Decision (core)."""
