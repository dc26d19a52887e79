"""`python -m d365portal.emulator …`: the same as `d365portal emulator …` (demo mode starts it so)."""

from d365portal.emulator.cli import emulator_command

if __name__ == "__main__":
    emulator_command(prog_name="d365portal emulator")
