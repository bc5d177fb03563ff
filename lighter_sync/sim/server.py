"""The simulator's aiohttp application: Lighter's REST API, the ``/stream`` WebSocket, ``/sim`` admin.

Every Lighter path answers with Lighter's exact JSON (see :mod:`wire` and lighter-protocol.md §3):
``code`` 200 beside the payload, errors as ``{"code", "message"}`` with Lighter's HTTP status.
The simulator's own control API lives under ``/sim/...`` only (never a Lighter path).

All handlers run on the simulator's loop thread and touch the engine directly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from lighter_sync.sim import engine_types as et
from lighter_sync.sim.auth import AuthFailure, check_token_deadline, parse_auth_token
from lighter_sync.sim.params import json_object
from lighter_sync.sim.server_core import SimCore, tx_json
from lighter_sync.sim.server_market import RESOLUTION_MS, candle_numbers
from lighter_sync.sim.server_ratelimit import RateLimiter
from lighter_sync.sim.server_ws import ChannelSpec, Hub, SubscribeError
from lighter_sync.sim.txparse import MAX_BATCH_WS, TxError, parse_batch, parse_form, parse_tx_info
from lighter_sync.sim.wire import error_body, ok, order_json, public_trade_json, simple_order_json, trade_json

__all__ = ["build_app", "SimServer"]

log = logging.getLogger("lighter_sync.sim.server")

CONTRACT_ADDRESS = "0x3B4D794a66304F130a4Db8F2551B0070dfCf5ca7"
ASSETS = {
    3: {"symbol": "USDC", "l1_decimals": 6, "decimals": 6, "min_transfer_amount": "1.000000",
        "min_withdrawal_amount": "1.000000", "price_decimals": 6, "index_price": "1.000000",
        "l1_address": "0xaf88d065e77c8cC2239327C5EDb3A432268e5831"},
    1: {"symbol": "ETH", "l1_decimals": 18, "decimals": 8, "min_transfer_amount": "0.00100000",
        "min_withdrawal_amount": "0.00100000", "price_decimals": 2, "index_price": "0.00",
        "l1_address": "0x0000000000000000000000000000000000000000"},
}


TX_PATHS = ("/api/v1/sendTx", "/api/v1/sendTxBatch")


def _part_text(value: str | bytes | bytearray | web.FileField) -> str:
    """A multipart field as text: aiohttp gives str for text parts, bytes for other value parts
    (``Content-Type: application/octet-stream``) and a FileField for file parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return value.decode()
    return value.file.read().decode()


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _int_param(request: web.Request, name: str, default: int | None = None, *, lo: int | None = None,
               hi: int | None = None) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        if default is None:
            raise ApiError(400, 20001, f"invalid param : {name} is required")
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(400, 20001, f"invalid param : {name}") from exc
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ApiError(400, 20001, f"invalid param : {name} out of range")
    return value


#: Time-range parameters (``start_timestamp``, ``end_timestamp``) below this are unix seconds, at or
#: above it unix ms: Lighter documents ms and reads small values as seconds (the official
#: ``get_info.py`` and third-party recorders send seconds, ccxt sends ms). 10^11 ms is 1973;
#: 10^11 s is the year 5138.
SECONDS_BELOW = 100_000_000_000


def _time_param(request: web.Request, name: str, default_ms: int | None, *, hi: int | None = None) -> int:
    """A time-range query parameter as unix ms, given in seconds or ms (see ``SECONDS_BELOW``);
    required when ``default_ms`` is None."""
    value = _int_param(request, name, default_ms, lo=0, hi=hi)
    return value * 1000 if value < SECONDS_BELOW else value


class SimServer:
    """Builds the app and its handlers around a :class:`SimCore`."""

    def __init__(self, core: SimCore, *, idle_timeout_s: float = 120.0, ping_interval_s: float = 30.0,
                 admin: Any = None) -> None:
        self.core = core
        self.engine = core.engine
        self.faults = core.faults
        self.ratelimit = RateLimiter()
        self.admin = admin  # the SimExchange (for /sim endpoints that need it), or None
        self.started_s = int(time.time())
        self.hub = Hub(self._channels(), tx_handler=self._ws_tx, faults=self.faults,
                       idle_timeout_s=idle_timeout_s, ping_interval_s=ping_interval_s, rng_seed=core.seed)
        core.hub = self.hub
        self.hub.limits_enabled = lambda: self.ratelimit.enabled
        self.faults.on_ws_drop = None
        self.routes = self._route_table()

    # -- app ------------------------------------------------------------------------------------
    def build(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=8 * 1024 * 1024)
        r = app.router
        for (method, path), handler in self.routes.items():
            (r.add_get if method == "GET" else r.add_post)(path, handler)
        r.add_get("/stream", self.hub.handle)
        r.add_route("*", "/sim/{tail:.*}", self.admin_api)
        return app

    def _route_table(self) -> dict[tuple[str, str], Callable[[web.Request], Awaitable[web.Response]]]:
        """Every plain HTTP route as ``(method, path) -> handler`` (``/stream`` and ``/sim/`` aside)."""
        v1 = "/api/v1/"
        gets: dict[str, Callable[[web.Request], Awaitable[web.Response]]] = {
            "orderBooks": self.order_books, "orderBookDetails": self.order_book_details,
            "orderBookOrders": self.order_book_orders, "recentTrades": self.recent_trades, "trades": self.trades,
            "candles": self.candles, "fundings": self.fundings, "funding-rates": self.funding_rates,
            "exchangeStats": self.exchange_stats, "account": self.account, "accountsByL1Address": self.accounts_by_l1,
            "accountActiveOrders": self.active_orders, "accountInactiveOrders": self.inactive_orders,
            "accountOrders": self.account_orders, "pnl": self.pnl, "accountLimits": self.account_limits,
            "apikeys": self.apikeys, "nextNonce": self.next_nonce, "tx": self.tx, "accountTxs": self.account_txs,
            "positionFunding": self.position_funding, "currentHeight": self.current_height,
            "assetDetails": self.asset_details,
        }
        routes: dict[tuple[str, str], Callable[[web.Request], Awaitable[web.Response]]] = {
            ("GET", "/"): self.status, ("GET", "/info"): self.info}
        routes.update({("GET", v1 + name): handler for name, handler in gets.items()})
        from lighter_sync.sim.server_history import HistoryRoutes  # imports this module: bound lazily

        routes.update(HistoryRoutes(self).routes())
        routes[("POST", v1 + "sendTx")] = self.send_tx
        routes[("POST", v1 + "sendTxBatch")] = self.send_tx_batch
        return routes

    async def dispatch(self, request: Any) -> web.Response:
        """Route one request without aiohttp's server (the in-process transport, see server_local)."""
        path, method = request.path, request.method
        handler = self.routes.get((method, path))
        if handler is None and path.startswith("/sim/"):
            handler = self.admin_api
        if handler is None:
            if any(p == path for _, p in self.routes):
                return _json(error_body(29404, "not found"), 405)
            return _json(error_body(29404, "not found"), 404)
        return await self._middleware(request, handler)  # type: ignore[return-value]  # handlers return Response

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                          ) -> web.StreamResponse:
        path = request.path
        delay_after = 0.0
        if not path.startswith("/sim/") and path != "/stream":
            rule = self.faults.pick_rest(path)
            if rule is not None:
                if rule.kind == "delay":
                    # The request is handled (a tx is applied) and only the answer is late, so a client
                    # that gives up meanwhile faces a real "outcome unknown".
                    delay_after = rule.delay_ms / 1000
                elif rule.kind == "timeout":
                    await asyncio.sleep(rule.delay_ms / 1000 if rule.delay_ms else 3600)
                    return _json(error_body(29501, "process timeout"), 504)
                elif rule.kind == "429":
                    return _json(error_body(23000, "Too Many Requests!"), 429)
                else:
                    return _json(error_body(29500, "internal server error"), rule.status)
            if self.ratelimit.enabled and path.startswith("/api/") and path not in TX_PATHS:
                key, tier = self._limit_key(request)
                if not self.ratelimit.allow(key, path, tier):
                    return _json(error_body(23000, "Too Many Requests!"), 429)
        try:
            response = await handler(request)
            if delay_after:
                await asyncio.sleep(delay_after)
            return response
        except ApiError as exc:
            return _json(error_body(exc.code, exc.message), exc.status)
        except AuthFailure as exc:
            return _json(error_body(exc.code, exc.message), exc.status)
        except TxError as exc:
            return _json(error_body(exc.code, exc.message), exc.status)
        except et.EngineError as exc:
            return _json(error_body(exc.code, exc.message), 400)
        except web.HTTPNotFound:
            return _json(error_body(29404, "not found"), 404)
        except web.HTTPMethodNotAllowed:
            return _json(error_body(29404, "not found"), 405)
        except Exception:  # a bug, not bad input (every handler checks its input): keep Lighter's shape
            log.exception("%s %s failed", request.method, path)
            return _json(error_body(29500, "internal server error"), 500)

    def _limit_tx(self, path: str, account_index: int, remote: str | None) -> None:
        """Rate-limit a transaction by its account's L1 address (Lighter limits sendTx per L1 address)."""
        if not self.ratelimit.enabled:
            return
        try:
            acct = self.engine.account(account_index)
            key, tier = acct.l1_address.lower(), acct.tier.value
        except et.EngineError:
            key, tier = remote or "?", "standard"
        if not self.ratelimit.allow(key, path, tier):
            raise ApiError(429, 23000, "Too Many Requests!")

    def _limit_key(self, request: web.Request) -> tuple[str, str]:
        token = request.headers.get("Authorization") or request.query.get("auth")
        if token:
            try:
                parsed = parse_auth_token(token)
                acct = self.engine.account(parsed.account_index)
                return acct.l1_address.lower(), acct.tier.value
            except (AuthFailure, et.EngineError):
                pass
        return request.remote or "?", "standard"

    # -- auth -----------------------------------------------------------------------------------
    def require_auth(self, request: web.Request, account_index: int | None) -> int:
        """Validate the raw ``Authorization`` header or ``?auth=``; returns the token's account."""
        token = request.headers.get("Authorization") or request.query.get("auth")
        parsed = parse_auth_token(token)
        check_token_deadline(parsed, time.time())
        if not self.engine.has_account(parsed.account_index):
            raise AuthFailure(401, 20013, "invalid auth")
        key = self.engine.api_key(parsed.account_index, parsed.api_key_index)
        if key is None:
            raise AuthFailure(401, 20013, "invalid auth")
        self.core.signatures.check_token(parsed, key.public_key)
        if account_index is not None and account_index != parsed.account_index:
            raise AuthFailure(401, 20013, "invalid auth")
        return parsed.account_index

    def _account_or_404(self, account_index: int) -> Any:
        if not self.engine.has_account(account_index):
            raise ApiError(400, 21100, "account not found")
        return self.engine.account(account_index)

    # -- root -----------------------------------------------------------------------------------
    async def status(self, request: web.Request) -> web.Response:
        return _json({"status": 1, "network_id": self.core.chain_id, "timestamp": int(time.time())})

    async def info(self, request: web.Request) -> web.Response:
        return _json({"contract_address": CONTRACT_ADDRESS})

    # -- markets --------------------------------------------------------------------------------
    def _selected_markets(self, request: web.Request) -> list[Any]:
        market_id = _int_param(request, "market_id", 255)
        flt = request.query.get("filter", "all")
        if flt not in ("all", "perp", "spot"):
            raise ApiError(400, 20001, "invalid param : filter")
        if flt == "spot":
            return []
        if market_id == 255:
            return list(self.core.specs.values())
        if market_id not in self.core.specs:
            raise ApiError(400, 21602, "invalid market index")
        return [self.core.specs[market_id]]

    def _order_book_json(self, spec: Any) -> dict[str, Any]:
        maker, taker = spec.standard_maker_fee, spec.standard_taker_fee
        stats = self.engine.market_stats(spec.market_id)
        return {
            "symbol": spec.symbol, "market_id": spec.market_id, "market_type": "perp", "base_asset_id": 0,
            "quote_asset_id": 0, "status": spec.status, "taker_fee": f"{taker / 10_000:.4f}",
            "maker_fee": f"{maker / 10_000:.4f}", "liquidation_fee": f"{spec.liquidation_fee / 10_000:.4f}",
            "min_base_amount": spec.size_str(spec.min_base_amount),
            "min_quote_amount": et.MarketSpec.quote_str(spec.min_quote_amount),
            "supported_size_decimals": spec.size_decimals, "supported_price_decimals": spec.price_decimals,
            "supported_quote_decimals": spec.quote_decimals,
            "order_quote_limit": et.MarketSpec.quote_str(spec.order_quote_limit),
            "is_maker_fee_enabled": True, "is_taker_fee_enabled": True, "created_at": str(spec.created_at_ms),
            "multiplier": "1.000000000000000000", "start_timestamp": 0, "end_timestamp": 0, "settlement_type": 0,
            "settlement_price": 0, "settlement_cap": 0, "outcome": 0, "default_price": 0,
            "operator_account_index": 0, "is_frozen": False,
            "open_interest": et.MarketSpec.quote_str(spec.notional(stats.mark_price, stats.open_interest)),
        }

    async def order_books(self, request: web.Request) -> web.Response:
        return _json(ok(order_books=[self._order_book_json(s) for s in self._selected_markets(request)]))

    async def order_book_details(self, request: web.Request) -> web.Response:
        out = []
        for spec in self._selected_markets(request):
            base = self._order_book_json(spec)
            s = self.engine.market_stats(spec.market_id)
            pscale = 10**spec.price_decimals
            change = (s.last_trade_price - s.daily_price_open) / s.daily_price_open * 100 if s.daily_price_open else 0.0
            base.update({
                "size_decimals": spec.size_decimals, "price_decimals": spec.price_decimals,
                "quote_multiplier": spec.quote_multiplier,
                "default_initial_margin_fraction": spec.default_initial_margin_fraction,
                "min_initial_margin_fraction": spec.min_initial_margin_fraction,
                "maintenance_margin_fraction": spec.maintenance_margin_fraction,
                "closeout_margin_fraction": spec.closeout_margin_fraction,
                "last_trade_price": s.last_trade_price / pscale, "daily_trades_count": s.daily_trades_count,
                "daily_base_token_volume": s.daily_base_volume / 10**spec.size_decimals,
                "daily_quote_token_volume": s.daily_quote_volume / 1e6,
                "daily_price_low": s.daily_price_low / pscale, "daily_price_high": s.daily_price_high / pscale,
                "daily_price_change": change,
                "open_interest": spec.notional(s.mark_price, s.open_interest) / 1e6, "daily_chart": {},
                "market_config": {"market_margin_mode": 0, "insurance_fund_account_index": et.INSURANCE_FUND_ACCOUNT_INDEX,
                                  "liquidation_mode": 0, "force_reduce_only": False,
                                  "funding_fee_discounts_enabled": False, "trading_hours": "", "hidden": False,
                                  "rfq_enabled": False},
                "strategy_index": 0, "funding_clamp_small": f"{spec.funding_clamp_small / 1e6:.4f}",
                "funding_clamp_big": f"{spec.funding_clamp_big / 1e6:.4f}",
                "base_interest_rate": f"{spec.base_interest_rate / 1e6:.4f}",
                "mark_price": spec.price_str(s.mark_price), "index_price": spec.price_str(s.index_price),
                "market_flags": 0, "funding_premium_multiplier": 1,
            })
            out.append(base)
        return _json(ok(order_book_details=out, spot_order_book_details=[]))

    def _market(self, request: web.Request, name: str = "market_id") -> Any:
        market_id = _int_param(request, name)
        spec = self.core.specs.get(market_id)
        if spec is None:
            raise ApiError(400, 21602, "invalid market index")
        return spec

    async def order_book_orders(self, request: web.Request) -> web.Response:
        spec = self._market(request)
        limit = _int_param(request, "limit", lo=1, hi=250)
        asks, bids, total_asks, total_bids = self.engine.book_orders(spec.market_id, limit)
        return _json(ok(total_asks=total_asks, asks=[simple_order_json(o, spec) for o in asks],
                        total_bids=total_bids, bids=[simple_order_json(o, spec) for o in bids]))

    async def recent_trades(self, request: web.Request) -> web.Response:
        spec = self._market(request)
        limit = _int_param(request, "limit", lo=1, hi=100)
        trades = self.engine.trades(spec.market_id, limit=limit)
        return _json(ok(trades=[public_trade_json(t, spec) for t in trades]))

    async def trades(self, request: web.Request) -> web.Response:
        sort_by = request.query.get("sort_by")
        if sort_by not in ("block_height", "timestamp", "trade_id"):
            raise ApiError(400, 20001, "invalid param : sort_by")
        limit = _int_param(request, "limit", lo=1, hi=100)
        market_id = _int_param(request, "market_id", 255)
        account = _int_param(request, "account_index", -1)
        if account >= 0:
            self.require_auth(request, account)
        cursor = request.query.get("cursor")
        trades = self.engine.trades(None if market_id == 255 else market_id,
                                    account_index=account if account >= 0 else None, limit=1000)
        if cursor:
            try:
                below = int(cursor)
            except ValueError as exc:
                raise ApiError(400, 20001, "invalid param : cursor") from exc
            trades = [t for t in trades if t.trade_id < below]
        order_index = _int_param(request, "order_index", 0)
        if order_index:
            trades = [t for t in trades if order_index in (t.ask_id, t.bid_id)]
        ask_filter = _int_param(request, "ask_filter", -1)
        if account >= 0 and ask_filter in (0, 1):  # 1: the account sold, 0: it bought
            trades = [t for t in trades if (t.ask_account_id == account) == bool(ask_filter)]
        kind = request.query.get("type", "all")
        if kind != "all":
            trades = [t for t in trades if t.type == kind]
        role = request.query.get("role", "all")
        if account >= 0 and role in ("maker", "taker"):
            want_maker = role == "maker"
            trades = [t for t in trades if (t.maker_account_id == account) == want_maker]
        page = trades[:limit]
        shape = trade_json if account >= 0 else public_trade_json  # an account's own trades in full
        body = ok(trades=[shape(t, self.core.specs[t.market_id]) for t in page])
        if len(trades) > limit:
            body["next_cursor"] = str(page[-1].trade_id)
        return _json(body)

    async def candles(self, request: web.Request) -> web.Response:
        spec = self._market(request)
        res = request.query.get("resolution", "")
        if res not in RESOLUTION_MS:
            raise ApiError(400, 22401, "invalid resolution")
        start = _time_param(request, "start_timestamp", None, hi=5_000_000_000_000)
        end = _time_param(request, "end_timestamp", None, hi=5_000_000_000_000)
        count_back = _int_param(request, "count_back", lo=0)
        if end < start:
            raise ApiError(400, 22400, "invalid timestamps")
        rows = self.core.candles.query(spec.market_id, res, start, end, count_back)
        return _json({"code": 200, "r": res, "c": [candle_numbers(r, spec) for r in rows]})

    async def fundings(self, request: web.Request) -> web.Response:
        spec = self._market(request)
        res = request.query.get("resolution", "1h")
        if res not in ("1h", "1d"):
            raise ApiError(400, 22401, "invalid resolution")
        start = _time_param(request, "start_timestamp", 0)
        end = _time_param(request, "end_timestamp", 2**62)
        count_back = _int_param(request, "count_back", 0, lo=0)
        rows = [f for f in self.engine.fundings(spec.market_id) if start <= f.timestamp_ms <= end]
        rows = rows[-count_back:] if count_back else rows[:750]
        out = [{"timestamp": f.timestamp_ms // 1000,
                "value": f"{abs(f.rate) / 1e8 * f.mark_price / 10**spec.price_decimals:.8f}",
                "rate": f"{abs(f.rate) / 1e6:.4f}", "direction": "long" if f.rate >= 0 else "short"} for f in rows]
        return _json(ok(resolution=res, fundings=out))

    async def funding_rates(self, request: web.Request) -> web.Response:
        out = [{"market_id": m, "exchange": "lighter", "symbol": s.symbol,
                "rate": self.engine.funding_rate_estimate(m) / 1e8} for m, s in self.core.specs.items()]
        return _json(ok(funding_rates=out))

    async def exchange_stats(self, request: web.Request) -> web.Response:
        books = []
        usd, count = 0.0, 0
        for m, spec in self.core.specs.items():
            s = self.engine.market_stats(m)
            change = (s.last_trade_price - s.daily_price_open) / s.daily_price_open * 100 if s.daily_price_open else 0.0
            books.append({"symbol": spec.symbol, "last_trade_price": s.last_trade_price / 10**spec.price_decimals,
                          "daily_trades_count": s.daily_trades_count,
                          "daily_base_token_volume": s.daily_base_volume / 10**spec.size_decimals,
                          "daily_quote_token_volume": s.daily_quote_volume / 1e6, "daily_price_change": change})
            usd += s.daily_quote_volume / 1e6
            count += s.daily_trades_count
        return _json(ok(total=len(books), order_book_stats=books, daily_usd_volume=usd, daily_trades_count=count))

    # -- accounts -------------------------------------------------------------------------------
    def _short_account(self, a: Any) -> dict[str, Any]:
        stats = self.engine.account_stats(a.account_index)
        live = len(a.live_orders)
        return {"code": 0, "account_type": int(a.account_type), "account_trading_mode": 0,
                "index": a.account_index, "l1_address": a.l1_address, "cancel_all_time": a.cancel_all_time_ms,
                "total_order_count": live, "total_isolated_order_count": 0,
                "pending_order_count": sum(1 for o in a.live_orders.values() if o.status == et.OrderStatus.PENDING),
                "available_balance": et.MarketSpec.quote_str(stats.available_balance), "status": 1,
                "collateral": et.MarketSpec.quote_str(a.collateral), "transaction_time": a.created_at_ms * 1000}

    def _detailed_account(self, a: Any) -> dict[str, Any]:
        out = self._short_account(a)
        stats = self.engine.account_stats(a.account_index)
        q = et.MarketSpec.quote_str
        out.update({
            "account_index": a.account_index, "name": "", "description": "", "can_invite": False,
            "referral_points_percentage": "", "positions": list(self.core.positions_map(a.account_index).values()),
            "assets": [{"symbol": "USDC", "asset_id": 3, "balance": q(a.collateral), "locked_balance": "0.000000",
                        "margin_balance": q(a.collateral), "margin_mode": "enabled", "multiplier": "1"}],
            "total_asset_value": q(stats.portfolio_value), "cross_asset_value": q(stats.portfolio_value),
            "pool_info": {"status": 0, "operator_fee": "0", "min_operator_share_rate": "0", "total_shares": 0,
                          "operator_shares": 0, "annual_percentage_yield": 0, "daily_returns": [], "share_prices": [],
                          "sharpe_ratio": 0, "strategies": []},
            "shares": [], "created_at": a.created_at_ms // 1000, "pending_unlocks": [],
            "approved_integrators": [
                {"account_index": g.integrator, "name": "", "max_perps_taker_fee": g.max_perps_taker_fee,
                 "max_perps_maker_fee": g.max_perps_maker_fee, "max_spot_taker_fee": g.max_spot_taker_fee,
                 "max_spot_maker_fee": g.max_spot_maker_fee, "approval_expiry": g.expiry_ms}
                for g in self.core.approvals.get(a.account_index, {}).values()],
            "can_rfq": False, "cross_initial_margin_requirement": q(stats.initial_margin_requirement),
            "cross_maintenance_margin_requirement": q(stats.maintenance_margin_requirement),
            "can_rfq_market_ids": [], "metadata": {"color": ""}, "agent_enabled": False, "bo_positions": [],
        })
        return out

    async def account(self, request: web.Request) -> web.Response:
        by = request.query.get("by")
        value = request.query.get("value", "")
        if by == "index":
            try:
                accounts = [self._account_or_404(int(value))]
            except ValueError as exc:
                raise ApiError(400, 20001, "invalid param : value") from exc
        elif by == "l1_address":
            accounts = self.engine.accounts_by_l1(value)
            if not accounts:
                raise ApiError(400, 21100, "account not found")
        else:
            raise ApiError(400, 20001, "invalid param : by")
        return _json(ok(total=len(accounts), accounts=[self._detailed_account(a) for a in accounts], next_cursor=""))

    async def accounts_by_l1(self, request: web.Request) -> web.Response:
        l1 = request.query.get("l1_address", "")
        accounts = self.engine.accounts_by_l1(l1)
        if not accounts:
            raise ApiError(400, 21100, "account not found")
        return _json(ok(l1_address=l1, sub_accounts=[self._short_account(a) for a in accounts]))

    def _orders_response(self, orders: list[Any], next_cursor: str | None = None) -> web.Response:
        body = ok(orders=[order_json(o, self.core.specs[o.market_id]) for o in orders])
        if next_cursor:
            body["next_cursor"] = next_cursor
        return _json(body)

    async def active_orders(self, request: web.Request) -> web.Response:
        account = _int_param(request, "account_index")
        self.require_auth(request, account)
        self._account_or_404(account)
        market_id = _int_param(request, "market_id", 255)
        return self._orders_response(self.engine.active_orders(account, None if market_id == 255 else market_id))

    async def inactive_orders(self, request: web.Request) -> web.Response:
        account = _int_param(request, "account_index")
        self.require_auth(request, account)
        self._account_or_404(account)
        limit = _int_param(request, "limit", lo=1, hi=100)
        market_id = _int_param(request, "market_id", 255)
        ask_filter = _int_param(request, "ask_filter", -1)
        orders = self.engine.inactive_orders(account, None if market_id == 255 else market_id, limit=1000)
        if ask_filter in (0, 1):
            orders = [o for o in orders if int(o.is_ask) == ask_filter]
        cursor = request.query.get("cursor")
        if cursor:
            try:
                below = int(cursor)
            except ValueError as exc:
                raise ApiError(400, 20001, "invalid param : cursor") from exc
            orders = [o for o in orders if o.order_index < below]
        page = orders[:limit]
        nxt = str(page[-1].order_index) if len(orders) > limit else None
        return self._orders_response(page, nxt)

    async def account_orders(self, request: web.Request) -> web.Response:
        token_account = self.require_auth(request, None)
        account = _int_param(request, "account_index", token_account)
        if account != token_account:
            raise AuthFailure(401, 20013, "invalid auth")
        self._account_or_404(account)
        raw = request.query.get("client_order_indexes", "")
        try:
            wanted = [int(x) for x in raw.replace(" ", "").split(",") if x]
        except ValueError as exc:
            raise ApiError(400, 20001, "invalid param : client_order_indexes") from exc
        if len(wanted) > 20:
            raise ApiError(400, 20001, "invalid param : at most 20 client_order_indexes")
        found = [o for o in (self.engine.order_by_client_index(account, c) for c in wanted) if o is not None]
        return self._orders_response(found)

    async def pnl(self, request: web.Request) -> web.Response:
        if request.query.get("by", "index") != "index":
            raise ApiError(400, 20001, "invalid param : by")
        account = _int_param(request, "value")
        acct = self._account_or_404(account)
        if request.headers.get("Authorization") or request.query.get("auth"):
            self.require_auth(request, account)
        res = request.query.get("resolution", "1h")
        if res not in ("1m", "5m", "15m", "1h", "4h", "1d"):
            raise ApiError(400, 22401, "invalid resolution")
        now_ms = self.core.clock.now_ms()
        step = RESOLUTION_MS[res]
        start = _time_param(request, "start_timestamp", 0)
        end = _time_param(request, "end_timestamp", now_ms)
        count_back = _int_param(request, "count_back", 0, lo=0)
        rows = self.core.pnl_series(account, step, start, end, count_back)
        if start <= now_ms <= end:  # the live point: PnL right now
            realized = sum(p.realized_pnl for p in self.engine.positions(account))
            live = (now_ms - now_ms % step, realized + self.engine.unrealized_pnl(account), acct.volume)
            rows = [r for r in rows if r[0] != live[0]] + [live]
            if count_back > 0:
                rows = rows[-count_back:]
        zero = {k: 0 for k in ("inflow", "outflow", "pool_pnl", "pool_inflow", "pool_outflow", "pool_total_shares",
                               "spot_inflow", "spot_outflow", "staked_lit", "staking_inflow", "staking_outflow",
                               "staking_pnl", "trade_spot_pnl")}
        entries = [{"timestamp": t // 1000, "trade_pnl": pnl / 1e6, **zero, "volume": volume / 1e6}
                   for t, pnl, volume in rows]
        return _json(ok(resolution=res, pnl=entries))

    async def account_limits(self, request: web.Request) -> web.Response:
        account = _int_param(request, "account_index")
        self.require_auth(request, account)
        acct = self._account_or_404(account)
        tier = acct.tier.value
        return _json(ok(max_llp_percentage=100, max_llp_amount="0.000000", user_tier=tier,
                        can_create_public_pool=False, user_tier_name=tier, current_maker_fee_tick=0,
                        current_taker_fee_tick=0, leased_lit="0.00000000", effective_lit_stakes="0.00000000",
                        user_tier_last_update=0, bo_user_tier_name=tier, bo_fee_rate=1))

    async def apikeys(self, request: web.Request) -> web.Response:
        account = _int_param(request, "account_index")
        key_index = _int_param(request, "api_key_index", 255)
        acct = self._account_or_404(account)
        keys = sorted(acct.api_keys.values(), key=lambda k: k.api_key_index)
        if key_index != 255:
            keys = [k for k in keys if k.api_key_index == key_index]
        return _json(ok(api_keys=[{"account_index": account, "api_key_index": k.api_key_index,
                                   "nonce": k.next_nonce - 1, "public_key": k.public_key,
                                   "transaction_time": k.transaction_time_us} for k in keys]))

    async def next_nonce(self, request: web.Request) -> web.Response:
        account = _int_param(request, "account_index")
        key = _int_param(request, "api_key_index", lo=0, hi=254)
        self._account_or_404(account)
        return _json(ok(nonce=self.engine.next_nonce(account, key)))

    async def tx(self, request: web.Request) -> web.Response:
        by = request.query.get("by")
        value = request.query.get("value", "")
        record = None
        if by == "hash":
            record = self.core.find_tx(value.lower().removeprefix("0x"))
        elif by == "sequence_index":
            try:
                record = self.engine.tx_by_sequence(int(value))
            except ValueError as exc:
                raise ApiError(400, 20001, "invalid param : value") from exc
        else:
            raise ApiError(400, 20001, "invalid param : by")
        if record is None:
            raise ApiError(400, 29404, "not found")
        return _json({"code": 200, **tx_json(record, enriched=True)})

    async def account_txs(self, request: web.Request) -> web.Response:
        if request.query.get("by", "account_index") != "account_index":
            raise ApiError(400, 20001, "invalid param : by")
        account = _int_param(request, "value")
        self.require_auth(request, account)
        self._account_or_404(account)
        limit = _int_param(request, "limit", 100, lo=1, hi=100)
        types = {int(t) for t in request.query.getall("types", []) if t.strip().isascii() and t.strip().isdigit()}
        txs = self.engine.account_txs(account, limit=1000)
        side = [t for t in self.core.side_txs.values() if t.account_index == account]
        txs = sorted([*txs, *side], key=lambda t: (t.queued_at_ms, t.sequence_index), reverse=True)
        if types:
            txs = [t for t in txs if int(t.tx_type) in types]
        index = _int_param(request, "index", 0)
        if index:
            txs = [t for t in txs if t.sequence_index < index]
        return _json(ok(txs=[tx_json(t) for t in txs[:limit]]))

    async def position_funding(self, request: web.Request) -> web.Response:
        account = _int_param(request, "account_index")
        self.require_auth(request, account)
        self._account_or_404(account)
        market_id = _int_param(request, "market_id", 255)
        limit = _int_param(request, "limit", 100, lo=1, hi=100)
        rows = self.engine.position_fundings(account, None if market_id == 255 else market_id)
        raw_ids = request.query.get("market_ids", "")
        if raw_ids:
            try:
                wanted = {int(x) for x in raw_ids.split(",") if x.strip()}
            except ValueError as exc:
                raise ApiError(400, 20001, "invalid param : market_ids") from exc
            rows = [f for f in rows if f.market_id in wanted]
        side = request.query.get("side", "all")
        if side in ("long", "short"):
            rows = [f for f in rows if (f.position_size >= 0) == (side == "long")]
        start = _time_param(request, "start_timestamp", 0)
        end = _time_param(request, "end_timestamp", 2**62)
        rows = [f for f in rows if start <= f.timestamp_ms <= end]
        cursor = request.query.get("cursor")
        if cursor:
            try:
                below = int(cursor)
            except ValueError as exc:
                raise ApiError(400, 20001, "invalid param : cursor") from exc
            rows = [f for f in rows if f.funding_id < below]
        out = []
        page = list(reversed(rows))[:limit]
        for f in page:
            spec = self.core.specs[f.market_id]
            out.append({"timestamp": f.timestamp_ms // 1000, "market_id": f.market_id, "funding_id": f.funding_id,
                        "change": et.MarketSpec.quote_str(f.change), "discount": "0.000000",
                        "rate": f"{f.rate / 1e6:.4f}", "position_size": spec.size_str(abs(f.position_size)),
                        "position_side": "long" if f.position_size >= 0 else "short"})
        body = ok(position_fundings=out)
        if len(rows) > limit:
            body["next_cursor"] = str(page[-1].funding_id)
        return _json(body)

    async def current_height(self, request: web.Request) -> web.Response:
        return _json(ok(height=self.engine.height))

    async def asset_details(self, request: web.Request) -> web.Response:
        asset_id = _int_param(request, "asset_id", 0)
        out = []
        for aid, a in ASSETS.items():
            if asset_id and aid != asset_id:
                continue
            out.append({"asset_id": aid, "symbol": a["symbol"], "l1_decimals": a["l1_decimals"],
                        "decimals": a["decimals"], "min_transfer_amount": a["min_transfer_amount"],
                        "min_withdrawal_amount": a["min_withdrawal_amount"],
                        "margin_mode": "enabled" if aid == 3 else "disabled", "index_price": a["index_price"],
                        "l1_address": a["l1_address"], "global_supply_cap": "0", "liquidation_fee": "0",
                        "liquidation_threshold": "0", "loan_to_value": "0", "price_decimals": a["price_decimals"],
                        "total_supplied": "0", "user_supply_cap": "0", "liquidation_factor": "0",
                        "multiplier": "1"})
        if asset_id and not out:
            raise ApiError(400, 29404, "not found")
        return _json(ok(asset_details=out))

    # -- transactions ---------------------------------------------------------------------------
    async def _form(self, request: web.Request) -> dict[str, Any]:
        ctype = request.content_type
        if ctype.startswith("multipart/"):
            try:
                data = await request.post()
                return {k: _part_text(v) for k, v in data.items()}
            except TxError:
                raise
            except Exception as exc:  # aiohttp's multipart reader: no boundary, broken parts, bad bytes
                raise TxError(21501, "invalid tx info: malformed multipart body") from exc
        return parse_form(ctype, await request.read())

    async def send_tx(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        now_ms = int(time.time() * 1000)
        tx = parse_tx_info(form.get("tx_type"), form.get("tx_info"), now_ms)
        self._limit_tx(request.path, tx.account_index, request.remote)
        result = self.core.accept([tx])
        return _json({"code": 200, "message": result["message"], "tx_hash": result["hashes"][0],
                      "predicted_execution_time_ms": result["predicted_execution_time_ms"],
                      "volume_quota_remaining": result["volume_quota_remaining"]})

    async def send_tx_batch(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        now_ms = int(time.time() * 1000)
        txs = parse_batch(form.get("tx_types"), form.get("tx_infos"), now_ms)
        self._limit_tx(request.path, txs[0].account_index, request.remote)
        result = self.core.accept(txs)
        return _json({"code": 200, "message": result["message"], "tx_hash": result["hashes"],
                      "predicted_execution_time_ms": result["predicted_execution_time_ms"],
                      "volume_quota_remaining": result["volume_quota_remaining"]})

    async def _ws_tx(self, data: dict[str, Any], kind: str) -> dict[str, Any]:
        req_id = data.get("id")
        now_ms = int(time.time() * 1000)
        try:
            if kind == "jsonapi/sendtx":
                txs = [parse_tx_info(data.get("tx_type"), data.get("tx_info"), now_ms)]
            else:
                txs = parse_batch(data.get("tx_types"), data.get("tx_infos"), now_ms, max_size=MAX_BATCH_WS)
            # sendTx over WS shares the REST tx bucket (Lighter)
            self._limit_tx("/api/v1/sendTx", txs[0].account_index, None)
            result = self.core.accept(txs)
        except (ApiError, TxError, AuthFailure, et.EngineError) as exc:
            reply: dict[str, Any] = {"error": {"code": exc.code, "message": exc.message}}
            if req_id is not None:
                reply["id"] = req_id
            return reply
        hashes = result["hashes"]
        reply = {"code": 200, "predicted_execution_time_ms": result["predicted_execution_time_ms"],
                 "tx_hash": hashes[0] if kind == "jsonapi/sendtx" else hashes, "type": kind}
        if req_id is not None:
            reply["id"] = req_id
        return reply

    # -- WebSocket channels ---------------------------------------------------------------------
    def _channels(self) -> dict[str, ChannelSpec]:
        core = self.core

        def market_arg(args: list[str]) -> int:
            if len(args) != 1:
                raise SubscribeError(30005, "Invalid Channel:  (marketId)")
            try:
                market_id = int(args[0])
            except ValueError as exc:
                raise SubscribeError(30005, "Invalid Channel:  (marketId)") from exc
            if market_id not in core.specs:
                raise SubscribeError(30005, "Invalid Channel:  (marketId)")
            return market_id

        def account_arg(name: str, args: list[str], auth: str | None, required: bool) -> int:
            try:
                account = int(args[-1])
            except (ValueError, IndexError) as exc:
                raise SubscribeError(30005, "Invalid Channel:  (accountId)") from exc
            if required or auth:
                if not auth:
                    raise SubscribeError(20001, f"invalid param : auth field is required: {name}:{account}")
                try:
                    token = parse_auth_token(auth)
                    check_token_deadline(token, time.time())
                except AuthFailure as exc:
                    raise SubscribeError(exc.code, exc.message) from exc
                key = self.engine.api_key(account, token.api_key_index)
                if token.account_index != account or key is None:
                    raise SubscribeError(20013, "invalid auth")
                try:
                    self.core.signatures.check_token(token, key.public_key)
                except AuthFailure as exc:
                    raise SubscribeError(exc.code, exc.message) from exc
            if not self.engine.has_account(account):
                raise SubscribeError(30005, "Invalid Channel:  (accountId)")
            return account

        def market_channel(name: str, snap: Callable[[int], dict[str, Any] | None]) -> ChannelSpec:
            return ChannelSpec(name, lambda args, auth: f"{name}:{market_arg(args)}",
                               lambda key: snap(int(key.split(":")[1])))

        def account_channel(name: str, required: bool, snap: Callable[[int], dict[str, Any] | None]) -> ChannelSpec:
            return ChannelSpec(name, lambda args, auth: f"{name}:{account_arg(name, args, auth, required)}",
                               lambda key: snap(int(key.split(":")[1])))

        def stats_resolve(args: list[str], auth: str | None) -> str:
            if args == ["all"]:
                return "market_stats:all"
            return f"market_stats:{market_arg(args)}"

        def stats_snapshot(key: str) -> dict[str, Any]:
            arg = key.split(":")[1]
            now = core.clock.now_ms()
            if arg == "all":
                stats: Any = {str(m): core.market_stats_json(m) for m in core.specs}
            else:
                stats = core.market_stats_json(int(arg))
            return {"channel": key, "market_stats": stats, "timestamp": now, "type": "subscribed/market_stats"}

        def candle_resolve(args: list[str], auth: str | None) -> str:
            if len(args) != 2 or args[1] not in RESOLUTION_MS:
                raise SubscribeError(30005, "Invalid Channel:  (resolution)")
            return f"candle:{market_arg(args[:1])}:{args[1]}"

        def candle_snapshot(key: str) -> dict[str, Any]:
            _, m, res = key.split(":")
            row = core.candles.latest(int(m), res)
            candles = [candle_numbers(row, core.specs[int(m)])] if row else []
            return {"candles": candles, "channel": key, "timestamp": core.clock.now_ms(), "type": "subscribed/candle"}

        def orders_resolve(args: list[str], auth: str | None) -> str:
            if len(args) != 2:
                raise SubscribeError(30005, "Invalid Channel:  (accountId)")
            market_id = market_arg(args[:1])
            account = account_arg("account_orders", args[1:], auth, True)
            return f"account_orders:{market_id}:{account}"

        def orders_snapshot(key: str) -> dict[str, Any]:
            _, m, a = key.split(":")
            spec = core.specs[int(m)]
            orders = [order_json(o, spec) for o in self.engine.active_orders(int(a), int(m))]
            return {"account": int(a), "channel": f"account_orders:{m}", "nonce": self.engine.book_nonce(int(m)),
                    "orders": {m: orders}, "type": "subscribed/account_orders"}

        def all_orders_snapshot(account: int) -> dict[str, Any]:
            by_market: dict[str, list[Any]] = {}
            for o in self.engine.active_orders(account):
                by_market.setdefault(str(o.market_id), []).append(order_json(o, core.specs[o.market_id]))
            return {"channel": f"account_all_orders:{account}", "orders": by_market,
                    "type": "subscribed/account_all_orders"}

        def tx_snapshot(account: int) -> dict[str, Any]:
            return {"channel": f"account_tx:{account}", "txs": [], "type": "subscribed/account_tx"}

        return {
            "order_book": market_channel("order_book", core.book_snapshot),
            "ticker": market_channel("ticker", lambda m: core.ticker_frame(m, "subscribed/ticker")),
            "trade": market_channel("trade", core.trade_replay),
            "market_stats": ChannelSpec("market_stats", stats_resolve, stats_snapshot),
            "candle": ChannelSpec("candle", candle_resolve, candle_snapshot),
            "height": ChannelSpec("height", lambda args, auth: "height",
                                  lambda key: {"channel": "height", "height": self.engine.height,
                                               "timestamp": core.clock.now_ms(), "type": "subscribed/height"}),
            "account_all": account_channel("account_all", False,
                                           lambda a: core.account_all_frame(a, [], "subscribed/account_all")),
            "account_orders": ChannelSpec("account_orders", orders_resolve, orders_snapshot),
            "account_all_orders": account_channel("account_all_orders", True, all_orders_snapshot),
            "account_all_trades": account_channel(
                "account_all_trades", True,
                lambda a: {"channel": f"account_all_trades:{a}", "daily_volume": 0, "monthly_volume": 0,
                           "total_volume": 0, "trades": {}, "type": "subscribed/account_all_trades",
                           "weekly_volume": 0}),
            "account_all_positions": account_channel(
                "account_all_positions", True, lambda a: core.positions_frame(a, "subscribed/account_all_positions")),
            "account_all_assets": account_channel(
                "account_all_assets", True,
                lambda a: core.assets_frame(a, "subscribed/account_all_assets", core.clock.now_ms())),
            "user_stats": account_channel(
                "user_stats", False, lambda a: core.user_stats_frame(a, "subscribed/user_stats", core.clock.now_ms())),
            "account_tx": account_channel("account_tx", True, tx_snapshot),
        }

    # -- admin API (/sim/...) -------------------------------------------------------------------
    async def admin_api(self, request: web.Request) -> web.Response:
        """``/sim/...`` control endpoints; delegated to the SimExchange's ``admin_call``."""
        if self.admin is None:
            raise ApiError(404, 29404, "not found")
        tail = request.match_info["tail"].strip("/")
        try:
            body = json_object(await request.read()) if request.can_read_body else {}
            params = {**dict(request.query), **body}
            result = await self.admin.admin_call(request.method, tail, params)
        except KeyError as exc:
            raise ApiError(404, 29404, f"unknown admin endpoint /sim/{tail}") from exc
        except (ValueError, TypeError) as exc:  # ParamError and the faults' own checks
            raise ApiError(400, 20001, f"invalid param : {exc}") from exc
        return _json(ok(**result) if isinstance(result, dict) else ok(result=result))


def build_app(core: SimCore, **kwargs: Any) -> tuple[web.Application, SimServer]:
    server = SimServer(core, **kwargs)
    return server.build(), server
