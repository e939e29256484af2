"""Gradio components adjusted for this app."""

from __future__ import annotations

import types

import gradio as gr
from gradio.data_classes import FileData
from gradio.utils import NamedString
from gradio_client import utils as client_utils


def _path_only(self: gr.File, f: FileData) -> NamedString | bytes:
    if self.type != "filepath":
        return gr.File._process_single_file(self, f)
    if self.file_types and not client_utils.is_valid_file(f.path, self.file_types):
        raise gr.Error(
            f"Invalid file type. Please upload a file that is one of these formats: "
            f"{self.file_types}"
        )
    return NamedString(f.path)


def UploadedFile(**kwargs) -> gr.File:  # noqa: N802 - used like the component it makes
    """A ``gr.File`` that hands the uploaded file's path to the callback, nothing else.

    Gradio 6.31's ``File`` (``type="filepath"``) also creates an empty temporary file in its
    cache for every file of every request, and neither deletes nor tracks it, so it outlives
    ``delete_cache``: one stray file per upload, forever. This instance skips it (same
    file-type check, same result). A subclass would do it too, but Gradio writes a ``.pyi``
    stub next to the module of every component class it sees defined.
    """
    component = gr.File(**kwargs)
    component._process_single_file = types.MethodType(_path_only, component)
    return component
