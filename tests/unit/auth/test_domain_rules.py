"""Pure rules: capabilities and their hashes, the refresh decision, token responses, site
binding, link lifetimes, provider URL rules, and the HTML pages' escaping."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from auth_service.domain.authorization import (
    Authorization,
    NoSites,
    Site,
    bind_site,
    link_ttl_seconds,
)
from auth_service.domain.credential import Credential
from auth_service.domain.oauth import MalformedTokenResponse, parse_token_response
from auth_service.domain.profiles import scope_problems, url_problems
from auth_service.domain.secrets import (
    Secret,
    capability_hash,
    new_capability,
    new_pkce_verifier,
    same_hash,
)
from auth_service.domain.urls import (
    MalformedReturnUrl,
    allowed_return_url,
    check_provider_url,
    parse_return_allowlist,
)
from auth_service.entrypoints import pages
from platform_core.contract_types import AppSubject, SystemProfileRef, UserSubject

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
ACME = Site("c-acme", "acme", "https://acme.atlassian.net")
GLOBEX = Site("c-globex", "globex", "https://globex.atlassian.net")


def test_capabilities_carry_at_least_256_bits_and_only_their_hash_is_kept() -> None:
    values = {new_capability() for _ in range(100)}
    assert len(values) == 100
    assert all(len(v) >= 43 for v in values)  # 32 bytes, base64url
    value = values.pop()
    assert capability_hash(value) != value and len(capability_hash(value)) == 64
    assert same_hash(value, capability_hash(value))
    assert not same_hash(None, capability_hash(value))
    assert not same_hash(value, None)
    assert 43 <= len(new_pkce_verifier()) <= 128


def refresh(
    *,
    expires_at: datetime | None = NOW + timedelta(minutes=30),
    last_refreshed_at: datetime | None = NOW - timedelta(minutes=30),
    min_valid_seconds: int = 60,
    force_refresh: bool = False,
) -> bool:
    credential = Credential(
        credential_id="cred-1",
        app_id="app-1",
        integration="confluence",
        subject=AppSubject(),
        profile=SystemProfileRef(),
        expires_at=expires_at,
        last_refreshed_at=last_refreshed_at,
        created_at=NOW,
        updated_at=NOW,
    )
    return credential.needs_refresh(
        now=NOW,
        min_valid_seconds=min_valid_seconds,
        force_refresh=force_refresh,
        force_window_seconds=5.0,
    )


def test_a_token_valid_long_enough_is_not_refreshed() -> None:
    assert refresh() is False


def test_a_token_expiring_within_min_valid_seconds_is_refreshed() -> None:
    assert refresh(expires_at=NOW + timedelta(seconds=59)) is True
    assert refresh(expires_at=NOW - timedelta(seconds=1)) is True
    assert refresh(min_valid_seconds=1801) is True


def test_force_refresh_is_deduplicated_within_the_window() -> None:
    assert refresh(force_refresh=True) is True
    assert refresh(force_refresh=True, last_refreshed_at=NOW - timedelta(seconds=2)) is False
    assert refresh(force_refresh=True, last_refreshed_at=NOW - timedelta(seconds=5)) is True


def test_a_token_response_is_parsed_and_an_absent_refresh_token_keeps_the_old_one() -> None:
    tokens = parse_token_response(
        {"access_token": "tok-123", "expires_in": 3600, "scope": "x y", "token_type": "Bearer"},
        NOW,
        ("z",),
    )
    assert tokens.expires_at == NOW + timedelta(hours=1)
    assert tokens.scopes == ("x", "y")
    assert tokens.refresh_token is None
    old = Secret.of("old")
    assert tokens.keeping_refresh_token(old).refresh_token is old
    assert "tok-123" not in repr(tokens)
    with pytest.raises(MalformedTokenResponse):
        parse_token_response({"token_type": "Bearer"}, NOW, ())


def test_one_site_binds_several_bind_only_the_hinted_one_and_none_is_never_guessed() -> None:
    assert bind_site([ACME], None) == ACME
    assert bind_site([ACME], "https://other.atlassian.net") == ACME
    assert bind_site([ACME, GLOBEX], None) is None
    assert bind_site([GLOBEX, ACME], "https://acme.atlassian.net/") == ACME
    assert bind_site([ACME, GLOBEX], "c-globex") == GLOBEX
    assert bind_site([ACME, GLOBEX], "https://nowhere.atlassian.net") is None
    with pytest.raises(NoSites):
        bind_site([], None)


def test_links_default_to_15_minutes_for_admins_and_an_hour_for_end_users() -> None:
    kw = {"admin_default": 900, "user_default": 3600, "maximum": 86400}
    assert link_ttl_seconds(AppSubject(), None, **kw) == 900
    assert link_ttl_seconds(UserSubject(user_id="u"), None, **kw) == 3600
    assert link_ttl_seconds(AppSubject(), 120, **kw) == 120
    assert link_ttl_seconds(AppSubject(), 10**9, **kw) == 86400
    link = Authorization(
        authorization_id="authz-1",
        app_id="app-1",
        integration="confluence",
        profile=SystemProfileRef(),
        subject=AppSubject(),
        link_hash="h",
        expires_at=NOW,
        sweep_at=NOW,
        created_at=NOW - timedelta(minutes=15),
    )
    assert link.effective_status(NOW) == "expired"
    assert link.model_copy(update={"clicked_at": NOW}).effective_status(NOW) == "pending"


@pytest.mark.parametrize(
    ("url", "insecure", "ok"),
    [
        ("https://auth.atlassian.com/authorize", False, True),
        ("http://auth.atlassian.com/authorize", True, False),
        ("http://127.0.0.1:8000/authorize", False, False),
        ("http://127.0.0.1:8000/authorize", True, True),
        ("http://localhost/authorize", True, True),
        ("https://user:pw@auth.atlassian.com/", False, False),
        ("https://" + "a" * 3000 + ".com", False, False),
        ("ftp://auth.atlassian.com/", True, False),
        # One rule with platform_core.addresses: a literal host must be a public address.
        ("https://10.0.0.1/token", False, False),
        ("https://169.254.169.254/latest", True, False),
        ("https://[::ffff:192.168.0.1]/token", True, False),
        ("https://0x7f.1/token", False, False),
        ("https://localhost/authorize", False, False),
        ("https://8.8.8.8/token", False, True),
    ],
)
def test_provider_urls_are_https_or_loopback_http_when_allowed(
    url: str, insecure: bool, ok: bool
) -> None:
    if ok:
        assert check_provider_url(url, allow_insecure=insecure) == url
    else:
        with pytest.raises(ValueError):
            check_provider_url(url, allow_insecure=insecure)


def test_profile_problems_name_each_bad_field() -> None:
    problems = url_problems(
        {"token_url": "http://x.example.com", "refresh_url": None}, allow_insecure=False
    )
    assert [p["field"] for p in problems] == ["token_url"]
    assert scope_problems([]) and scope_problems(["a b"]) and not scope_problems(["a"])


ALLOWLIST = "https://console.example.com/return, http://127.0.0.1:3000/, https://app.example.com/"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://console.example.com/return", True),
        ("https://console.example.com/return/", True),
        ("https://console.example.com/return/done?x=1#top", True),
        ("https://CONSOLE.example.com:443/return?x", True),
        ("http://127.0.0.1:3000/anything", True),
        ("https://app.example.com", True),
        ("https://console.example.com.evil.net/return", False),
        ("https://console.example.com@evil.net/return", False),
        ("https://user:pw@console.example.com/return", False),
        ("https://console.example.com/returnevil", False),
        ("https://console.example.com/retur", False),
        ("https://console.example.com/", False),
        ("http://console.example.com/return", False),
        ("https://console.example.com:8443/return", False),
        ("http://127.0.0.1:3001/", False),
        ("https://evil.net/?https://console.example.com/return", False),
    ],
)
def test_return_urls_match_an_entrys_scheme_host_port_and_path_below_a_slash(
    url: str, allowed: bool
) -> None:
    assert allowed_return_url(url, parse_return_allowlist(ALLOWLIST)) is allowed


@pytest.mark.parametrize(
    "url",
    [
        "https://console.example.com/return\r\nSet-Cookie: a=b",
        "https://console.example.com/return\nx",
        "https://console.example.com/return\x00",
        "https://console.example.com/return\t",
        "https://console.example.com/return done",
        "https://console.example.com\\@evil.net/return",
        "https://console.example.com/return/../admin",
        "https://console.example.com/return/%2e%2e/admin",
        "https://console.example.com/retürn",
        "javascript:alert(1)//https://console.example.com/return",
        "//console.example.com/return",
        "https://console.example.com:99999/return",
        "https://" + "a" * 3000 + ".com/",
    ],
)
def test_return_urls_that_parsers_and_browsers_could_read_differently_are_malformed(
    url: str,
) -> None:
    with pytest.raises(MalformedReturnUrl):
        allowed_return_url(url, parse_return_allowlist(ALLOWLIST))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("https://ok.example.com/, not-a-url", "entry 2 must be an absolute http or https URL"),
        ("ftp://files.example.com/", "entry 1 must be an absolute http or https URL"),
        ("https://ok.example.com/?next=1", "entry 1 must have no credentials, query or fragment"),
        ("https://me@ok.example.com/", "entry 1 must have no credentials, query or fragment"),
        ("https://ok.example.com/a/../b", "entry 1 must not contain . or .. path segments"),
    ],
)
def test_allowlist_entries_are_parsed_once_and_a_bad_one_is_named_by_its_position(
    raw: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_return_allowlist(raw)
    assert parse_return_allowlist("") == ()


def test_pages_escape_everything_they_show() -> None:
    hostile = Site('"><script>alert(1)</script>', "<b>x</b>", "https://x/?a=<i>")
    text = pages.site_picker("/oauth/site", "Conf<luence>", [hostile], 'sel"ection').text or ""
    assert "<script>" not in text and "<b>x</b>" not in text and "<luence>" not in text
    assert "&lt;script&gt;" in text and "sel&quot;ection" in text
    error = pages.page(400, "Bad <title>", "Provider said <img src=x>", "access_denied").text or ""
    assert "<img" not in error and "&lt;img src=x&gt;" in error
    assert pages.page(400, "t", "m").headers["Cache-Control"] == "no-store"
