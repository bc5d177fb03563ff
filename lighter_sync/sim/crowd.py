"""The simulator's background crowd: market makers that keep a book around the fair price and
takers that trade against it, so a user's resting orders fill the way they would on a venue.

The crowd is two ordinary engine accounts (created through the engine, collateralised far beyond
any margin need, Standard tier so they pay no fees):

* the **maker** quotes ``levels`` price bands on each side of the fair price. Band 0 starts
  ``half_spread_ticks`` from the fair price, so the spread is a few ticks; band ``i`` is
  ``first_gap_bps * growth**i`` wide, so levels are dense near the mid and sparse further out.
  Sizes decay by ``depth_decay`` per band away from the mid, with lognormal noise. Every step the
  maker keeps one quote per band and re-prices (``ModifyOrder``: one tx, not a cancel plus a new
  order) the quotes that the fair price has run into (closer than band 0), left behind (beyond
  the last band) or doubled up in a band, into the empty bands; it also refreshes random quotes at
  ``refresh_per_s``. When the fair price moves through a user's resting order,
  the maker's new quote on the other side crosses it and fills it at the user's price: resting
  orders fill as the price moves through them. With ``half_spread_ticks=1``, ``jitter=False`` and
  no takers or refreshes, a resting bid at ``P`` fills exactly when the fair price reaches
  ``P - 1`` tick (an ask at ``P + 1``): the "trades through by one tick" fill rule of the
  backtester, which makes the simulator usable for backtest-agreement tests.
* the **taker** sends immediate-or-cancel market and limit orders (a Poisson stream at
  ``taker_per_s`` per market, lognormal sizes around ``taker_notional_share`` of the top level's
  notional), leaning against its own position so that inventory stays bounded. It takes the best
  levels, the user's included.

Quotes the fair price ran into are moved away (or cancelled) before any quote moves toward the
mid, bids stay strictly below and asks strictly above the fair price, and the taker never rests,
so the crowd never trades with itself.
Every order respects the market's tick, minimum base and quote amounts and order quote limit.

Driving it
    ``Crowd(engine, markets, prices=None, seed=0).step(now_ms)``. Call ``step`` from the sim
    thread every 50-100 ms of simulated time (SIM-SERVER's tick loop does it every ``tick_ms``);
    rates are per simulated second, so a longer interval just batches more work into one step.
    ``markets`` are :class:`~lighter_sync.sim.specs.MarketProfile` (sizes scale with the market's
    daily volume) or engine :class:`MarketSpec` objects. With ``prices`` (market id or symbol ->
    :class:`~lighter_sync.sim.prices.PriceProcess`) the crowd advances them and sets the engine's
    index and mark price itself; without, it quotes around whatever index price the caller set.
    Deterministic: the same seed and the same sequence of ``step`` times give the same orders.
"""

from __future__ import annotations

import bisect
import logging
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lighter_sync.sim.engine_types import (
    AccountTier,
    CancelOrder,
    CreateOrder,
    EngineError,
    MarketSpec,
    ModifyOrder,
    Order,
    OrderType,
    TimeInForce,
)
from lighter_sync.sim.prices import PriceProcess

__all__ = ["Crowd", "CrowdConfig", "CrowdStats"]

log = logging.getLogger("lighter_sync.sim.crowd")

#: Crowd wallets: recognisable, never a real key's address.
MAKER_L1_ADDRESS = "0x" + "c0" * 19 + "01"
TAKER_L1_ADDRESS = "0x" + "c0" * 19 + "02"


@dataclass(frozen=True)
class CrowdConfig:
    """Shape of the crowd's book and flow (the same for every market; sizes scale per market)."""

    levels: int = 10  # quoted bands per side
    half_spread_ticks: int = 2  # distance of band 0 from the fair price
    first_gap_bps: float = 0.6  # width of band 0 (at least one tick)
    growth: float = 1.45  # each band is this much wider than the previous one
    top_notional_usd: float | None = None  # size of band 0; default from the market's daily volume
    # True: quote at a random point in the inner half of a band, and let a band-0 quote drift within
    # its band. False: quote at a band's inner edge and keep band 0 exactly half_spread_ticks out.
    jitter: bool = True
    depth_decay: float = 0.85  # size multiplier per band away from the mid
    size_noise: float = 0.35  # sd of the lognormal size noise
    refresh_per_s: float = 0.05  # rate at which each quote is cancelled and re-placed
    taker_per_s: float = 0.5  # taker orders per second per market
    taker_notional_share: float = 0.4  # median taker notional / band-0 notional
    taker_max_levels: float = 3.0  # cap of a taker order in band-0 notionals
    taker_slippage_bps: float = 30.0  # worst price of a taker order from the fair price
    inventory_limit_usd: float = 250_000.0  # the taker leans harder as its position nears this
    collateral_usdc: int = 1_000_000_000  # per crowd account

    def __post_init__(self) -> None:
        if self.levels < 1 or self.half_spread_ticks < 1 or self.growth < 1 or self.first_gap_bps <= 0:
            raise ValueError("CrowdConfig: levels >= 1, half_spread_ticks >= 1, growth >= 1, first_gap_bps > 0")
        if not 0 < self.depth_decay <= 1 or self.refresh_per_s < 0 or self.taker_per_s < 0:
            raise ValueError("CrowdConfig: 0 < depth_decay <= 1 and non-negative rates")


@dataclass
class CrowdStats:
    """Counters for logs, tests and the admin API."""

    steps: int = 0
    quotes_placed: int = 0
    quotes_moved: int = 0  # re-priced with ModifyOrder
    quotes_cancelled: int = 0
    taker_orders: int = 0
    rejected: int = 0  # orders the engine refused or cancelled at once (should stay 0)


@dataclass
class _Market:
    spec: MarketSpec
    top_notional: float  # USD
    process: PriceProcess | None
    last_fair: int = 0
    quote_ids: set[int] = field(default_factory=set)  # the maker's live quotes after the last maintenance


class Crowd:
    """Background makers and takers on every market (see the module docstring)."""

    def __init__(
        self,
        engine: Any,
        markets: Iterable[Any],
        prices: Mapping[int | str, PriceProcess] | None = None,
        seed: int = 0,
        *,
        config: CrowdConfig | None = None,
    ) -> None:
        self.engine = engine
        self.config = config or CrowdConfig()
        self.stats = CrowdStats()
        self._rng = random.Random(f"crowd:{seed}")
        self._markets: dict[int, _Market] = {}
        prices = dict(prices or {})
        for market in markets:
            spec = market.spec() if hasattr(market, "spec") and callable(market.spec) else market
            if not isinstance(spec, MarketSpec):
                raise TypeError(f"Crowd markets must be MarketProfile or MarketSpec, got {type(market).__name__}")
            engine_spec = engine.market(spec.market_id)
            process = prices.pop(spec.market_id, None) or prices.pop(spec.symbol, None)
            self._markets[spec.market_id] = _Market(engine_spec, self._top_notional(market, engine_spec), process)
        if prices:
            raise ValueError(f"price processes for markets the crowd does not trade: {sorted(map(str, prices))}")
        cfg = self.config
        self.maker_account = engine.create_account(MAKER_L1_ADDRESS, cfg.collateral_usdc * 1_000_000,
                                                   tier=AccountTier.STANDARD).account_index
        self.taker_account = engine.create_account(TAKER_L1_ADDRESS, cfg.collateral_usdc * 1_000_000,
                                                   tier=AccountTier.STANDARD).account_index
        self._last_ms: int | None = None

    @property
    def accounts(self) -> tuple[int, int]:
        """(maker, taker) account indexes, e.g. to exclude them from user-facing listings."""
        return self.maker_account, self.taker_account

    def seed_open_interest(self, market_id: int, notional_usd: float, now_ms: int) -> int:
        """Open interest for a fresh venue: the maker buys ``notional_usd`` from the taker at the fair
        (mark) price, so they hold opposite positions of that size (a real, fee-free fill: no money
        moves, positions still sum to zero). Call before the first :meth:`step`. Returns the size in
        base ticks (0 when no valid size exists)."""
        spec = self._markets[market_id].spec
        fair = self.engine.mark_price(market_id)
        size = self._size_for(spec, fair, notional_usd) if fair else 0
        if not size:
            return 0
        self._place(CreateOrder(self.maker_account, market_id, size, fair, False, OrderType.LIMIT,
                                TimeInForce.GOOD_TILL_TIME, order_expiry_ms=now_ms + 86_400_000))
        self._place(CreateOrder(self.taker_account, market_id, size, fair, True, OrderType.LIMIT,
                                TimeInForce.IMMEDIATE_OR_CANCEL))
        return size

    def _top_notional(self, market: Any, spec: MarketSpec) -> float:
        if self.config.top_notional_usd is not None:
            return float(self.config.top_notional_usd)
        daily = float(getattr(market, "daily_volume", 0.0) or 0.0)
        price = float(getattr(market, "start_price", 0) or 0)
        if daily > 0 and price > 0:
            # About 1/2000 of a day's quote volume at the top, within sane bounds.
            return min(100_000.0, max(2_000.0, daily * price / 2_000))
        return 5_000.0

    # -- the step ----------------------------------------------------------------------------

    def step(self, now_ms: int) -> None:
        """Advance prices (when the crowd owns them), then maintain quotes and send taker flow."""
        now_ms = int(now_ms)
        dt_s = 0.0 if self._last_ms is None else max(0, now_ms - self._last_ms) / 1000.0
        self._last_ms = now_ms
        self.stats.steps += 1
        quotes = self._live_quotes()
        for market_id, m in self._markets.items():
            fair = self.engine.index_price(market_id)
            if m.process is not None:
                price = m.process.advance(now_ms)
                ticks = max(1, int(round(price * 10**m.spec.price_decimals)))
                if ticks != fair:
                    self.engine.set_prices(market_id, ticks, ticks)
                    fair = ticks
            if fair <= 0:
                continue
            self._maintain(m, fair, quotes.get(market_id, ([], [])), dt_s)
            if dt_s > 0 and self.config.taker_per_s > 0:
                self._take(m, fair, dt_s)

    def _live_quotes(self) -> dict[int, tuple[list[Order], list[Order]]]:
        """The maker's live orders per market as (bids, asks), oldest first (engine insertion order)."""
        out: dict[int, tuple[list[Order], list[Order]]] = {}
        for order in self.engine.account(self.maker_account).live_orders.values():
            sides = out.setdefault(order.market_id, ([], []))
            sides[1 if order.is_ask else 0].append(order)
        return out

    def _bands(self, m: _Market, fair: int) -> list[int]:
        """Band boundaries as distances from the fair price in ticks: ``levels + 1`` increasing values."""
        cfg = self.config
        bounds = [cfg.half_spread_ticks]
        gap = fair * cfg.first_gap_bps / 10_000
        for _ in range(cfg.levels):
            bounds.append(bounds[-1] + max(1, int(round(gap))))
            gap *= cfg.growth
        return bounds

    def _maintain(self, m: _Market, fair: int, quotes: tuple[list[Order], list[Order]], dt_s: float) -> None:
        cfg = self.config
        rng = self._rng
        bids, asks = quotes
        n = len(bids) + len(asks)
        refresh: set[int] = set()
        if n and dt_s > 0 and cfg.refresh_per_s > 0:
            for _ in range(_poisson(rng, cfg.refresh_per_s * n * dt_s)):
                refresh.add(rng.randrange(n))
        if fair == m.last_fair and not refresh and m.quote_ids == {o.order_index for o in (*bids, *asks)}:
            return  # nothing moved, nothing filled: the book is as we left it
        bounds = self._bands(m, fair)
        kept: set[int] = set()
        # Classify each quote: keep it (first one in a valid band), or re-use it for an empty band.
        # "close" quotes are those the fair price ran into (nearer than band 0, or crossed).
        close: tuple[list[Order], list[Order]] = ([], [])
        spare: tuple[list[Order], list[Order]] = ([], [])
        missing: tuple[list[int], list[int]] = ([], [])
        position = 0
        for side, orders in ((0, bids), (1, asks)):
            taken: set[int] = set()
            for order in orders:
                distance = order.price - fair if side else fair - order.price
                band = bisect.bisect_right(bounds, distance) - 1
                if band < 0:
                    close[side].append(order)
                elif (band >= cfg.levels or band in taken or position in refresh
                      or (band == 0 and not cfg.jitter and distance != bounds[0])):
                    spare[side].append(order)
                else:
                    taken.add(band)
                    kept.add(order.order_index)
                position += 1
            missing[side].extend(band for band in range(cfg.levels) if band not in taken)
        # 1. Quotes too close to (or through) the fair price move to the outermost empty bands of
        #    their side, or are cancelled: afterwards every crowd bid is below and every crowd ask
        #    above the fair price by at least band 0's distance, so step 2 and 3 cannot self-trade.
        for side in (0, 1):
            for order in close[side]:
                target = missing[side].pop() if missing[side] else None
                self._requote(m, fair, bounds, side, target, order, kept)
        # 2. Spare quotes (beyond the last band, duplicates, random refreshes) fill the other empty
        #    bands, inner first; 3. new orders fill what is left.
        for side in (0, 1):
            for order in spare[side]:
                target = missing[side].pop(0) if missing[side] else None
                self._requote(m, fair, bounds, side, target, order, kept)
            for band in missing[side]:
                self._requote(m, fair, bounds, side, band, None, kept)
        m.last_fair = fair
        m.quote_ids = kept

    def _requote(self, m: _Market, fair: int, bounds: list[int], side: int, band: int | None,
                 order: Order | None, kept: set[int]) -> None:
        """Put a quote into ``band`` of ``side`` (0 bid, 1 ask): by modifying ``order`` when given
        (one tx instead of a cancel and a new order), else with a new order. ``band`` None cancels
        ``order``. Live results are added to ``kept``."""
        if band is None:
            if order is not None:
                self._cancel(order)
            return
        cfg = self.config
        rng = self._rng
        lo, hi = bounds[band], bounds[band + 1]
        distance = lo + int(rng.random() * max(1, (hi - lo) // 2)) if cfg.jitter else lo
        price = fair + distance if side else fair - distance
        notional = m.top_notional * cfg.depth_decay**band * rng.lognormvariate(0.0, cfg.size_noise)
        size = self._size_for(m.spec, price, notional) if 1 <= price < 1 << 32 else 0
        if not size:
            if order is not None:
                self._cancel(order)
            return
        if order is not None:
            result = self._modify(ModifyOrder(self.maker_account, m.spec.market_id, order.order_index, size, price))
        else:
            result = self._place(CreateOrder(self.maker_account, m.spec.market_id, size, price, bool(side),
                                             OrderType.LIMIT, TimeInForce.GOOD_TILL_TIME))
            self.stats.quotes_placed += 1
        if result is not None and result.is_live:
            kept.add(result.order_index)

    def _take(self, m: _Market, fair: int, dt_s: float) -> None:
        cfg = self.config
        rng = self._rng
        arrivals = min(5, _poisson(rng, cfg.taker_per_s * dt_s))
        spec = m.spec
        for _ in range(arrivals):
            position = self.engine.account(self.taker_account).positions.get(spec.market_id)
            held = position.size if position is not None else 0
            exposure = spec.notional(fair, abs(held)) / 1_000_000 / cfg.inventory_limit_usd
            lean = max(-0.45, min(0.45, 0.45 * exposure)) * (1 if held > 0 else -1)
            is_ask = rng.random() < 0.5 + lean  # long -> more likely to sell
            notional = min(m.top_notional * cfg.taker_notional_share * rng.lognormvariate(0.0, 0.8),
                           m.top_notional * cfg.taker_max_levels)
            slip = max(1, int(fair * cfg.taker_slippage_bps / 10_000))
            price = max(1, fair - slip) if is_ask else min((1 << 32) - 1, fair + slip)
            size = self._size_for(spec, fair, notional)
            if not size:
                continue
            kind = OrderType.MARKET if rng.random() < 0.5 else OrderType.LIMIT
            self._place(CreateOrder(self.taker_account, spec.market_id, size, price, is_ask, kind,
                                    TimeInForce.IMMEDIATE_OR_CANCEL))
            self.stats.taker_orders += 1

    # -- engine calls ------------------------------------------------------------------------

    @staticmethod
    def _size_for(spec: MarketSpec, price: int, notional_usd: float) -> int:
        """Base ticks worth about ``notional_usd`` at ``price``, within the market's minimums and
        order quote limit; 0 if no valid size exists."""
        per_tick = spec.notional(price, 1)  # micro-USDC of one base tick
        if per_tick <= 0:
            return 0
        min_size = max(spec.min_base_amount, -(-spec.min_quote_amount // per_tick), 1)
        max_size = min(spec.order_quote_limit // per_tick, (1 << 48) - 1)
        size = max(min_size, int(notional_usd * 1_000_000 / per_tick))
        return size if size <= max_size else (max_size if max_size >= min_size else 0)

    def _place(self, req: CreateOrder) -> Order | None:
        """Send one order; returns the engine's copy of it (None if the engine refused it)."""
        try:
            result = self.engine.create_order(req)
        except EngineError as exc:
            self.stats.rejected += 1
            log.warning("crowd order refused by the engine: %s (%s)", exc, req)
            return None
        if not result.ok:
            self.stats.rejected += 1
            log.warning("crowd order rejected: %s %s", result.tx.error_code, result.tx.error_message)
        return result.order

    def _modify(self, req: ModifyOrder) -> Order | None:
        try:
            result = self.engine.modify_order(req)
        except EngineError as exc:
            self.stats.rejected += 1
            log.warning("crowd modify refused by the engine: %s (%s)", exc, req)
            return None
        self.stats.quotes_moved += 1
        if not result.ok:
            self.stats.rejected += 1
            log.warning("crowd modify rejected: %s %s", result.tx.error_code, result.tx.error_message)
        return result.order

    def _cancel(self, order: Order) -> None:
        try:
            self.engine.cancel_order(CancelOrder(self.maker_account, order.market_id, order.order_index))
        except EngineError as exc:  # pragma: no cover - the order was live a moment ago
            log.warning("crowd cancel refused: %s", exc)
            return
        self.stats.quotes_cancelled += 1


def _poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw: Knuth's method for small ``lam``, the normal approximation above 30
    (a long step, e.g. a manual clock jumped by an hour)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
