"""Model artifacts: the champion scorecard and challenger as human-readable JSON.

A bundle directory holds ``champion.json``, ``challenger.json`` (optional) and
``manifest.json`` (version, when, from what, feature list, validation
metrics, which model serves). No pickle anywhere: every file is text a person
can read and diff.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from credo.model import MonotoneChallenger, Scorecard

Which = Literal["champion", "challenger"]


@dataclass
class ModelBundle:
    champion: Scorecard
    challenger: MonotoneChallenger | None = None
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.manifest["version"]

    def model(self, which: Which = "champion") -> Scorecard | MonotoneChallenger:
        """The estimator that serves: the champion unless the setting says otherwise."""
        if which == "challenger":
            if self.challenger is None:
                raise ValueError("this bundle has no challenger")
            return self.challenger
        return self.champion

    def published(self, which: Which = "champion") -> dict[str, Any]:
        """What a model publishes (its scaling, band table and weights), as recorded at training."""
        return self.manifest.get("published", {}).get(which, {})

    def factor_weights(self, which: Which = "champion") -> dict[str, float]:
        """The factor-group weights (percent) of a model, computed from it at training."""
        return dict(self.published(which).get("weights", {}).get("groups", {}))

    @classmethod
    def create(cls, champion: Scorecard, challenger: MonotoneChallenger | None, **manifest: Any) -> ModelBundle:
        trained_at = datetime.now(timezone.utc)
        digest = hashlib.sha256(champion.to_json().encode()).hexdigest()[:8]
        info = {"version": f"credo-{trained_at:%Y%m%d%H%M%S}-{digest}",
                "trained_at": trained_at.isoformat(timespec="seconds"), **manifest}
        return cls(champion, challenger, info)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "champion.json").write_text(self.champion.to_json())
        if self.challenger is not None:
            (directory / "challenger.json").write_text(self.challenger.to_json())
        (directory / "manifest.json").write_text(json.dumps(self.manifest, indent=2, default=str) + "\n")

    @classmethod
    def load(cls, directory: Path) -> ModelBundle:
        if not (directory / "manifest.json").exists():
            raise FileNotFoundError(f"no trained model in {directory}; run `credo train` first")
        champion = Scorecard.from_json((directory / "champion.json").read_text())
        challenger_path = directory / "challenger.json"
        challenger = MonotoneChallenger.from_json(challenger_path.read_text()) if challenger_path.exists() else None
        return cls(champion, challenger, json.loads((directory / "manifest.json").read_text()))
