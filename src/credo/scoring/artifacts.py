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

    def files(self) -> dict[str, str]:
        """The bundle as the text of its files (what :meth:`save` writes and the model registry keeps)."""
        out = {"champion.json": self.champion.to_json(),
               "manifest.json": json.dumps(self.manifest, indent=2, default=str) + "\n"}
        if self.challenger is not None:
            out["challenger.json"] = self.challenger.to_json()
        return out

    @classmethod
    def from_files(cls, files: dict[str, str]) -> ModelBundle:
        """The bundle back from :meth:`files`."""
        challenger = files.get("challenger.json")
        return cls(Scorecard.from_json(files["champion.json"]),
                   MonotoneChallenger.from_json(challenger) if challenger is not None else None,
                   json.loads(files["manifest.json"]))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name, content in self.files().items():
            (directory / name).write_text(content)

    @classmethod
    def load(cls, directory: Path) -> ModelBundle:
        if not (directory / "manifest.json").exists():
            raise FileNotFoundError(f"no trained model in {directory}; run `credo train` first")
        names = ("champion.json", "challenger.json", "manifest.json")
        return cls.from_files({n: (directory / n).read_text() for n in names if (directory / n).exists()})
