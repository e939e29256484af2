"""HPS v2 leaderboard web app: ``python app.py`` (settings from ``HPS_*`` variables)."""

from __future__ import annotations

from web.app import create_app, launch_kwargs, main

__all__ = ["create_app", "launch_kwargs", "main"]

if __name__ == "__main__":
    main()
