"""``SimExchange``: the local Lighter-compatible exchange, in-process, on its own thread.

::

    with SimExchange(seed=1) as sim:
        settings = sim.settings(account=0)      # ready-to-use client settings for the demo account
        sim.url, sim.ws_url, sim.chain_id
        sim.set_price("ETH", Decimal("3000"))
        sim.faults.gap_order_book(0)            # next ETH book diff is lost
        sim.ledger()                            # full state as plain dicts

The server (aiohttp REST + WebSocket) runs on a named daemon thread, ``lighter-sim``, with its own
asyncio loop; the engine is touched only there. Python methods of this class are thread-safe: they
hop onto the loop with :meth:`call`. ``stop()`` (or leaving the ``with`` block) announces
``shutdown`` to WebSocket clients, closes the listener and joins the thread.

Clock: by default simulated time is wall time times ``speed``. With ``clock="manual"`` time only
moves when :meth:`advance` is called, and a seeded run with a fixed ``start_ms`` is reproducible
event for event. An
accepted tx applies ``latency_ms`` of simulated time later, so under a manual clock it waits for
the next ``advance`` (with latency 0 it applies at once). Client-side validity checks (auth-token
deadlines, ``ExpiredAt``, the order-expiry window) use wall time, because the SDK's signer stamps
them with the real time; the engine's own expiry check uses the simulated clock, so keep a manual
clock near wall time (the default start) when the SDK signs orders.

Signatures: every signed tx and auth token is verified like Lighter verifies it (400 ``21120
invalid signature``, 401 ``20013 invalid auth``) and every tx hash is the one the signer
returned; ``verify_signatures=False`` skips the check for load tests (``lighter_sync.sim.sigcheck``).

Demo accounts have a throwaway Ethereum L1 key derived from the seed and an API key made by the
SDK's ``create_api_key()`` at index 4 (0-3 are reserved for Lighter's apps). Generating keys loads
the ``lighter`` SDK (about 1 s, once per process); generated keys are pooled per process so a test
suite that starts many simulators pays that once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from lighter_sync.errors import ConfigError
from lighter_sync.sim import params as P
from lighter_sync.sim.faults import Faults
from lighter_sync.sim.server_clock import ManualClock, SimClock, WallClock

__all__ = ["SimExchange", "DemoAccount", "DEMO_API_KEY_INDEX", "SIM_CHAIN_ID"]

log = logging.getLogger("lighter_sync.sim")

T = TypeVar("T")
SIM_CHAIN_ID = 300
DEMO_API_KEY_INDEX = 4
DEFAULT_COLLATERAL = Decimal("100000")
_MAX_PRICE_LAG_MS = 86_400_000  # an explicit price process may start at most a day before the clock
# Admin limits: far beyond any real use, small enough that no value can hang or break the simulator.
_MAX_USDC = Decimal(10**13)  # one deposit / account; the ledger-wide cap is params.MAX_COLLATERAL_MICRO
_MAX_PRICE = Decimal(10**12)
_MAX_FAULT_MS = 600_000  # a delayed/held answer or a stalled socket: at most 10 minutes
_MAX_CHURN = 1_000_000  # order-book diffs per /sim/book/churn call
_MAX_ADVANCE_MS = 366 * 86_400_000  # a manual clock moves at most a year per call

_KEY_POOL: list[tuple[str, str]] = []
_KEY_LOCK = threading.Lock()


def new_api_key() -> tuple[str, str]:
    """A fresh (private, public) API key pair from the SDK's ``create_api_key()``, hex without ``0x``.

    The first call in a process imports the SDK; pairs are generated in small batches and pooled.
    """
    with _KEY_LOCK:
        if not _KEY_POOL:
            from lighter.signer_client import create_api_key  # lazy: ~1 s

            for _ in range(8):
                priv, pub, err = create_api_key()
                if err:
                    raise RuntimeError(f"create_api_key failed: {err}")
                _KEY_POOL.append((priv.removeprefix("0x"), pub.removeprefix("0x")))
        return _KEY_POOL.pop()


def _return_key(pair: tuple[str, str]) -> None:
    """Put an unused key pair back into the pool."""
    with _KEY_LOCK:
        _KEY_POOL.append(pair)


def l1_wallet(seed: int, n: int) -> tuple[str, str]:
    """A throwaway Ethereum key (``0x`` + 64 hex) and its checksum address, derived from the seed."""
    from eth_account import Account  # lazy: ~0.4 s

    key = "0x" + hashlib.sha256(f"lighter-sim-l1:{seed}:{n}".encode()).hexdigest()
    return key, Account.from_key(key).address


@dataclass(frozen=True)
class DemoAccount:
    """A funded simulator account with a registered API key. Secrets are hidden from ``repr``."""

    account_index: int
    l1_address: str
    l1_private_key: str = field(repr=False)
    api_key_index: int
    api_private_key: str = field(repr=False)
    collateral: Decimal

    def as_dict(self) -> dict[str, Any]:
        """The ready-file shape (includes the keys: the simulator's keys are throwaway)."""
        return {"account_index": self.account_index, "l1_address": self.l1_address,
                "l1_private_key": self.l1_private_key, "api_key_index": self.api_key_index,
                "api_private_key": self.api_private_key, "collateral": f"{self.collateral:f}"}


class SimExchange:
    """A running simulator. See the module docstring."""

    def __init__(
        self,
        markets: Iterable[str] = ("TON", "ETH", "BTC", "SOL"),
        seed: int = 1,
        speed: float = 1.0,
        clock: str | SimClock | None = None,
        latency_ms: tuple[int, int] = (5, 5),
        crowd: bool = True,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        accounts: int = 1,
        collateral: Decimal | int | str = DEFAULT_COLLATERAL,
        tick_ms: int = 50,
        idle_timeout_s: float = 120.0,
        ping_interval_s: float = 30.0,
        rate_limit: bool = False,
        start_ms: int | None = None,
        price_model: str = "gbm",
        scenario: str | None = None,
        replay: Mapping[str, str | Path] | None = None,
        prices: Mapping[str | int, Any] | None = None,
        crowd_config: Any = None,
        extra_markets: Any = None,
        transport: str = "tcp",
        history: bool = True,
        verify_signatures: bool = True,
    ) -> None:
        if transport not in ("tcp", "inprocess"):
            raise ConfigError(f"transport must be 'tcp' or 'inprocess', got {transport!r}")
        self.transport = transport
        self.history = bool(history)  # a day of prints, candles and fundings before the start
        self.markets = tuple(markets)
        self.seed = int(seed)
        self.speed = float(speed)
        if clock is None:
            self.clock: SimClock = WallClock(speed, start_ms)
        elif clock == "manual":
            self.clock = ManualClock(start_ms)
        elif isinstance(clock, SimClock):
            self.clock = clock
        else:
            raise ValueError("clock must be None, 'manual' or a SimClock")
        self.latency_ms = (int(latency_ms[0]), int(latency_ms[1]))
        self.use_crowd = crowd
        self.host = host
        self.port = int(port)
        self.n_accounts = accounts
        self.collateral = Decimal(collateral)
        self.tick_ms = tick_ms
        self.idle_timeout_s = idle_timeout_s
        self.ping_interval_s = ping_interval_s
        self.rate_limit = rate_limit
        self.price_model = price_model
        self.scenario = scenario
        self.replay = dict(replay or {})
        self.price_overrides = dict(prices or {})
        self.crowd_config = crowd_config
        self.extra_markets = extra_markets  # dict / list of dicts / JSON path (specs.load_markets)
        self.chain_id = SIM_CHAIN_ID
        self.verify_signatures = bool(verify_signatures)  # False: accept any Sig (load tests)
        self.faults = Faults(self.seed)
        self.accounts: list[DemoAccount] = []
        self.url = ""
        self.ws_url = ""
        self.engine: Any = None
        self.core: Any = None
        self.server: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._stopping: asyncio.Event | None = None
        self._wake: asyncio.Event | None = None
        self._wallet_counter = 0
        self._closed = False

    # -- lifecycle --------------------------------------------------------------------------------
    def __enter__(self) -> SimExchange:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SimExchange(url={self.url!r}, markets={self.markets!r}, seed={self.seed})"

    def _build(self) -> None:
        from lighter_sync.sim.engine import Engine
        from lighter_sync.sim.server_core import SimCore
        from lighter_sync.sim.specs import market_profiles

        profiles = market_profiles(self.markets, self.extra_markets)
        self.engine = Engine([p.spec() for p in profiles], self.clock.now_ms, seed=self.seed)
        start = self.clock.now_ms()
        prices = {}
        for p in profiles:
            process = self._price_process(p, start)
            prices[p.market_id] = process
            ticks = max(1, int(round(process.price * 10**p.price_decimals)))
            self.engine.set_prices(p.market_id, ticks, ticks)
        past: dict[int, list[Any]] = {}
        if self.history:
            from lighter_sync.sim.history import seed_day

            past = seed_day(self.engine, profiles, {m: p.price for m, p in prices.items()}, start, seed=self.seed,
                            model=self.price_model or "gbm")
        crowd = None
        if self.use_crowd:
            crowd = self._make_crowd(profiles)
            if crowd is not None:
                for m, day in past.items():  # positions behind the day's open interest
                    volume = sum(t.usd_amount for t in day) / 1_000_000
                    crowd.seed_open_interest(m, min(50_000.0, volume / 10), start)
                crowd.step(start)  # a full book before the first client connects
        self.core = SimCore(self.engine, self.clock, self.faults, seed=self.seed, latency_ms=self.latency_ms,
                            tick_ms=self.tick_ms, crowd=crowd, prices=prices, chain_id=self.chain_id,
                            verify_signatures=self.verify_signatures)
        self.core.seed_history()
        self.engine.drain_events()
        for _ in range(self.n_accounts):
            self.accounts.append(self._create_account(self.collateral, "standard"))
        self.engine.drain_events()

    def _price_process(self, profile: Any, start_ms: int) -> Any:
        """The market's price process: an explicit one, a candle-file replay, or a seeded model."""
        from lighter_sync.sim.prices import CandleReplay, load_candles, make_process

        for key in (profile.symbol, profile.market_id, str(profile.market_id)):
            if key in self.price_overrides:
                process = self.price_overrides[key]
                lag_ms = start_ms - int(getattr(process, "now_ms", start_ms))
                if lag_ms > _MAX_PRICE_LAG_MS:
                    # The tick loop would first have to simulate the whole lag step by step on the
                    # sim thread, which looks like a hang: refuse it up front instead.
                    raise ConfigError(
                        f"price process for {profile.symbol} starts {lag_ms / 86_400_000:.1f} days before the "
                        f"simulator's clock ({start_ms} ms); create it with start_ms={start_ms}"
                    )
                return process
        path = self.replay.get(profile.symbol) or self.replay.get(profile.symbol.lower())
        if path is not None:
            return CandleReplay(load_candles(path), start_ms=start_ms)
        return make_process(self.price_model, start_price=float(profile.start_price), vol=profile.volatility,
                            seed=self.seed * 7919 + profile.market_id, scenario=self.scenario, start_ms=start_ms,
                            step_ms=1_000)

    def _make_crowd(self, profiles: list[Any]) -> Any:
        from lighter_sync.sim.crowd import Crowd

        return Crowd(self.engine, profiles, seed=self.seed, config=self.crowd_config)

    def _create_account(self, collateral: Decimal, tier: str, api_key_index: int = DEMO_API_KEY_INDEX) -> DemoAccount:
        from lighter_sync.sim.engine_types import AccountTier

        self._wallet_counter += 1
        l1_key, l1_address = l1_wallet(self.seed, self._wallet_counter)
        priv, pub = new_api_key()
        account = self.engine.create_account(l1_address, int(collateral * 1_000_000), tier=AccountTier(tier))
        self.engine.register_api_key(account.account_index, api_key_index, pub)
        return DemoAccount(account.account_index, l1_address, l1_key, api_key_index, priv, collateral)

    def start(self) -> SimExchange:
        """Build the exchange, start the server thread and wait until it listens."""
        if self._thread is not None:
            return self
        self._build()
        self._thread = threading.Thread(target=self._run, name="lighter-sim", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("simulator did not start within 30 s")
        if self._start_error is not None:
            self._thread.join(5)
            raise RuntimeError(f"simulator failed to start: {self._start_error}") from self._start_error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # pragma: no cover - reported through start()
            if not self._ready.is_set():
                self._start_error = exc
                self._ready.set()
            else:
                log.exception("simulator loop crashed")
        finally:
            try:
                # handlers still sleeping (timeout/delay faults) are cancelled, not left to die at exit
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def _main(self) -> None:
        from lighter_sync.sim.server import SimServer

        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self.server = SimServer(self.core, idle_timeout_s=self.idle_timeout_s,
                                ping_interval_s=self.ping_interval_s, admin=self)
        self.server.ratelimit.enabled = self.rate_limit
        self.core.on_new_pending = self._wake.set
        self.faults.on_ws_drop = self._on_ws_drop
        serve = self._serve_inprocess if self.transport == "inprocess" else self._serve_tcp
        async with serve():
            self._ready.set()
            ticker = asyncio.ensure_future(self._tick_loop())
            await self._stopping.wait()
            ticker.cancel()
            try:
                await self.server.hub.shutdown(close_in_ms=50)
            except Exception:  # pragma: no cover
                log.exception("error while closing websockets")

    @contextlib.asynccontextmanager
    async def _serve_tcp(self) -> AsyncIterator[None]:
        """Listen on ``host:port`` (aiohttp) until stopped."""
        from aiohttp import web

        runner = web.AppRunner(self.server.build(), access_log=None, handle_signals=False, shutdown_timeout=0.25)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
            self.port = runner.addresses[0][1]  # the bound port (``port=0`` asks the OS for a free one)
            host = self.host if ":" not in self.host else f"[{self.host}]"
            self.url = f"http://{host}:{self.port}"
            self.ws_url = f"ws://{host}:{self.port}/stream"
            yield
        finally:
            await runner.cleanup()

    @contextlib.asynccontextmanager
    async def _serve_inprocess(self) -> AsyncIterator[None]:
        """Answer clients of this process through :mod:`lighter_sync.inprocess` (no socket)."""
        from lighter_sync import inprocess
        from lighter_sync.sim.server_local import LocalVenue

        venue = LocalVenue(asyncio.get_running_loop(), self.server)
        host = inprocess.register(venue)
        self.url = f"http://{host}"
        self.ws_url = f"ws://{host}/stream"
        try:
            yield
        finally:
            venue.closed = True
            inprocess.unregister(host)

    async def _tick_loop(self) -> None:
        """Real-time driver: apply due txs and tick every ``tick_ms`` of sim time (idle in manual mode)."""
        core = self.core
        clock = self.clock
        assert self._wake is not None
        while True:
            try:
                if clock.manual:
                    # time stands still: only txs already due (latency 0) apply, in arrival order
                    await self._wake.wait()
                    self._wake.clear()
                    if core.apply_due(clock.now_ms()):
                        core.flush_books()
                    continue
                now = clock.now_ms()
                if now - core.last_tick_ms > 40 * core.tick_ms:
                    # Far behind (high speed, slow machine): coalesce the missed ticks into one step rather
                    # than starve the server; the crowd and the price processes handle long steps.
                    core.last_tick_ms = now - core.tick_ms
                core.run_until(now)
                nxt = core.last_tick_ms + core.tick_ms
                due = core.next_due_ms()
                if due is not None:
                    nxt = min(nxt, due)
                delay = clock.wall_seconds_until(nxt)
                if delay > 0:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), delay)
                    except asyncio.TimeoutError:
                        pass
                else:
                    await asyncio.sleep(0)
            except asyncio.CancelledError:
                raise
            except Exception:  # pragma: no cover - keep the exchange alive
                log.exception("simulator tick failed")
                await asyncio.sleep(0.05)

    def stop(self) -> None:
        """Announce shutdown, close sockets and the listener, join the thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive() and self._stopping is not None:
            loop.call_soon_threadsafe(self._stopping.set)
            thread.join(10)
            if thread.is_alive():  # pragma: no cover
                log.warning("simulator thread did not stop within 10 s")

    close = stop

    # -- thread bridge ----------------------------------------------------------------------------
    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 10.0) -> T:
        """Run ``fn(*args)`` on the simulator thread and return its result (thread-safe)."""
        loop = self._loop
        if loop is None or self._thread is None:
            return fn(*args)  # not started: nothing else touches the engine
        if threading.current_thread() is self._thread:
            return fn(*args)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return future.result(timeout)

    def _on_ws_drop(self, session_id: str | None) -> None:
        if self._loop is not None and self.server is not None:
            if threading.current_thread() is self._thread:
                self.server.hub.drop(session_id)
            else:
                self._loop.call_soon_threadsafe(self.server.hub.drop, session_id)

    # -- control ----------------------------------------------------------------------------------
    def settings(self, account: int = 0) -> Any:
        """``lighter_sync.config.Settings`` for demo account number ``account`` (0 = the first)."""
        from lighter_sync.config import NetworkProfile, Secret, Settings

        demo = self.accounts[account]
        network = NetworkProfile("sim", self.url, self.ws_url, self.chain_id)
        return Settings(network=network, account_index=demo.account_index, api_key_index=demo.api_key_index,
                        api_private_keys={demo.api_key_index: Secret(demo.api_private_key)},
                        l1_address=demo.l1_address, rate_limit="off")

    def ready_info(self) -> dict[str, Any]:
        """What the ready file holds: URLs, chain id, markets and demo accounts (with their throwaway keys)."""
        markets = [{"symbol": s.symbol, "market_id": m} for m, s in sorted(self.core.specs.items())]
        return {"url": self.url, "ws_url": self.ws_url, "chain_id": self.chain_id, "markets": markets,
                "accounts": [a.as_dict() for a in self.accounts]}

    def ledger(self) -> dict[str, Any]:
        """The engine's full ledger snapshot (orders, fills, positions, balances) as plain dicts."""
        return self.call(self.engine.ledger)

    def create_account(self, collateral: Decimal | int | str = DEFAULT_COLLATERAL, *, tier: str = "standard",
                       api_key_index: int = DEMO_API_KEY_INDEX) -> DemoAccount:
        """Create and fund a new account with a registered API key (a new demo account)."""
        value = P.decimal_param({"collateral": collateral}, "collateral", lo=Decimal(0), hi=_MAX_USDC)
        _return_key(new_api_key())  # warm the pool outside the loop: the first call may import the SDK

        def create() -> DemoAccount:
            P.usdc_micro(value, "collateral", held_now=self._held_micro(), allow_zero=True)
            return self._create_account(value, tier, api_key_index)

        account = self.call(create)
        self.accounts.append(account)
        return account

    def fund(self, account_index: int, amount: Decimal | int | str) -> None:
        """Deposit ``amount`` USDC into an account (positive, within what the ledger can hold)."""
        value = P.decimal_param({"amount": amount}, "amount", lo=Decimal(0), hi=_MAX_USDC)

        def deposit() -> None:
            self._with_events(self.engine.deposit, account_index,
                              P.usdc_micro(value, "amount", held_now=self._held_micro()))

        self.call(deposit)

    def register_api_key(self, account_index: int, api_key_index: int, public_key: str) -> None:
        """Register (or replace) an API key directly, without a ChangePubKey tx."""
        self.call(self.engine.register_api_key, account_index, api_key_index, public_key.removeprefix("0x"))

    def set_tier(self, account_index: int, tier: str) -> None:
        from lighter_sync.sim.engine_types import AccountTier

        self.call(self.engine.set_tier, account_index, AccountTier(tier))

    def _market_id(self, symbol: str | int) -> int:
        return self.engine.market(symbol).market_id

    def set_price(self, symbol: str | int, price: Decimal | int | str) -> None:
        """Move a market's index and mark price to ``price`` now (the price path continues from there)."""
        value = P.decimal_param({"price": price}, "price", lo=Decimal(0), hi=_MAX_PRICE)

        def move() -> None:
            market_id = self._market_id(symbol)
            self._check_price(self.core.specs[market_id], value)
            self.core.set_market_price(market_id, value)

        self.call(move)

    def jump_price(self, symbol: str | int, percent: Decimal | float | str) -> Decimal:
        """Jump a market's price by ``percent`` (e.g. -10); returns the new price."""
        def current() -> Decimal:
            market_id = self._market_id(symbol)
            return self.core.specs[market_id].price_decimal(self.engine.index_price(market_id))

        pct = P.decimal_param({"percent": percent}, "percent", lo=Decimal(-100), hi=Decimal(10**6))
        spec_decimals = self.call(lambda: self.core.specs[self._market_id(symbol)].price_decimals)
        new = (self.call(current) * (1 + pct / 100)).quantize(Decimal(1).scaleb(-spec_decimals))
        self.set_price(symbol, new)
        return new

    def advance(self, ms: int) -> None:
        """Manual clock: move simulated time forward by ``ms``, running ticks and due txs in order."""
        if not self.clock.manual:
            raise RuntimeError("advance() needs SimExchange(clock='manual')")
        self.call(lambda: self.core.run_until(self.clock.now_ms() + int(ms)), timeout=600)

    def set_rate_limit(self, enabled: bool) -> None:
        """Switch Lighter-like REST rate limits on or off."""
        def run() -> None:
            self.server.ratelimit.enabled = bool(enabled)
            self.server.ratelimit.reset()

        self.call(run)

    def _with_events(self, fn: Callable[..., T], *args: Any) -> T:
        result = fn(*args)
        self.core.process_events()
        return result

    # -- /sim admin API ---------------------------------------------------------------------------
    async def admin_call(self, method: str, tail: str, params: dict[str, Any]) -> Any:
        """Dispatch ``/sim/<tail>`` (runs on the loop thread). Raises KeyError for unknown paths and
        :class:`~lighter_sync.sim.params.ParamError` (a ValueError: HTTP 400) for a bad value."""
        f = self.faults
        if tail == "info" and method == "GET":
            return self.ready_info()
        if tail == "ledger" and method == "GET":
            return {"ledger": self.engine.ledger()}
        if method != "POST" and tail != "faults":
            raise KeyError(tail)
        if tail == "faults":
            if method == "DELETE":
                f.clear()
            elif method != "GET":
                raise KeyError(tail)
            return {"faults": f.snapshot()}
        if tail == "faults/clear":
            f.clear()
            return {"faults": f.snapshot()}
        if tail == "faults/rest":
            status = P.int_param(params, "status", 0, lo=0, hi=599) or None
            count = P.int_param(params, "count", 0, lo=0, hi=10**9) or None
            f.fail_rest(P.choice_param(params, "kind", ("5xx", "429", "timeout", "delay"), "5xx"),
                        P.float_param(params, "share", 1.0, lo=0.0, hi=1.0), status=status,
                        delay_ms=P.int_param(params, "delay_ms", 0, lo=0, hi=_MAX_FAULT_MS),
                        path_prefix=P.str_param(params, "path_prefix", ""), count=count)
            return {"faults": f.snapshot()}
        if tail == "faults/tx":
            f.reject_next_tx(P.int_param(params, "count", 1, lo=0, hi=10**9),
                             P.int_param(params, "code", 21501, lo=1, hi=99_999),
                             P.str_param(params, "message", "rejected by fault injection"))
            return {"faults": f.snapshot()}
        if tail == "faults/ws/drop":
            sid = P.str_param(params, "session_id", "")
            return {"dropped": self.server.hub.drop(sid or None)}
        if tail == "faults/ws/stall":
            sid = P.str_param(params, "session_id", "")
            f.stall_ws(P.float_param(params, "seconds", 5.0, lo=0.0, hi=_MAX_FAULT_MS / 1000), sid or None)
            return {"faults": f.snapshot()}
        if tail == "faults/ws/gap":
            f.gap_order_book(self._admin_market(params, "market_id", 0),
                             P.int_param(params, "count", 1, lo=1, hi=10**6))
            return {"faults": f.snapshot()}
        if tail == "book/churn":
            market_id = self._admin_market(params, "market_id", 0)
            total = P.int_param(params, "count", 1000, lo=0, hi=_MAX_CHURN)
            through_engine = P.bool_param(params, "through_engine", True)
            done = 0
            while done < total:  # in chunks, so the writers flush while we generate
                step = min(500, total - done)
                done += self.core.churn_book(market_id, step, through_engine=through_engine)
                await asyncio.sleep(0)
            return {"diffs": done}
        if tail == "ratelimit":
            self.server.ratelimit.enabled = P.bool_param(params, "enabled", True)
            self.server.ratelimit.reset()
            return {"enabled": self.server.ratelimit.enabled}
        if tail == "clock/advance":
            if not self.clock.manual:
                raise P.ParamError("the simulator does not run a manual clock")
            self.core.run_until(self.clock.now_ms() + P.int_param(params, "ms", 0, lo=0, hi=_MAX_ADVANCE_MS))
            return {"now_ms": self.clock.now_ms()}
        if tail in ("price", "price/jump"):
            market_id = self._admin_market(params, "symbol" if "symbol" in params else "market_id")
            spec = self.core.specs[market_id]
            if tail == "price":
                price = P.decimal_param(params, "price", lo=Decimal(0), hi=_MAX_PRICE)
            else:
                percent = P.decimal_param(params, "percent", 0, lo=Decimal(-100), hi=Decimal(10**6))
                old = spec.price_decimal(self.engine.index_price(market_id))
                price = (old * (1 + percent / 100)).quantize(Decimal(1).scaleb(-spec.price_decimals))
            self._check_price(spec, price)
            self.core.set_market_price(market_id, price)
            return {"symbol": spec.symbol, "price": f"{price:f}"}
        if tail == "accounts":
            collateral = P.decimal_param(params, "collateral", DEFAULT_COLLATERAL, lo=Decimal(0), hi=_MAX_USDC)
            tier = P.choice_param(params, "tier", ("standard", "premium"), "standard")
            key_index = P.int_param(params, "api_key_index", DEMO_API_KEY_INDEX, lo=0, hi=254)
            P.usdc_micro(collateral, "collateral", held_now=self._held_micro(), allow_zero=True)
            loop = asyncio.get_running_loop()
            _return_key(await loop.run_in_executor(None, new_api_key))
            account = self._create_account(collateral, tier, key_index)
            self.accounts.append(account)
            return {"account": account.as_dict()}
        parts = tail.split("/")
        if len(parts) == 3 and parts[0] == "accounts" and parts[1].isascii() and parts[1].isdigit():
            account_index = P.int_param({"account_index": parts[1]}, "account_index", lo=0, hi=2**63 - 1)
            if parts[2] == "fund":
                amount = P.decimal_param(params, "amount", lo=Decimal(0), hi=_MAX_USDC)
                self.engine.deposit(account_index, P.usdc_micro(amount, "amount", held_now=self._held_micro()))
                self.core.process_events()
                return {"account_index": account_index}
            if parts[2] == "apikeys":
                public_key = P.str_param(params, "public_key").removeprefix("0x")
                if len(public_key) != 80 or not all(c in "0123456789abcdefABCDEF" for c in public_key):
                    raise P.ParamError("public_key must be 40 bytes of hex (80 characters)")
                self.engine.register_api_key(account_index, P.int_param(params, "api_key_index", lo=0, hi=254),
                                             public_key)
                return {"account_index": account_index}
            if parts[2] == "tier":
                from lighter_sync.sim.engine_types import AccountTier

                self.engine.set_tier(account_index, AccountTier(P.choice_param(params, "tier", ("standard", "premium"))))
                return {"account_index": account_index}
        raise KeyError(tail)

    def _admin_market(self, params: Mapping[str, Any], name: str, default: Any = None) -> int:
        """A market id from a symbol or id parameter; ParamError if it names no market."""
        raw = params.get(name, default)
        if raw is None:
            raise P.ParamError(f"{name} is required")
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            raise P.ParamError(f"{name} must be a market symbol or id, got {raw!r}")
        from lighter_sync.sim.engine_types import EngineError

        key: str | int = int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) < 10 \
            else raw
        try:
            return self._market_id(key)
        except (EngineError, ValueError) as exc:
            raise P.ParamError(f"{name} {raw!r} is not a market of this simulator") from exc

    def _held_micro(self) -> int:
        """Collateral of every account together (micro-USDC)."""
        return sum(max(0, a.collateral) for a in self.engine.accounts())

    @staticmethod
    def _check_price(spec: Any, price: Decimal) -> None:
        ticks = int(price.scaleb(spec.price_decimals))
        if not 0 < ticks <= P.MAX_PRICE_TICKS:
            raise P.ParamError(f"price {price} is outside the market's range (1 .. {P.MAX_PRICE_TICKS} ticks)")
