"""What keeps `python -m tool_service` small: imports it never uses, heap it no longer needs.

Measured with `python -m bench memory` (VmRSS, idle), they took it from 105 MB to 88 MB (about
4, 9 and 4 MB in the order below); none removes anything the service does.

- **Package `__init__`s deferred** (`defer_package_init`). Importing
  `mcp.server.streamable_http_manager` runs `mcp/__init__.py` first, which imports the SDK's
  whole client side (`Client`, `ClientSession`, stdio, session groups) and, through
  `mcp/server/__init__.py`, the high-level `MCPServer` (resources, prompts, an `httpx2`
  client). Here the package is registered with its real spec and search path instead, so a
  submodule import loads only what that submodule needs; the first read of a name from the
  package itself (`mcp.Client`, `from mcp import Client`, `from mcp.server import MCPServer`)
  runs the real `__init__` into the same module object. Deferred, not removed.
- **PyJWT without `cryptography`** (`import_jwt_for_hmac`). PyJWT imports `cryptography` (its
  Rust bindings alone are some 6 MB resident) only to offer RSA, EC and EdDSA. The platform's
  JWTs are HS256 (contract §0; `platform_core.service_auth` and `domain.access` accept no other
  algorithm), which PyJWT does with the standard library. `cryptography` is hidden only while
  `jwt` imports: anything else that needs it later imports it as usual.
- **Start-up garbage returned** (`release_freed_memory`). Building the app (pydantic schemas of
  both MCP protocol versions, the OpenAPI document) leaves freed heap behind that glibc keeps
  mapped; once the server is up, a collection and `malloc_trim(0)` hand it back to the kernel.

`tool_service.__main__` applies the first two before anything imports the SDK or PyJWT; a
process that has imported them already (a test run, a REPL) keeps them as they are.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import importlib.util
import sys

# The SDK's package and its `server` package, the parent first.
DEFERRED_PACKAGES = ("mcp", "mcp.server")

# The packages registered here whose own `__init__` has not run yet.
_pending: set[str] = set()


def defer_package_init(name: str) -> None:
    """Register package `name` (its parent already imported or deferred) with a deferred init.

    Only for a package whose `__init__` binds no other object under a submodule's name: a name
    that is a submodule is imported as the submodule, without running the `__init__`.
    """
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        raise ImportError(f"{name} is not an importable package")
    loader = spec.loader
    module = importlib.util.module_from_spec(spec)

    def load_on_first_use(attribute: str) -> object:
        # `from package import submodule` asks for the attribute before importing the
        # submodule: that is no use of the package's own names.
        if name not in _pending or importlib.util.find_spec(f"{name}.{attribute}") is not None:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
        _pending.discard(name)
        loader.exec_module(module)
        return getattr(module, attribute)

    # PEP 562: called only for names the module does not have (yet); the submodules imported
    # meanwhile are set on it by the import system, as always.
    module.__getattr__ = load_on_first_use  # type: ignore[method-assign]
    _pending.add(name)
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)


def deferred(name: str) -> bool:
    """Whether package `name` was registered here and its own `__init__` has not run yet."""
    return name in _pending


def import_jwt_for_hmac() -> None:
    """Import PyJWT with its HMAC algorithms only (see the module's docstring)."""
    if "jwt" in sys.modules or "cryptography" in sys.modules:
        return
    # A None entry makes `import cryptography` raise ModuleNotFoundError, which PyJWT expects
    # when the package is not installed.
    sys.modules["cryptography"] = None  # type: ignore[assignment]
    try:
        importlib.import_module("jwt")
    finally:
        del sys.modules["cryptography"]


def lean_imports() -> None:
    for name in DEFERRED_PACKAGES:
        defer_package_init(name)
    import_jwt_for_hmac()


def release_freed_memory() -> None:
    """Collect garbage, then return the freed heap to the kernel where the C library can."""
    gc.collect()
    # The process's own symbol table, which holds the C library's: no library search needed.
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc has it; musl, macOS do not
    if trim is not None:
        trim(0)
