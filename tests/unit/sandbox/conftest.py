"""Shared fixtures: a sandbox on a frozen clock, driven in-process over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI
from sandbox_kit import frozen_config

from sandbox import create_app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def make_client() -> Callable[[FastAPI], httpx.AsyncClient]:
    def build(app: FastAPI) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")

    return build


@pytest.fixture
async def client(
    make_client: Callable[[FastAPI], httpx.AsyncClient],
) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(create_app(frozen_config())) as c:
        yield c
