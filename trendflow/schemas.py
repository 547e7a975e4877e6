"""JSON schemas in `schemas/`, generated from the component declarations in `trendflow.components`.

`generate()` writes one `<component>.schema.json` per component; `check()` reports drift between
the code and the files (CI runs it), including a contract that changed without a schema_version bump.
"""

from __future__ import annotations

import json
from pathlib import Path

from trendflow.components import all_specs, json_schema

SUFFIX = ".schema.json"


def render(schema: dict) -> str:
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def generate(out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in all_specs():
        path = out / f"{spec.name}{SUFFIX}"
        path.write_text(render(json_schema(spec)))
        written.append(path)
    for stale in set(out.glob(f"*{SUFFIX}")) - set(written):
        stale.unlink()
    return written


def check(schema_dir: str | Path) -> list[str]:
    """Problems (empty when the files match the code)."""
    d = Path(schema_dir)
    problems = []
    expected = {spec.name: spec for spec in all_specs()}
    for name, spec in expected.items():
        path = d / f"{name}{SUFFIX}"
        want = render(json_schema(spec))
        if not path.exists():
            problems.append(f"{path}: missing (run `trendflow schemas generate`)")
            continue
        have = path.read_text()
        if have != want:
            old_version = json.loads(have).get("x-schema-version")
            hint = (f"contract changed but schema_version is still {old_version}: bump it and add a "
                    f"CHANGELOG line" if old_version == spec.schema_version else "regenerate")
            problems.append(f"{path}: differs from the code ({hint})")
    for path in d.glob(f"*{SUFFIX}"):
        if path.name.removesuffix(SUFFIX) not in expected:
            problems.append(f"{path}: no component declares it (stale)")
    return problems
