"""The engine registry: which engines exist and the one factory services use to build a render engine.

It lives here rather than in `base.py` so adapters import `base` and this module imports adapters, never
the other way round.
"""

from packshots.engines.base import EngineError, RenderEngine

LOCAL = "local"
PIKTID = "piktid"
ENGINES = (LOCAL, PIKTID)
REMOTE_ENGINES = frozenset({PIKTID})


def is_remote(name: str) -> bool:
    """A remote engine runs the job elsewhere and reports back; a render engine runs in our workers."""
    return name in REMOTE_ENGINES


def get_render_engine(name: str, *, threads: int = 1) -> RenderEngine:
    """Build the render engine called `name` (only the local engine renders in our workers)."""
    if name == LOCAL:
        from packshots.engines.local.adapter import LocalEngine

        return LocalEngine(threads=threads)
    raise EngineError(f"The {name!r} engine does not render in this installation's workers.")
