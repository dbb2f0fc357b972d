"""Validate JSON documents against exh-task's schema with Python's `jsonschema`.

An independent validator for the schema `exh-task schema` derives from the
Rust types (schema/event.schema.json).

Input (stdin): {"schema": <the schema document>,
                "instances": [{"def": null | "Result", "instance": <JSON>}, ...]}
  "def": null validates against the root (an event), "Result" against $defs/Result.
Output (stdout): a JSON list, one entry per instance, in order: null when
  valid, else the first error message.
"""

import json
import sys

from jsonschema import Draft202012Validator


def validator_for(schema, definition):
    if definition is None:
        return Draft202012Validator(schema)
    return Draft202012Validator(
        {"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    )


def main():
    document = json.load(sys.stdin)
    schema = document["schema"]
    Draft202012Validator.check_schema(schema)
    verdicts = []
    for case in document["instances"]:
        errors = list(validator_for(schema, case["def"]).iter_errors(case["instance"]))
        verdicts.append(errors[0].message if errors else None)
    json.dump(verdicts, sys.stdout)


if __name__ == "__main__":
    main()
