import pytest
from typer.testing import CliRunner

from retain.cli import app


@pytest.mark.parametrize("command", ["profile", "drift", "backtest", "validate"])
def test_flags_show_no_bool_type_and_options_keep_theirs(command):
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert "--help" in result.output
    assert "<path>" in result.output or "<str>" in result.output
