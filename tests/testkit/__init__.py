"""Reusable test infrastructure with real parts: registries, a token server, PKI and images.

Every helper's tests may use it; the pytest fixtures are registered in ``tests/conftest.py``
(``pytest_plugins``), the plain classes and functions are importable as ``testkit.*``.
"""
