"""Key providers' PINs and passphrases travel as ``wharfinger.secret.Secret`` (one implementation)."""

from __future__ import annotations

from wharfinger.secret import Secret

__all__ = ["Secret"]
