"""Write the JSON schema of every contract to shared/contracts/schemas/ (reviewed in diffs).

python -m shared.contracts.export
"""

import json
from pathlib import Path

from shared.contracts import EVENT_TYPES, Envelope

SCHEMA_DIR = Path(__file__).parent / "schemas"


def current_schemas() -> dict[str, str]:
    schemas = {"envelope.json": Envelope.model_json_schema()}
    for (event_type, version), contract in EVENT_TYPES.items():
        schemas[f"{event_type}.v{version}.json"] = contract.model_json_schema()
    return {name: json.dumps(s, indent=2, sort_keys=True) + "\n" for name, s in schemas.items()}


def main() -> None:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for stale in SCHEMA_DIR.glob("*.json"):
        stale.unlink()
    for name, text in current_schemas().items():
        (SCHEMA_DIR / name).write_text(text)
        print(f"wrote {SCHEMA_DIR / name}")


if __name__ == "__main__":
    main()
