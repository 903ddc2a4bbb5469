"""Which Host and Origin headers the HTTP transport accepts, for each way it can be bound."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.server.transport_security import TransportSecurityMiddleware
from starlette.requests import Request

from core.config import Settings
from persona_mcp.http import transport_security
from persona_mcp.ratelimit import RateLimiter

pytestmark = pytest.mark.anyio


async def _status(settings: Settings, host: str, origin: str | None = None) -> int | None:
    headers = [(b"host", host.encode()), (b"content-type", b"application/json")]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    request = Request({"type": "http", "method": "POST", "path": "/mcp", "headers": headers})
    response = await TransportSecurityMiddleware(transport_security(settings)).validate_request(
        request, is_post=True
    )
    return None if response is None else response.status_code


@pytest.mark.parametrize(
    ("host", "origin", "expected"),
    [
        ("127.0.0.1:8000", None, None),
        ("localhost:8000", "http://localhost:5173", None),
        ("[::1]:8000", "http://[::1]:8000", None),
        ("evil.example:8000", None, 421),
        ("127.0.0.1:8000", "http://evil.example", 403),
        ("127.0.0.1.evil.example:8000", None, 421),
    ],
)
async def test_loopback_binding_accepts_only_loopback_names(
    tmp_path: Path, host: str, origin: str | None, expected: int | None
) -> None:
    assert await _status(Settings(data_dir=tmp_path), host, origin) == expected


async def test_a_specific_bind_address_is_accepted_as_host_and_origin(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, http_host="10.1.2.3")
    assert await _status(settings, "10.1.2.3:8000", "http://10.1.2.3:8000") is None
    assert await _status(settings, "10.9.9.9:8000") == 421


async def test_extra_hosts_and_origins_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        http_host="0.0.0.0",
        allowed_hosts=("mcp.example.com", "api.example.com:8443"),
        allowed_origins=("https://app.example.com",),
    )
    assert await _status(settings, "mcp.example.com", "https://app.example.com") is None
    assert await _status(settings, "mcp.example.com:9000") is None
    assert await _status(settings, "api.example.com:8443") is None
    assert await _status(settings, "api.example.com:9000") == 421
    assert await _status(settings, "mcp.example.com", "https://other.example.com") == 403
    assert await _status(settings, "0.0.0.0:8000") == 421


def test_the_rate_limit_allows_a_burst_then_refills_per_client() -> None:
    limiter = RateLimiter(per_minute=60, burst=3)
    assert [limiter.retry_after("a", now=100.0) for _ in range(3)] == [None, None, None]
    wait = limiter.retry_after("a", now=100.0)
    assert wait is not None
    assert 0.9 < wait <= 1.0  # one call a second comes back
    assert limiter.retry_after("b", now=100.0) is None  # another client has its own bucket
    assert limiter.retry_after("a", now=101.01) is None
    assert limiter.retry_after("a", now=101.02) is not None
    assert RateLimiter(per_minute=0, burst=1).retry_after("a", now=0.0) is None  # 0: no limit
