"""Validate JSON documents against a JSON Schema with Python's `jsonschema`.

An independent validator for the schema `exh-task schema` derives from the
Rust types (schema/event.schema.json), and for the `exh` CLI's task schema
(tests/deploy.rs). The draft is the one the schema's `$schema` names
(2020-12 when it names none).

Input (stdin): {"schema": <the schema document>,
                "instances": [{"def": null | "Result", "instance": <JSON>}, ...]}
  "def": null validates against the root (an event), "Result" against $defs/Result.
Output (stdout): a JSON list, one entry per instance, in order: null when
  valid, else the first error message.
"""

import json
import sys

from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for as draft_of


def validator_for(schema, definition):
    draft = draft_of(schema, default=Draft202012Validator)
    if definition is None:
        return draft(schema)
    return draft({"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"})


def main():
    document = json.load(sys.stdin)
    schema = document["schema"]
    draft_of(schema, default=Draft202012Validator).check_schema(schema)
    verdicts = []
    for case in document["instances"]:
        errors = list(validator_for(schema, case["def"]).iter_errors(case["instance"]))
        verdicts.append(errors[0].message if errors else None)
    json.dump(verdicts, sys.stdout)


if __name__ == "__main__":
    main()
