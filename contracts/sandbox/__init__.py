"""The sandbox: a stateful local emulator of the 28 Integration API operations.

``Sandbox`` serves it on a loopback port; ``make_app`` gives the WSGI application for in-process
use. State lives in SQLite (``:memory:`` or a file); the Application's configuration comes from
a seed (``seed.yaml`` next to this module is the default).
"""

from __future__ import annotations

from .app import SandboxApp
from .seed import DEFAULT_SEED, Seed, SeedError, load_seed
from .server import Sandbox, SandboxServer, make_app

__all__ = [
    "DEFAULT_SEED",
    "Sandbox",
    "SandboxApp",
    "SandboxServer",
    "Seed",
    "SeedError",
    "load_seed",
    "make_app",
]
