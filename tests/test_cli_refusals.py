"""CLI refusals are one line with the stable code and a non-zero exit, never a traceback (issue 11, finding 12)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from credo.cli.main import app as cli

runner = CliRunner()


def _one_line(output: str) -> str:
    lines = [x for x in output.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


def test_bad_input_and_typos_exit_non_zero_in_one_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    bad_kind = runner.invoke(cli, ["partner", "add", "p-1", "--name", "P", "--kind", "foo", "--type", "bill.issued",
                                   "--db", db])
    assert bad_kind.exit_code == 1
    line = _one_line(bad_kind.output)
    assert "REG_INVALID kind" in line and "'foo'" in line and "visa_office" in line
    added = runner.invoke(cli, ["partner", "add", "p-1", "--name", "P", "--kind", "hotel", "--type", "bill.issued",
                                "--db", db])
    assert added.exit_code == 0, added.output
    key_id = added.output.split("credo_", 1)[1].split("_", 1)[0]
    typo = runner.invoke(cli, ["partner", "revoke-key", key_id + "x", "--db", db])
    assert typo.exit_code == 1 and "NOT_FOUND key_id" in _one_line(typo.output)
    ok = runner.invoke(cli, ["partner", "revoke-key", key_id, "--db", db])
    assert ok.exit_code == 0 and f"key {key_id} revoked" in ok.output
    again = runner.invoke(cli, ["partner", "revoke-key", key_id, "--db", db])
    assert again.exit_code == 0 and "already revoked" in again.output
    unknown_type = runner.invoke(cli, ["partner", "add", "p-2", "--name", "P", "--kind", "credit", "--type", "nope",
                                       "--db", db])
    assert unknown_type.exit_code == 1 and "REG_INVALID event_types" in _one_line(unknown_type.output)
