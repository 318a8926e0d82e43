"""Garment segmentation: two networks propose, a border colour model arbitrates, classical steps refine.

The networks (full U²-Net when its weights are installed, U²-Net-p always) run at 320 px; fusion, GrabCut
and clean-up at a working resolution (long side ≤ 640 px); only the edge refinement touches full-resolution
pixels, so a 12 MP photo costs little more than a small one. Every cutout carries plain-word `warnings`:
any warning means a person should look at it before it is used (`needs_review`).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.resources
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import onnxruntime as ort
from PIL import Image

from . import matte, review
from .weights import weights

WORK_LONG_SIDE = 640
NET_SIZE = 320
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
# Strongest first: the fused map leans on the first network when the others are missing.
NETWORKS = ("u2net", "u2netp")


@dataclass
class Cutout:
    rgb: np.ndarray  # HxWx3 uint8, cropped to the garment plus a small margin
    alpha: np.ndarray  # HxW uint8 matte, same crop
    confidence: float  # 0..1: agreement between the networks, the colour model and the final mask
    needs_review: bool
    method: str
    box: tuple[int, int, int, int] = (0, 0, 0, 0)  # x, y, width, height of the crop in the source photo
    warnings: tuple[str, ...] = ()  # why a person should look at it, in plain words


def available_networks() -> tuple[str, ...]:
    """The networks whose weights are installed, strongest first (U²-Net-p always is)."""
    return tuple(name for name in NETWORKS if weights(name) is not None)


@functools.cache
def _session(name: str, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL  # NCHWc convolutions
    # The arena keeps the big network's peak activations for the life of the worker: measured 1.48 GB peak
    # RSS with it, 0.83 GB without, for about the same time. The memory pattern preallocates every
    # activation of a run in one block: without it U²-Net's run peaks ~150 MB lower, same CPU time.
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    # A worker shares its cores with others: a thread spinning while it waits burns CPU they could use.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source = weights(name)
    if source is None:
        raise FileNotFoundError(f"weights of {name} are not installed")
    with importlib.resources.as_file(source) as path:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    # Loading parses the whole file and rewrites the weights; glibc keeps the freed copies mapped
    # (U²-Net: 418 MB resident after loading, 179 MB after handing them back).
    release_memory()
    return session


def release_memory() -> None:
    """Hand memory freed by large temporaries back to the system (glibc only; elsewhere a no-op)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def network_input(rgb: np.ndarray) -> np.ndarray:
    """The networks' input tensor (1×3×320×320, ImageNet-normalised); every network takes the same one."""
    small = cv2.resize(rgb, (NET_SIZE, NET_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    return np.ascontiguousarray(((small - MEAN) / STD).transpose(2, 0, 1)[None])


def saliency(
    rgb: np.ndarray, *, network: str = "u2netp", threads: int = 1, batch: np.ndarray | None = None
) -> np.ndarray:
    """A network's garment probability, min–max normalised, at the size of `rgb` (float32 0..1).

    `batch` is `network_input(rgb)` when the caller already made it for another network.
    """
    batch = network_input(rgb) if batch is None else batch
    session = _session(network, threads)
    # Only the fused output (d0); the six side outputs are intermediate maps nobody reads.
    out = session.run([session.get_outputs()[0].name], {session.get_inputs()[0].name: batch})[0][0, 0]
    out = (out - out.min()) / max(float(out.max() - out.min()), 1e-6)
    return cv2.resize(out, rgb.shape[1::-1], interpolation=cv2.INTER_LINEAR)


def _no_lap(step: str) -> None:
    pass


def segment(image: Image.Image, *, threads: int = 1, lap: Callable[[str], None] = _no_lap) -> Cutout:
    """Cut the garment out of a photo; every reason to doubt the result becomes a warning.

    `lap` is called with each step's name when the step ends (bench/segment_steps.py times them).
    """
    image = image if image.mode == "RGB" else image.convert("RGB")  # convert() copies even an RGB image
    full = np.asarray(image)
    h, w = full.shape[:2]
    scale = max(h, w) / WORK_LONG_SIDE if max(h, w) > WORK_LONG_SIDE else 1.0
    work_size = (round(w / scale), round(h / scale))
    work = cv2.resize(full, work_size, interpolation=cv2.INTER_AREA) if scale > 1 else full
    lap("working copy")

    batch = network_input(work)
    probs = {}
    for name in available_networks():
        probs[name] = saliency(work, network=name, threads=threads, batch=batch)
        lap(f"network {name}")
    return segment_work(full, work, probs, lap=lap)


def segment_work(
    full: np.ndarray, work: np.ndarray, probs: dict[str, np.ndarray], *, lap: Callable[[str], None] = _no_lap
) -> Cutout:
    """The pipeline after the networks ran: `probs` maps network name → probability at `work` size."""
    h, w = full.shape[:2]
    scale = h / work.shape[0]
    support = np.max(list(probs.values()), axis=0)  # the most any network gives a pixel
    least = np.min(list(probs.values()), axis=0)  # the least
    dist = matte.background_distance(work)
    lap("border colour model")
    fused = matte.fuse(list(probs.values()), dist)
    lap("fusion")
    mask = matte.grabcut_refine(work, fused)
    lap("grabcut")
    mask = matte.restore_distinct_drops(mask, fused, dist)  # a check cuff GrabCut grouped with beige tiles
    mask = matte.keep_big_components(mask, min_fraction=0.2)
    mask = matte.recover_on_saturated_background(mask, work, support)
    mask = matte.recover_surrounding(mask, dist)
    before_hanger = mask
    mask = matte.remove_hanger(mask, dist, work, support)
    nets = [p > 0.5 for p in probs.values()]
    if len(nets) > 1 and min(matte.iou(a, b) for a in nets for b in nets) < review.AGREE:
        mask = matte.grow_by_colour(work, mask)  # after the hook is cut: nothing is added above its stump
    mask = matte.fill_holes(mask, fused)
    mask = matte.recover_cut_by_frame(mask, work, dist, support)  # after: the sofa it encloses is no hole
    before_gaps = mask
    mask = matte.open_background_gaps(mask, dist)
    sure = (least > 0.9) & (dist > 3.0)
    mask = matte.open_enclosed_gaps(mask, work, support, sure=sure, least=least, border=dist)
    opened = before_gaps & ~mask  # background seen through gaps (and bits cut off with it)
    mask = matte.remove_cast_shadow(mask, work, support)
    mask = matte.remove_hairlines(mask, support, least)
    mask = matte.remove_unseen_stubs(mask, support)
    before_remnant = mask
    mask = matte.remove_hanger_remnant(mask, before_hanger, work, support)
    # A hanger coloured unlike the garment kept whole because its hook's cut was too short to look for it.
    mask = matte.remove_coloured_hanger(mask, work, support)
    remnant = before_remnant & ~mask
    before_clips = mask
    mask = matte.remove_clips(mask)
    clips = before_clips & ~mask
    # After the hanger and clip steps: they model the garment's colours on the whole mask, and a few pixels
    # peeled here moved what they kept at a neckline 200 px away.
    mask = matte.continue_opened_gaps(mask, opened, work, least)
    if review.blown_out(work, mask):
        mask = matte.keep_white_on_blown_out(mask, work, support)
    lap("clean-up")
    if not mask.any():
        mask = fused > 0.5
    if not mask.any():
        return _empty_cutout(full)

    evidence = review.Evidence(
        work=work,
        mask=mask,
        before_hanger=before_hanger,
        remnant=remnant,
        clips=clips,
        fused=fused,
        dist=dist,
        probs=probs,
    )
    confidence, warnings = review.judge(evidence)
    lap("review signals")

    # On a rug or shag carpet the guided filter snaps the edge to the fibres (wisps along the outline): there
    # the outline is the mask's, rid of the rug bits along it, moved to where the colours change, smoothed,
    # and only blurred up to full size; after the edge choke it is smoothed once more (`matte.smooth_matte`).
    # Whether bits of the rug are still left is judged on the choked matte (below).
    busy = review.busy_background(evidence)
    if busy:
        mask = matte.trim_background_rim(mask, work, support)
        mask = matte.smooth_outline(matte.snap_to_colour_edge(mask, work))
    y0, y1, x0, x1 = matte.bounding_box(mask, pad=max(2, round(0.02 * max(work.shape[:2]))))
    fy0, fy1, fx0, fx1 = (min(round(v * scale), lim) for v, lim in ((y0, h), (y1, h), (x0, w), (x1, w)))
    soft = cv2.GaussianBlur(mask[y0:y1, x0:x1].astype(np.float32), (0, 0), 0.7)
    crop = full[fy0:fy1, fx0:fx1]
    coarse = cv2.resize(soft, (fx1 - fx0, fy1 - fy0), interpolation=cv2.INTER_LINEAR)
    alpha = coarse if busy else matte.refine_edges(crop, coarse, scale=scale)
    lap("edge refinement")
    choked = matte.choke_background_edge(crop, alpha, any_colour=busy)
    # Its pixel-by-pixel bites are smoothed here, but on a busy background, whose whole matte is (below).
    alpha = choked if busy else matte.smooth_choked(alpha, choked, scale=scale)
    lap("edge choke")
    # Whether bits of the rug are left is judged on the choked matte: its notches are the evidence the
    # smoothing (for the output: no pixel steps along the outline) would hide.
    left = busy and review.rim_leftovers(work, _at_work_size(alpha, work.shape[:2], (y0, y1, x0, x1)))
    if left > review.LEFTOVERS:
        warnings += (review.BUSY,)
        confidence = max(0.0, round(confidence - review.PER_WARNING, 3))
    if busy:
        alpha = matte.smooth_matte(alpha, sigma=max(1.5, max(work.shape[:2]) / 250), scale=scale)
    rgb = matte.decontaminate(crop, alpha, busy=busy)
    lap("decontaminate")
    alpha8 = cv2.convertScaleAbs(alpha, alpha=255)  # rounds like np.round, one pass instead of three
    release_memory()  # before the caller composes outputs: the networks' and full-size temporaries are gone
    lap("alpha to uint8")
    return Cutout(
        rgb=rgb,
        alpha=alpha8,
        confidence=confidence,
        needs_review=bool(warnings),
        method="+".join(probs) + "+grabcut",
        box=(fx0, fy0, fx1 - fx0, fy1 - fy0),
        warnings=warnings,
    )


def _at_work_size(alpha: np.ndarray, shape: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """The crop's matte (float 0..1) back on the working image: resized to the crop's box there (`box`:
    y0, y1, x0, x1 at working size), zero outside it."""
    y0, y1, x0, x1 = box
    out = np.zeros(shape, np.float32)
    out[y0:y1, x0:x1] = cv2.resize(alpha, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    return out


def _empty_cutout(full: np.ndarray) -> Cutout:
    h, w = full.shape[:2]
    return Cutout(
        full.copy(),
        np.zeros((h, w), np.uint8),
        0.0,
        True,
        "none",
        (0, 0, w, h),
        ("no garment found in the photo",),
    )
