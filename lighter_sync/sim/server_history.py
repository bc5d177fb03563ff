"""The simulator's money and account-info endpoints, in Lighter's shapes (SDK 1.1.8 models).

* ``transferFeeInfo`` (auth): ``{"transfer_fee_usdc": int}`` micro-USDC, 0 between one owner's
  accounts (see :mod:`engine_accounts`);
* ``systemConfig``: the venue's system accounts and integrator fee caps;
* ``accountMetadata?by=index|l1_address&value=``: name, description, flags per account;
* ``deposit/history``, ``transfer/history``, ``withdraw/history`` (auth): the account's money
  movements, newest first, with ``cursor`` paging (the last id of the page; "" at the end);
* the legacy ``candlesticks`` (ccxt's older OHLCV path): the same candles as ``candles`` in
  ``{timestamp, open, high, low, close, *_raw, volume0, volume1, last_trade_id}``.

Also :func:`transfer_l1_message`, the text the official signer asks an L1 wallet to sign for a
transfer to another owner's account (checked by ``SimCore.to_request``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from lighter_sync.sim import engine_types as et
from lighter_sync.sim.engine_accounts import TRANSFER_FEE
from lighter_sync.sim.server_market import RESOLUTION_MS

__all__ = ["HistoryRoutes", "transfer_l1_message", "PAGE"]

PAGE = 50
#: Secure (normal) withdrawals become claimable after this delay on Lighter; the simulator's is 0.
WITHDRAWAL_DELAY_S = 0


def transfer_l1_message(info: dict[str, Any], chain_id: int) -> str:
    """The message an L1 wallet signs for an L2Transfer to another owner (the signer's own format)."""
    memo = bytes(int(b) & 0xFF for b in (info.get("Memo") or [0] * 32)).hex()

    def h(value: int) -> str:
        return f"0x{int(value) & (2**64 - 1):016x}"

    return (f"Transfer\n\nnonce: {h(info['Nonce'])}\nfrom: {h(info['FromAccountIndex'])} "
            f"(route {h(info.get('FromRouteType', 0))})\napi key: {h(info['ApiKeyIndex'])}\n"
            f"to: {h(info['ToAccountIndex'])} (route {h(info.get('ToRouteType', 0))})\n"
            f"asset: {h(info['AssetIndex'])}\namount: {h(info['Amount'])}\nfee: {h(info.get('USDCFee', 0))}\n"
            f"chainId: {h(chain_id)}\nmemo: {memo}\nOnly sign this message for a trusted client!")


class HistoryRoutes:
    """Handlers bound to a :class:`~lighter_sync.sim.server.SimServer` (imported lazily: no cycle)."""

    def __init__(self, server: Any) -> None:
        from lighter_sync.sim import server as srv

        self.server = server
        self.engine = server.engine
        self.core = server.core
        self._srv = srv

    def routes(self) -> dict[tuple[str, str], Callable[[web.Request], Awaitable[web.Response]]]:
        v1 = "/api/v1/"
        return {("GET", v1 + name): handler for name, handler in {
            "transferFeeInfo": self.transfer_fee_info, "systemConfig": self.system_config,
            "accountMetadata": self.account_metadata, "deposit/history": self.deposit_history,
            "transfer/history": self.transfer_history, "withdraw/history": self.withdraw_history,
            "candlesticks": self.candlesticks, "withdrawalDelay": self.withdrawal_delay,
        }.items()}

    # -- helpers --------------------------------------------------------------------------------
    def _int(self, request: web.Request, name: str, default: int | None = None, **kw: Any) -> int:
        return self._srv._int_param(request, name, default, **kw)

    def _authed_account(self, request: web.Request) -> int:
        account = self._int(request, "account_index", lo=0)
        self.server.require_auth(request, account)
        self.server._account_or_404(account)
        return account

    def _page(self, request: web.Request, rows: list[et.Movement]) -> tuple[list[et.Movement], str]:
        cursor = request.query.get("cursor") or ""
        if cursor:
            try:
                below = int(cursor)
            except ValueError as exc:
                raise self._srv.ApiError(400, 20001, "invalid param : cursor") from exc
            rows = [m for m in rows if m.movement_id < below]
        page = rows[:PAGE]
        return page, (str(page[-1].movement_id) if len(rows) > PAGE else "")

    def _l1(self, account: int) -> str:
        return self.engine.account(account).l1_address if self.engine.has_account(account) else ""

    # -- endpoints ------------------------------------------------------------------------------
    async def transfer_fee_info(self, request: web.Request) -> web.Response:
        account = self._authed_account(request)
        to = self._int(request, "to_account_index", -1)
        fee = TRANSFER_FEE if to < 0 or not self.engine.has_account(to) else self.engine.transfer_fee(account, to)
        return self._srv._json(self._srv.ok(transfer_fee_usdc=fee))

    async def withdrawal_delay(self, request: web.Request) -> web.Response:
        return self._srv._json(self._srv.ok(seconds=WITHDRAWAL_DELAY_S))

    async def system_config(self, request: web.Request) -> web.Response:
        return self._srv._json(self._srv.ok(
            liquidity_pool_index=0, staking_pool_index=0, funding_fee_rebate_account_index=0,
            liquidity_pool_cooldown_period=0, staking_pool_lockup_period=0,
            max_integrator_perps_maker_fee=et.FEE_TICK_SCALE, max_integrator_perps_taker_fee=et.FEE_TICK_SCALE,
            max_integrator_spot_maker_fee=et.FEE_TICK_SCALE, max_integrator_spot_taker_fee=et.FEE_TICK_SCALE,
            market_maker_incentive_account_index=0, fee_collector_account_index=et.FEE_ACCOUNT_INDEX))

    async def account_metadata(self, request: web.Request) -> web.Response:
        by, value = request.query.get("by"), request.query.get("value", "")
        if by == "index":
            try:
                accounts = [self.server._account_or_404(int(value))]
            except ValueError as exc:
                raise self._srv.ApiError(400, 20001, "invalid param : value") from exc
        elif by == "l1_address":
            accounts = self.engine.accounts_by_l1(value)
            if not accounts:
                raise self._srv.ApiError(400, 21100, "account not found")
        else:
            raise self._srv.ApiError(400, 20001, "invalid param : by")
        rows = [{"account_index": a.account_index, "name": "", "description": "", "can_invite": False,
                 "referral_points_percentage": "", "created_at": a.created_at_ms // 1000, "can_rfq": False,
                 "can_rfq_market_ids": [], "metadata": {"color": ""}, "agent_enabled": False} for a in accounts]
        return self._srv._json(self._srv.ok(account_metadatas=rows, next_cursor=""))

    async def deposit_history(self, request: web.Request) -> web.Response:
        account = self._authed_account(request)
        page, cursor = self._page(request, self.engine.movements(account, ("deposit",)))
        rows = [{"id": str(m.movement_id), "amount": et.MarketSpec.quote_str(m.amount), "timestamp": m.timestamp_ms,
                 "status": "completed", "l1_tx_hash": "0x" + m.tx_hash[:64], "asset_id": 3} for m in page]
        return self._srv._json(self._srv.ok(deposits=rows, cursor=cursor))

    async def withdraw_history(self, request: web.Request) -> web.Response:
        account = self._authed_account(request)
        page, cursor = self._page(request, self.engine.movements(account, ("withdraw",)))
        rows = [{"id": str(m.movement_id), "amount": et.MarketSpec.quote_str(m.amount), "timestamp": m.timestamp_ms,
                 "status": "claimable", "type": "secure", "l1_tx_hash": "", "asset_id": 3} for m in page]
        return self._srv._json(self._srv.ok(withdraws=rows, cursor=cursor))

    async def transfer_history(self, request: web.Request) -> web.Response:
        account = self._authed_account(request)
        page, cursor = self._page(request, self.engine.movements(account, ("transfer_in", "transfer_out")))
        rows = []
        for m in page:
            out = m.kind == "transfer_out"
            sender, receiver = (account, m.counterparty) if out else (m.counterparty, account)
            rows.append({
                "id": str(m.movement_id), "amount": et.MarketSpec.quote_str(m.amount), "timestamp": m.timestamp_ms,
                "type": "L2TransferOutflow" if out else "L2TransferInflow",
                "from_l1_address": self._l1(sender), "to_l1_address": self._l1(receiver),
                "from_account_index": sender, "to_account_index": receiver, "tx_hash": m.tx_hash, "asset_id": 3,
                "fee": et.MarketSpec.quote_str(m.fee), "from_route": "perps", "to_route": "perps"})
        wanted = request.query.getall("type", []) if hasattr(request.query, "getall") else []
        if wanted:
            rows = [r for r in rows if r["type"] in wanted]
        return self._srv._json(self._srv.ok(transfers=rows, cursor=cursor))

    async def candlesticks(self, request: web.Request) -> web.Response:
        spec = self.server._market(request)
        res = request.query.get("resolution", "")
        if res not in RESOLUTION_MS:
            raise self._srv.ApiError(400, 22401, "invalid resolution")
        start = self._srv._time_param(request, "start_timestamp", None, hi=5_000_000_000_000)
        end = self._srv._time_param(request, "end_timestamp", None, hi=5_000_000_000_000)
        count_back = self._int(request, "count_back", 0, lo=0)
        if end < start:
            raise self._srv.ApiError(400, 22400, "invalid timestamps")
        to_end = str(request.query.get("set_timestamp_to_end", "")).lower() in ("1", "true")
        step = RESOLUTION_MS[res]
        pd, sd = 10**spec.price_decimals, 10**spec.size_decimals
        rows = []
        for r in self.core.candles.query(spec.market_id, res, start, end, count_back):
            rows.append({"timestamp": r[0] + step if to_end else r[0], "open": r[1] / pd, "high": r[2] / pd,
                         "low": r[3] / pd, "close": r[4] / pd, "open_raw": 0, "high_raw": 0, "low_raw": 0,
                         "close_raw": 0, "volume0": r[5] / sd, "volume1": r[6] / 1_000_000, "last_trade_id": r[7]})
        return self._srv._json(self._srv.ok(resolution=res, candlesticks=rows))
