"""User-facing errors: one line naming the file, the line where known, and what to do.

The CLI prints ``str(err)`` and exits 1; a traceback is for bugs only.
"""

from __future__ import annotations

from pathlib import Path


class InvrenderError(Exception):
    """An error caused by the user's input (a file, a name, a value)."""

    def __init__(self, message: str, *, file: str | Path | None = None,
                 line: int | None = None, hint: str | None = None):
        self.message = message
        self.file = None if file is None else str(file)
        self.line = line
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file + (f":{self.line}" if self.line is not None else "") + ": "
        text = where + self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class SceneError(InvrenderError):
    """A scene file (XML, mesh, texture) that cannot be loaded."""


class UnsupportedPlugin(SceneError):
    """A plugin type Mitsuba has and invrender does not (a scene may declare one that
    nothing uses: the loader then skips it with a note)."""
