"""The grid bot: ``python -m bots.grid --symbol TON`` (see bots/grid/app.py for the modes)."""
