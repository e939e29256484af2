"""The validation report of a submission, and the error that carries it."""

from __future__ import annotations

from dataclasses import dataclass, field

from scorer.errors import HPSError
from scorer.protocol import STYLES


@dataclass
class ValidationReport:
    """What intake found. ``ok``: nothing blocks the submission (with ``partial`` accepted,
    missing images do not block); ``complete``: every prompt of every style has an image."""

    source: str
    partial_allowed: bool = False
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)  # style -> ranges
    counts: dict[str, int] = field(default_factory=dict)  # style -> images found
    expected: dict[str, int] = field(default_factory=dict)  # style -> prompts

    @property
    def complete(self) -> bool:
        return not self.missing and all(
            self.counts.get(s, 0) == self.expected.get(s, 0) for s in STYLES
        )

    @property
    def ok(self) -> bool:
        return not self.errors and (self.complete or self.partial_allowed) and self.images > 0

    @property
    def images(self) -> int:
        return sum(self.counts.values())

    def problems(self) -> list[str]:
        """Every reason the submission is refused (errors, then incompleteness)."""
        out = list(self.errors)
        if self.images == 0 and not self.errors:
            out.append("no benchmark images found")
        if not self.complete and not self.partial_allowed:
            out.append(
                f"incomplete: {self.images} of {sum(self.expected.values())} images "
                "(submit with --partial to store it as a partial result, never ranked)"
            )
        return out

    def as_text(self) -> str:
        lines = [f"Validation of {self.source}: {'OK' if self.ok else 'REJECTED'}"]
        for style in STYLES:
            if style in self.expected:
                line = f"  {style}: {self.counts.get(style, 0)}/{self.expected[style]} images"
                if style in self.missing:
                    line += f"; missing {self.missing[style]}"
                lines.append(line)
        if not self.ok:
            lines += [f"  error: {p}" for p in self.problems()]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "ok": self.ok,
            "complete": self.complete,
            "images": self.images,
            "counts": dict(self.counts),
            "expected": dict(self.expected),
            "missing": dict(self.missing),
            "errors": self.problems() if not self.ok else list(self.errors),
            "warnings": list(self.warnings),
        }


class SubmissionRejected(HPSError):
    """A submission failed validation; ``report`` says why, naming every offending entry."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        problems = report.problems()
        head = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"submission {report.source} rejected: {head}{more}")
