#!/usr/bin/env python3
"""Checks schemas/ with a JSON Schema validator nobody here wrote (python-jsonschema):
every manifest under manifests/ must be valid, every file under tests/schema/invalid/ invalid.
Exit 0 when both hold; prints what failed otherwise."""
import glob
import json
import os
import sys

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_schema(name):
    with open(os.path.join(ROOT, "schemas", name)) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def main():
    validator = load_schema("all.json")
    per_kind = {}
    failures = []
    good = sorted(glob.glob(os.path.join(ROOT, "manifests", "**", "*.yaml"), recursive=True))
    bad = sorted(glob.glob(os.path.join(ROOT, "tests", "schema", "invalid", "*.yaml")))
    if not good or not bad:
        failures.append("no files to check")
    for path in good:
        for d in docs(path):
            kind = d.get("kind", "")
            per_kind.setdefault(kind, load_schema(kind.lower() + ".json"))
            for v in (validator, per_kind[kind]):
                errors = list(v.iter_errors(d))
                if errors:
                    failures.append(f"{path}: rejected: {errors[0].message}")
    for path in bad:
        for d in docs(path):
            if validator.is_valid(d):
                failures.append(f"{path}: accepted, but it is invalid")
    for f in failures:
        print(f)
    print(f"checked {len(good)} valid and {len(bad)} invalid files: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
