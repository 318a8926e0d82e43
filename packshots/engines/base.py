"""The engine seam: plain values in, plain values out; only services touch models.

Two kinds of engine sit behind one job lifecycle:
- a *render* engine (local) works inside our task workers: `prepare` each input photo once per job,
  then `render` each output from the prepared inputs;
- a *remote* engine (PiktID) is handed the whole job and reports back (webhook, SSE, polling); services copy
  its files into our storage.
Either way every output ends as one `OutputEvent` applied by `services.engine_event_apply`, so a local render
and a PiktID result land in the same code path.
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
    warnings: tuple[str, ...] = ()  # plain words for the reviewer, e.g. "garment touches the photo's edge"


@dataclass(frozen=True)
class OutputEvent:
    """What an engine reports about one output slot, whichever engine made it.

    An output is named by (instruction, variation, version) — PiktID's (group_index, image_index, version) —
    never by our row id. `image`/`thumbnail` are names in our storage: files are copied in before the event
    is applied, outside any lock.
    """

    instruction_index: int
    variation_index: int
    version: int
    status: str  # "processing" | "completed" | "failed"
    error: str = ""
    image: str = ""
    thumbnail: str = ""
    width: int | None = None
    height: int | None = None
    format: str = ""
    bytes: int | None = None
    model_used: str = ""
    confidence: float | None = None
    quality_score: float | None = None
    needs_review: bool = False
    warnings: tuple[str, ...] = ()  # why a reviewer should look (the engine's words)

    @property
    def slot(self) -> tuple[int, int, int]:
        return (self.instruction_index, self.variation_index, self.version)


class EngineError(Exception):
    """The engine could not produce an output; the message is shown on the result."""


class RenderEngine(Protocol):
    name: str

    def prepare(self, original: bytes, *, note: str = "") -> PreparedInput: ...

    def render(
        self, inputs: list[PreparedInput], instruction: dict, *, variation: int, seed: int
    ) -> RenderedOutput: ...
