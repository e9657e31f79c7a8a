"""A scenario file a student uploads, validated exactly as ``crmsim run FILE`` would.

The upload is written to a private temporary folder next to links to the shipped scenarios, so
that ``extends: retail_baseline.yaml`` works as it does in the ``scenarios/`` folder; errors are
reported under the uploaded file's own name, in the words of the CLI.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from crmsim.errors import ScenarioError
from crmsim.scenario import SCENARIO_DIR, Scenario, load_scenario

MAX_BYTES = 200_000


def load_uploaded(name: str, text: str | None, size: int = 0) -> Scenario:
    """Validate an uploaded YAML scenario; raises ScenarioError naming the file and the key."""
    name = Path(name).name or "upload.yaml"
    if text is None or size > MAX_BYTES:
        raise ScenarioError(f"the file has {size:,} bytes; a scenario file may have at most "
                            f"{MAX_BYTES:,}", name)
    if Path(name).suffix not in (".yaml", ".yml"):
        raise ScenarioError("not a YAML file (the name must end in .yaml or .yml)", name)
    with tempfile.TemporaryDirectory(prefix="crmsim-upload-") as folder:
        folder_path = Path(folder)
        for shipped in SCENARIO_DIR.glob("*.yaml"):
            if shipped.name != name:
                (folder_path / shipped.name).symlink_to(shipped)
        file = folder_path / name
        file.write_text(text, encoding="utf-8")
        try:
            scenario = load_scenario(file)
        except ScenarioError as err:
            problems = [p.replace(f"{folder}/", "") for p in err.problems]
            raise ScenarioError(problems, name if err.source else None) from None
    scenario._source = name
    return scenario
