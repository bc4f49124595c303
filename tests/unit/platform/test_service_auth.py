"""Bearer tokens: `verify_token` and the remembering `TokenVerifier` agree on every token, and
remembering never lets an expired, forged or foreign-audience token through."""

from __future__ import annotations

import time

import jwt
import pytest

from platform_core.errors import Unauthenticated
from platform_core.service_auth import (
    CLOCK_LEEWAY_SECONDS,
    Scope,
    TokenVerifier,
    mint_token,
    verify_token,
)

SECRET = "unit-test-secret-that-is-at-least-32-bytes"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_remembered_token_gives_the_same_caller_as_a_fresh_verification() -> None:
    token = mint_token(SECRET, "svc", [Scope.READ], app_ids=["a"], user_id="u-1")
    verifier = TokenVerifier(SECRET, "auth-service")
    first, second = verifier.verify(token), verifier.verify(token)
    assert first == second == verify_token(token, SECRET, "auth-service")
    assert first.app_ids == frozenset({"a"}) and first.user_id == "u-1"


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    clock = Clock()
    verifier = TokenVerifier(SECRET, None, clock=clock)
    token = mint_token(SECRET, "svc", [Scope.READ], ttl_seconds=60)
    verifier.verify(token)
    clock.now += 60 + CLOCK_LEEWAY_SECONDS - 1
    verifier.verify(token)
    clock.now += 2
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)
    assert len(verifier) == 0


@pytest.mark.parametrize(
    "token",
    [
        mint_token("another-secret-that-is-at-least-32-bytes!", "svc", [Scope.READ]),
        mint_token(SECRET, "svc", [Scope.READ], audience=["template-service"]),
        jwt.encode({"sub": "svc", "scope": "x"}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "svc", "exp": "soon"}, SECRET, algorithm="HS256"),
        "not-a-jwt",
    ],
    ids=["forged", "other-audience", "no-exp", "exp-not-a-number", "garbage"],
)
def test_a_refused_token_is_refused_every_time_and_never_remembered(token: str) -> None:
    verifier = TokenVerifier(SECRET, "auth-service")
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            verifier.verify(token)
    assert len(verifier) == 0


def test_memory_is_bounded_and_a_forgotten_token_is_verified_again() -> None:
    verifier = TokenVerifier(SECRET, None, capacity=3)
    tokens = [mint_token(SECRET, f"svc-{n}", [Scope.READ]) for n in range(5)]
    callers = [verifier.verify(token) for token in tokens]
    assert len(verifier) == 3
    assert verifier.verify(tokens[0]) == callers[0]
    assert len(verifier) == 3
