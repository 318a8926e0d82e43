"""The engine seam: plain values in, plain values out; only services touch models.

Two kinds of engine sit behind one job lifecycle:
- a *render* engine (local) works inside our task workers: `prepare` each input photo once per job,
  then `render` each output from the prepared inputs;
- a *remote* engine (PiktID, a later issue) submits the whole job and reports back through events
  (webhook, SSE, polling), which services feed to the same `engine_event_apply`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PreparedInput:
    """An input photo made ready for rendering (for the local engine: its cutout as RGBA PNG)."""

    load: Callable[[], bytes]  # read on demand: an output needs only the input photo it renders from
    confidence: float
    needs_review: bool
    note: str = ""


@dataclass(frozen=True)
class RenderedOutput:
    data: bytes
    thumbnail: bytes
    width: int
    height: int
    format: str
    model_used: str
    confidence: float | None
    needs_review: bool


class EngineError(Exception):
    """The engine could not produce an output; the message is shown on the result."""


class RenderEngine(Protocol):
    name: str

    def prepare(self, original: bytes, *, note: str = "") -> PreparedInput: ...

    def render(
        self, inputs: list[PreparedInput], instruction: dict, *, variation: int, seed: int
    ) -> RenderedOutput: ...


def available_engines() -> list[str]:
    """Engines this installation can run (the PiktID engine arrives with its own issue)."""
    return ["local"]


def get_render_engine(name: str, *, threads: int = 1) -> RenderEngine:
    """Build the engine called `name`; the one factory services use."""
    if name == "local":
        from packshots.engines.local.adapter import LocalEngine

        return LocalEngine(threads=threads)
    raise EngineError(f"The {name!r} engine is not available in this installation.")
