"""Rendering: TinyRenderer (CPU, everywhere) or PyBullet's EGL plugin (GPU, or Mesa on CPU).

Both give the same `Frame`: rgb uint8 HxWx3, depth float32 metres, instance map int32 (0 for
background and unlabeled bodies, i for the scene's object i - 1).
"""

from simgen.render.renderer import RENDERERS, Frame, Renderer, RendererUnavailable, start_renderer

__all__ = ["RENDERERS", "Frame", "Renderer", "RendererUnavailable", "start_renderer"]
