"""``Secret``: a credential (password, token, PIN) that never shows itself.

Beside ``clock`` because, like time, every edge needs it: registry credentials (``oci.auth``),
key provider PINs (``signing.keys``). Its ``repr``/``str`` are ``Secret('***')`` so it cannot
reach logs, messages or tracebacks by accident; ``reveal()`` is called only where the value is
handed to the system that needs it.
"""

from __future__ import annotations

__all__ = ["Secret"]


class Secret:
    """A credential whose value never shows in ``repr``, ``str``, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)
