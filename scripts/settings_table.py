"""Rewrite the settings table in README.md from the declared settings of every layer.

hps-settings-table     (or: python scripts/settings_table.py)
"""

from __future__ import annotations

from pathlib import Path

from web.settings import AppSettings

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"


def table() -> str:
    rows = ["| Variable | Default | Package | Meaning |", "|---|---|---|---|"]
    for s in AppSettings.declared():
        if s.default is None:
            default = "(unset)"
        elif isinstance(s.default, bool):
            default = f"`{str(s.default).lower()}`"
        else:
            default = f"`{s.default}`"
        rows.append(f"| `{s.env}` | {default} | `{s.package}` | {s.help} |")
    return "\n".join(rows)


def main() -> None:
    text = README.read_text()
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    README.write_text(f"{head}{BEGIN}\n{table()}\n{END}{tail}")


if __name__ == "__main__":
    main()
