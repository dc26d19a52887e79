"""`d365portal report deflection` (issue 16): the demo's case deflections of the last 30 days."""

from __future__ import annotations

from tests.admin.conftest import invoke


def test_the_report_prints_the_demos_deflections(emulator_env: dict[str, str]) -> None:
    result = invoke(emulator_env, "report", "deflection")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()  # (a background log line may come between them)
    assert any(line.startswith("Case deflection, last 30 days") for line in lines)
    vpn = next(line for line in lines if "Cómo conectarse a la VPN corporativa" in line)
    excel = next(line for line in lines if "Exportar un informe a Excel" in line)
    assert vpn.split()[-3:] == ["1", "0", "1"]  # opened from the form once, no case: deflected
    assert excel.split()[-3:] == ["1", "1", "0"]  # opened, and the case opened anyway
    total = next(line for line in lines if line.split()[:1] == ["total"])
    assert total.split()[-3:] == ["2", "1", "1"]


def test_a_shorter_window_leaves_older_deflections_out(emulator_env: dict[str, str]) -> None:
    result = invoke(emulator_env, "report", "deflection", "--days", "4")
    assert result.exit_code == 0, result.output
    assert "Exportar un informe a Excel" in result.output  # three days ago
    assert "Cómo conectarse a la VPN corporativa" not in result.output  # five days ago
