"""The admin UI's first page and the operational endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
