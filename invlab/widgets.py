"""Sliders for the labs, with a static fallback where widgets do not render."""
from __future__ import annotations

from typing import Optional, Sequence

import matplotlib.pyplot as plt
import torch

from .plots import as_image, check_images, check_labels, show_strip
from .validate import check_float, fail_type

__all__ = ["image_slider"]


def image_slider(frames: torch.Tensor, ts: Sequence[float], label: str = "t",
                 title: Optional[str] = None):
    """Show ``frames[k]`` (one image per value ``ts[k]``) under a slider for ``label``.

    Always draws the static strip of every frame first, so front ends without widget
    support (nbconvert, GitHub, some Colab modes) still show the result. Returns the
    ipywidgets object, or ``None`` when ipywidgets is missing.
    """
    fn = "image_slider"
    check_images(fn, frames)
    if not isinstance(label, str):
        fail_type(fn, "label", label, "a str")
    ts = [check_float(fn, f"ts[{i}]", t) for i, t in enumerate(check_labels(fn, "ts", ts, len(frames)))]
    show_strip(frames, ts, label=label, title=title)
    plt.show()
    try:
        import ipywidgets as w
    except ImportError:
        print("(ipywidgets is not installed: the static figure above shows every frame)")
        return None
    from IPython.display import display

    def draw(k):
        fig, ax = plt.subplots(figsize=(2.5, 2.5))
        ax.imshow(as_image(frames[k]), cmap="gray")
        ax.set_title(f"{label} = {ts[k]:.2f}")
        ax.axis("off")
        plt.show()

    slider = w.IntSlider(value=0, min=0, max=len(ts) - 1, description=f"{label} index")
    ui = w.interactive(draw, k=slider)
    display(ui)
    return ui
