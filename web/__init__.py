"""The Gradio web app: one module per tab, texts in ``texts``, errors translated in ``errors``."""

from .app import create_app, launch_kwargs, main

__all__ = ["create_app", "launch_kwargs", "main"]
