"""Write the backend's OpenAPI schema to pwa/openapi.json (the PWA's API client is generated from it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app.main import create_app

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "pwa" / "openapi.json"
    schema = create_app().openapi()
    out.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
