"""Regenerate oscal-1.1.2-assessment-results-schema.json (run in a venv with compliance-trestle==3.3.0; not a test).

    python3 -m venv /tmp/trv && /tmp/trv/bin/pip install compliance-trestle==3.3.0
    cd tests/data/schemas && /tmp/trv/bin/python gen_oscal_1_1_2.py > oscal-1.1.2-assessment-results-schema.json
"""

from __future__ import annotations

import json
import sys

import trestle  # type: ignore[import-not-found]
from trestle.oscal import OSCAL_VERSION  # type: ignore[import-not-found]
from trestle.oscal.assessment_results import Model  # type: ignore[import-not-found]


def main() -> None:
    """Print the schema of trestle's assessment-results root model, tagged with its origin."""
    if OSCAL_VERSION != "1.1.2":
        raise SystemExit(f"this trestle targets OSCAL {OSCAL_VERSION}, not 1.1.2 (use 3.0-3.3)")
    schema = Model.schema()
    schema = {"$schema": "http://json-schema.org/draft-07/schema#",
              "$comment": f"OSCAL {OSCAL_VERSION} assessment-results, generated from compliance-trestle "
                          f"{trestle.__version__} trestle.oscal.assessment_results.Model (pydantic JSON schema)",
              **schema}
    json.dump(schema, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
