"""Wiring of ``python -m bots.grid``: pick the venue, build client/venue/strategy/store, confirm, run.

Which venue (decided by :func:`resolve_mode`, never a guess):

* ``sim``: nothing at all is configured (no ``LIGHTER_*`` variable, no ``./.env``, no
  ``--env-file`` and no ``--network``), or ``--network sim``: a :class:`lighter_sync.sim.SimExchange`
  starts in this process with a funded demo account. Loudly labelled SIMULATOR: no real funds. Its
  clock runs :data:`~bots.grid.config.DEMO_SIM_SPEED` times real time unless ``--sim-speed`` says
  otherwise, so a first run shows fills within seconds.
* ``live``: a configuration is present: it must be complete and valid (a broken one is an error,
  never a fallback to the simulator). Prints a summary and proceeds only after the user types
  ``YES`` (or ``--yes``); sets the leverage on the exchange.
* ``dry-run`` (``--dry-run``): the real market through the streams, fills simulated locally;
  the private keys are stripped from the settings before the client exists, so nothing can be
  signed or sent.

Every banner names the venue, its URL, the account and the API key index (never a key).
Problems raise typed errors (``ConfigError`` for configuration); ``python -m bots.grid`` turns them
into one line on stderr. Exit codes: 0 clean stop, 1 emergency stop or runtime failure,
2 bad configuration, 3 not confirmed.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import signal
import sys
import textwrap
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from bots.grid.config import GridConfig
from bots.grid.private import PrivateRotatingFileHandler
from bots.grid.runner import Runner, RunnerConfig, RunSummary
from bots.grid.store import GridStore, state_path
from bots.grid.strategy import GridStrategy
from bots.strategy import MarketRules, StrategyContext
from lighter_sync.cli import UsageError
from lighter_sync.errors import RequestError, UnknownMarketError

__all__ = [
    "resolve_mode",
    "configuration_sources",
    "run_bot",
    "close_position",
    "EXIT_OK",
    "EXIT_EMERGENCY",
    "EXIT_CONFIG",
    "EXIT_REFUSED",
    "LOG_MAX_BYTES",
    "LOG_BACKUPS",
]

log = logging.getLogger("bots.grid")

EXIT_OK, EXIT_EMERGENCY, EXIT_CONFIG, EXIT_REFUSED = 0, 1, 2, 3
#: The log file beside the state file rotates at this size, keeping this many old files
#: (``.log.1`` ... ``.log.5``): at most about 60 MB per account and market.
LOG_MAX_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 5

_RULE = "=" * 80


def sim_banner(cfg: GridConfig, settings: Any, why: str) -> str:
    """The SIMULATOR banner: why the simulator, how fast its clock runs, and the venue line."""
    from lighter_sync.cli import venue_banner

    speed = cfg.demo_sim_speed
    pace = (
        f"Its market runs {speed:g}x faster than real time, so the grid fills within seconds "
        "(--sim-speed 1 for real time)." if cfg.sim_speed is None
        else f"Its clock runs at {speed:g}x real time (--sim-speed)."
    )
    text = (f"SIMULATOR - no real funds. {why}, so the bot trades a demo account (fake money) on the "
            f"built-in Lighter simulator, started in this process. {pace}")
    return "\n".join([
        _RULE,
        *("  " + line for line in textwrap.wrap(text, 76)),
        f"  {venue_banner(settings, label='built-in simulator')}",
        "  Next steps: --dry-run with a real network (paper trading), then live.",
        _RULE,
    ])


def dry_banner(settings: Any) -> str:
    """The DRY RUN banner with the venue line (the account is a paper one)."""
    from lighter_sync.cli import venue_banner

    return "\n".join([
        _RULE,
        "  DRY RUN - paper trading. Real market data, simulated fills, NOTHING is sent.",
        "  The private key is not loaded.",
        f"  {venue_banner(settings)}",
        _RULE,
    ])


@dataclass
class Mode:
    name: str  # "sim" | "live"
    dry_run: bool
    settings: Any  # lighter_sync.config.Settings or None for the embedded simulator
    why: str = ""  # for the banner: what made this the venue


def configuration_sources(
    cfg: GridConfig, *, environ: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None
) -> list[str]:
    """Everything that counts as "configured": LIGHTER_* variables, ./.env, --env-file, --network."""
    from lighter_sync.config import DEFAULT_ENV_FILE, lighter_env_names

    found = [f"${name}" for name in lighter_env_names(environ)]
    if cfg.env_file is not None:
        found.append(f"--env-file {cfg.env_file}")
    elif os.path.lexists(os.path.join(os.fspath(cwd) if cwd is not None else os.getcwd(), DEFAULT_ENV_FILE)):
        found.append(f"./{DEFAULT_ENV_FILE}")
    if cfg.network is not None:
        found.append(f"--network {cfg.network}")
    return found


def resolve_mode(
    cfg: GridConfig,
    *,
    env: Callable[..., Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> Mode:
    """Decide sim / live / dry-run from the flags, the environment and the env file.

    ``env`` replaces :meth:`Settings.from_env` (tests); ``environ``/``cwd`` replace the process's.
    Raises :class:`~lighter_sync.errors.ConfigError` for a configuration that is present but unusable.
    """
    from lighter_sync.config import DEFAULT_ENV_FILE, Settings

    network = (cfg.network or "").strip()
    if network.lower() == "sim":
        return Mode("sim", cfg.dry_run, None, "--network sim was given")
    sources = configuration_sources(cfg, environ=environ, cwd=cwd)
    if not sources:
        return Mode("sim", cfg.dry_run, None,
                    "Nothing is configured (no LIGHTER_* variable, no ./.env, no --env-file or --network)")
    load = env or Settings.from_env
    env_file = cfg.env_file if cfg.env_file is not None else DEFAULT_ENV_FILE
    if cwd is not None and cfg.env_file is None:
        env_file = os.path.join(os.fspath(cwd), DEFAULT_ENV_FILE)
    settings = load(env_file, network=network) if network else load(env_file)
    if cfg.dry_run:
        return Mode("live", True, strip_credentials(settings), "configured")
    if settings.read_only:
        raise UsageError(
            f"live trading on {settings.network.name} needs an API key (LIGHTER_ACCOUNT_INDEX, "
            "LIGHTER_API_KEY_INDEX, LIGHTER_API_PRIVATE_KEY, LIGHTER_NETWORK); found only "
            f"{', '.join(sources)}. Use --dry-run to paper trade, or --network sim for the built-in simulator",
            where="configuration",
        )
    return Mode("live", False, settings, "configured")


def strip_credentials(settings: Any) -> Any:
    """The same settings without any private key: the client cannot sign anything."""
    return replace(settings, api_private_keys={}, api_key_index=None)


def prepare(cfg: GridConfig, *, env: Callable[..., Any] | None = None) -> Mode:
    """Everything checked before anything starts: the venue, the simulator's market, the state dir.

    Touches no network and starts nothing (it only creates ``--state-dir`` if missing).
    """
    from lighter_sync.cli import check_sim_market, make_dir

    mode = resolve_mode(cfg, env=env)
    if mode.name == "sim":
        check_sim_market(cfg.symbol)
    make_dir(cfg.state_path, flag="--state-dir", what="state folder", private=True)  # fails here, not after the banner
    return mode


def setup_logging(cfg: GridConfig, log_file: Path | None) -> None:
    """Console at ``--log-level``; the log file in the state dir at DEBUG for this package.

    The log file rotates at :data:`LOG_MAX_BYTES` and keeps :data:`LOG_BACKUPS` old files, so a
    long run's log stays bounded like everything else the bot keeps.
    """
    root = logging.getLogger()
    level = getattr(logging, cfg.log_level.upper())
    fmt = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(level)
    console.setFormatter(fmt)
    handlers: list[logging.Handler] = [console]
    if log_file is not None:
        fh = PrivateRotatingFileHandler(  # the state dir 0700, every log file 0600 (bots.grid.private)
            log_file, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
        fh.setLevel(logging.DEBUG)
        fh.setFormatter(fmt)
        handlers.append(fh)
    for h in list(root.handlers):
        if getattr(h, "_grid_handler", False):
            root.removeHandler(h)
            h.close()
    for h in handlers:
        h._grid_handler = True  # type: ignore[attr-defined]  # our marker on the handler
        root.addHandler(h)
    root.setLevel(min(level, logging.DEBUG if log_file is not None else level))
    logging.getLogger("lighter_sync").setLevel(max(level, logging.INFO))


def _confirm(text: str, stdin: TextIO, stdout: TextIO) -> bool:
    stdout.write(text)
    stdout.flush()
    answer = stdin.readline()
    return answer.strip() == "YES"


def live_summary(cfg: GridConfig, client: Any, rules: MarketRules, mid: Decimal | None) -> str:
    """What the user confirms before live trading."""
    p = cfg.grid_params()
    lines = [
        "================================ LIVE TRADING ================================",
        f"  network      {client.settings.network.name} ({client.settings.network.rest_url})",
        f"  account      {client.account_index} (API key {client.settings.api_key_index})",
        f"  market       {rules.symbol} (id {rules.market_id}), tick {rules.tick_size}, step {rules.step_size}, "
        f"min {rules.min_base} base / {rules.min_quote} USD",
        f"  grid         {cfg.levels} levels per side, spacing {cfg.spacing * 100}%, {cfg.order_size} USD per level, "
        f"post-only {'on' if cfg.post_only else 'off'}",
    ]
    if mid is not None:
        low = mid * (1 + p.spacing) ** -cfg.levels
        high = mid * (1 + p.spacing) ** cfg.levels
        lines.append(f"  price now    {mid}; grid from about {low:.6g} to {high:.6g}")
    lines += [
        f"  risk         max position {p.max_position} USD either way, leverage {cfg.leverage}x, "
        f"at most {cfg.max_open_orders} open orders",
        "  on Ctrl-C    the bot cancels its orders and KEEPS the position ('close' subcommand closes it)",
        "==============================================================================",
    ]
    return "\n".join(lines) + "\n"


def run_bot(
    cfg: GridConfig,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    env: Callable[..., Any] | None = None,
    install_signals: bool = True,
    on_runner: Callable[[Runner], None] | None = None,
    mode: Mode | None = None,
) -> int:
    """Run the bot as configured; returns the process exit code.

    Configuration problems raise (``ConfigError``/``ValueError``/``OSError``) before anything starts.
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    mode = mode or prepare(cfg, env=env)
    sim = None
    client = None
    try:
        from lighter_sync import LighterClient

        if mode.name == "sim":
            from lighter_sync.sim import SimExchange

            sim = SimExchange(markets=(cfg.symbol,), seed=cfg.sim_seed, speed=cfg.demo_sim_speed,
                              transport=cfg.sim_transport)
            sim.start()
            settings = sim.settings()
            stdout.write(sim_banner(cfg, settings, mode.why) + "\n")
            stdout.flush()
            if mode.dry_run:
                settings = strip_credentials(settings)
        else:
            settings = mode.settings
        if mode.dry_run:
            stdout.write(dry_banner(settings) + "\n")
            stdout.flush()
        client = LighterClient(settings)
        return _run_with_client(cfg, mode, client, sim, stdin, stdout, install_signals, on_runner)
    finally:
        if client is not None:
            client.close()
        if sim is not None:
            sim.stop()


def _market(client: Any, symbol: str) -> Any:
    """The venue's market for ``--symbol`` (unknown: a configuration error with suggestions)."""
    try:
        return client.market(symbol)
    except UnknownMarketError as exc:
        raise UsageError(f"{exc.message} (venue {client.settings.network.name})", where="--symbol") from None


def _run_with_client(
    cfg: GridConfig,
    mode: Mode,
    client: Any,
    sim: Any,
    stdin: TextIO,
    stdout: TextIO,
    install_signals: bool,
    on_runner: Callable[[Runner], None] | None,
) -> int:
    from lighter_sync.errors import LighterError

    market = _market(client, cfg.symbol)
    rules = MarketRules.from_market(market)
    if cfg.order_size <= rules.min_quote:
        raise UsageError(
            f"order size {cfg.order_size} USD must exceed {rules.symbol}'s minimum order of {rules.min_quote} USD",
            where="--order-size",
        )
    account = "paper" if mode.dry_run else str(client.account_index)
    network = "sim" if sim is not None else client.settings.network.name
    if network in ("sim", "custom") and sim is None:
        network = client.settings.network.rest_url  # one state file per venue URL
    path = state_path(cfg.state_path, network + ("-dry" if mode.dry_run else ""), account, rules.symbol)
    if sim is not None:
        # the embedded simulator starts from scratch each run, and so does its state
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    setup_logging(cfg, path.with_suffix(".log"))
    if mode.name == "live" and not mode.dry_run:
        try:
            top = client.order_book(rules.symbol, depth=1)
            mid = (top.bids[0].price + top.asks[0].price) / 2 if top.bids and top.asks else None
        except LighterError:
            mid = None
        stdout.write(live_summary(cfg, client, rules, mid))
        if not cfg.yes:
            if not stdin.isatty() and stdin is sys.stdin:
                stdout.write("refusing to trade: not interactive; pass --yes to confirm non-interactively\n")
                return EXIT_REFUSED
            if not _confirm("Type YES to start trading with real funds: ", stdin, stdout):
                stdout.write("not confirmed: nothing was done\n")
                return EXIT_REFUSED
        try:
            client.update_leverage(rules.symbol, cfg.leverage)
            log.info("leverage set to %sx on %s", cfg.leverage, rules.symbol)
        except RequestError as exc:
            raise UsageError(f"the venue refused leverage {cfg.leverage}x on {rules.symbol}: {exc}",
                             where="--leverage") from None
    venue: Any
    if mode.dry_run:
        from bots.grid.paper import PaperVenue

        venue = PaperVenue.from_client(client, rules.symbol)
    else:
        from bots.grid.client_venue import ClientVenue

        venue = ClientVenue(client, rules.symbol)
    store = GridStore(path)
    store.set_meta("settings", {k: str(v) for k, v in vars(cfg).items()})
    strategy = GridStrategy(StrategyContext(venue.rules, cfg.max_open_orders), cfg.grid_params())
    runner = Runner(
        venue,
        strategy,
        store,
        RunnerConfig(
            max_open_orders=cfg.max_open_orders,
            requests_per_minute=cfg.requests_per_minute,
            status_every_ms=int(cfg.status_every * 1000),
            cancel_foreign=cfg.cancel_foreign,
        ),
    )
    if on_runner is not None:
        on_runner(runner)
    log.info("state file %s (%s)", path, venue.label)
    restore = _install_signals(runner) if install_signals else None
    code = EXIT_OK
    summary: RunSummary | None = None
    try:
        summary = runner.run(duration_s=cfg.duration)
    except Exception as exc:  # run() already did the emergency stop
        log.critical("stopped after an unexpected error: %s", exc)
        summary = runner.summary()
        code = EXIT_EMERGENCY
    finally:
        if restore is not None:
            restore()
        venue.close()
        store.close()
    stdout.write("summary: " + " ".join(summary.lines()) + "\n")
    if summary.errors:
        stdout.write("errors: " + "; ".join(summary.errors) + "\n")
        code = code or EXIT_EMERGENCY
    stdout.flush()
    return code


def _install_signals(runner: Runner) -> Callable[[], None] | None:
    """Ctrl-C / SIGTERM: graceful stop; a second Ctrl-C exits at once. Returns a restorer."""
    if threading.current_thread() is not threading.main_thread():
        return None
    presses = [0]

    def handler(signum: int, frame: Any) -> None:
        presses[0] += 1
        if presses[0] == 1 and not runner.stopping:
            log.warning(
                "stopping: cancelling the bot's orders, keeping the position (Ctrl-C again exits at once)"
            )
            runner.request_stop()
            return
        log.critical("second interrupt: exiting at once; bot orders may remain on the venue")
        logging.shutdown()
        os._exit(130)

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def close_position(
    cfg: GridConfig,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    env: Callable[..., Any] | None = None,
    mode: Mode | None = None,
) -> int:
    """``python -m bots.grid close``: close the net position with a reduce-only market order."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    mode = mode or close_mode(cfg, env=env)
    from lighter_sync import LighterClient
    from lighter_sync.cli import venue_banner
    from lighter_sync.errors import LighterError

    with LighterClient(mode.settings) as client:
        market = _market(client, cfg.symbol)
        pos = client.position(market.symbol)
        stdout.write(venue_banner(client.settings, account=client.account_index) + "\n")
        size = pos.size if pos is not None else Decimal(0)
        if size == 0:
            stdout.write(f"{market.symbol}: no position, nothing to close\n")
            return EXIT_OK
        side = "sell" if size > 0 else "buy"
        stdout.write(
            f"{market.symbol} position {size} (avg entry {pos.avg_entry_price if pos else '-'}) on "
            f"{client.settings.network.name} account {client.account_index}: closing with a reduce-only "
            f"market {side} of {abs(size)}\n"
        )
        if not cfg.yes and not _confirm("Type YES to close the position: ", stdin, stdout):
            stdout.write("not confirmed: nothing was done\n")
            return EXIT_REFUSED
        try:
            result = client.create_market_order(market.symbol, side, abs(size), reduce_only=True, wait=True)
        except LighterError as exc:
            stdout.write(f"close failed: {exc}\n")
            return EXIT_EMERGENCY
        order = result.order
        status = getattr(order, "status", "sent")
        stdout.write(f"close order {result.client_order_index}: {status}\n")
        after = client.position(market.symbol)
        stdout.write(f"{market.symbol} position now {after.size if after is not None else 0}\n")
        return EXIT_OK if status == "filled" else EXIT_EMERGENCY


def close_mode(cfg: GridConfig, *, env: Callable[..., Any] | None = None) -> Mode:
    """The venue ``close`` acts on: a configured one with keys (the built-in simulator starts empty)."""
    mode = resolve_mode(replace(cfg, dry_run=False), env=env)
    if mode.name == "sim":
        raise UsageError(
            "'close' needs a configured venue with an API key (LIGHTER_NETWORK and keys, a .env, or "
            "--network with a running simulator's URL and its demo account); the built-in simulator starts empty",
            where="close",
        )
    return mode
