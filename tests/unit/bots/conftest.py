"""The grid runner's fixtures (defined in test_grid_runner.py), for the other runner test files too."""

from test_grid_runner import env, one_order, shutdown_env  # noqa: F401
