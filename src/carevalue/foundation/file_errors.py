"""The one shape every problem in a condition pack takes: file, line, plain sentence."""

from __future__ import annotations

from dataclasses import dataclass

from carevalue.errors import UserError


@dataclass(frozen=True)
class PackError:
    """A problem found in a pack file or code list, at a line (None when it has no line)."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


def sort_errors(errors: list[PackError]) -> list[PackError]:
    """File by file, top to bottom, so a reader can work down the list."""
    return sorted(errors, key=lambda e: (e.file, e.line or 0, e.message))


class PackValidationError(UserError):
    """Raised by ``load_pack`` when a pack has problems; ``errors`` holds every one."""

    def __init__(self, errors: list[PackError]) -> None:
        self.errors = sort_errors(errors)
        count = len(self.errors)
        lines = [f"{count} problem{'s' if count != 1 else ''} in the condition packs:"]
        lines += [f"  {error}" for error in self.errors]
        super().__init__("\n".join(lines))
