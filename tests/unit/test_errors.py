from __future__ import annotations

import pytest

from wharfinger import errors


def test_every_error_is_rooted_and_exported() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.WharfingerError), name


@pytest.mark.parametrize(
    ("cls", "code"),
    [(errors.InputError, 3), (errors.VerificationError, 1), (errors.BackendError, 4), (errors.RegistryAuthError, 4)],
)
def test_exit_code_by_who_must_act(cls: type[errors.WharfingerError], code: int) -> None:
    assert cls("x").exit_code == code


def test_diagnostics_carry_the_hint() -> None:
    err = errors.RegistryAuthError("registry refused", hint="run docker login")
    assert err.diagnostics() == "registry refused\n  hint: run docker login"
