"""Formatting of simulator values exactly as Lighter puts them on the wire.

Lighter's JSON is fussy (lighter-protocol.md §6, §8): prices and sizes are strings with exactly the
market's decimals (the SDK's ``get_best_price`` does ``int(price.replace(".", ""))``), USDC amounts
are strings with 6 decimals, candle and stats values are JSON numbers, and time comes in three
units: order ``timestamp``/``created_at``/``updated_at`` in seconds, ``order_expiry`` and trade
``timestamp`` in ms, ``transaction_time`` and ``last_updated_at`` in µs. Every field that the
SDK's models mark as required is always present (zero, ``""`` or ``[]``; never null).

These helpers are pure and work on integers (ticks) or Decimals; nothing here goes through float
except the fields that Lighter itself sends as JSON numbers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = [
    "fixed",
    "fixed_dec",
    "usdc",
    "num",
    "ORDER_TYPES",
    "TIME_IN_FORCE",
    "ORDER_STATUS",
    "ORDER_STATUS_CODES",
    "TRIGGER_STATUS",
    "ok",
    "error_body",
]

ORDER_TYPES = ("limit", "market", "stop-loss", "stop-loss-limit", "take-profit", "take-profit-limit",
               "twap", "twap-sub", "liquidation")
TIME_IN_FORCE = ("immediate-or-cancel", "good-till-time", "post-only")
ORDER_STATUS = ("in-progress", "pending", "open", "filled", "canceled", "canceled-post-only",
                "canceled-reduce-only", "canceled-position-not-allowed", "canceled-margin-not-allowed",
                "canceled-too-much-slippage", "canceled-not-enough-liquidity", "canceled-self-trade",
                "canceled-expired", "canceled-oco", "canceled-child", "canceled-liquidation",
                "canceled-invalid-balance")
ORDER_STATUS_CODES = {name: i for i, name in enumerate(ORDER_STATUS)}
TRIGGER_STATUS = ("na", "ready", "mark-price", "twap", "parent-order")


def fixed(ticks: int, decimals: int) -> str:
    """Integer ``ticks`` at ``decimals`` places as a string: ``fixed(300000, 2) == "3000.00"``."""
    ticks = int(ticks)
    if decimals <= 0:
        return str(ticks)
    sign = "-" if ticks < 0 else ""
    digits = str(abs(ticks)).rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"


def fixed_dec(value: Decimal | int | str, decimals: int) -> str:
    """A Decimal quantised (half-even) to exactly ``decimals`` places, without exponent notation."""
    d = Decimal(value)
    q = Decimal(1).scaleb(-decimals) if decimals > 0 else Decimal(1)
    out = d.quantize(q)
    if out == 0:
        out = abs(out)  # no "-0.00"
    return f"{out:f}"


def usdc(value: Decimal | int | str) -> str:
    """A USDC amount with Lighter's 6 decimals (``collateral``, ``usd_amount``, ...)."""
    return fixed_dec(value, 6)


def num(value: Decimal | int | float) -> float | int:
    """A value Lighter sends as a JSON number (candles, daily stats, funding-rates)."""
    if isinstance(value, int):
        return value
    f = float(value)
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


def ok(**fields: Any) -> dict[str, Any]:
    """A success envelope: ``code`` 200 beside the payload fields (Lighter has no ``data`` wrapper)."""
    return {"code": 200, **fields}


def error_body(code: int, message: str) -> dict[str, Any]:
    """Lighter's ``ResultCode`` error envelope."""
    return {"code": code, "message": message}


# -- engine objects -> Lighter JSON ------------------------------------------------------------
# The engine (engine_types.py) keeps integers: price ticks, base ticks, micro-USDC, FeeTick ppm,
# unix ms. These functions turn them into Lighter's objects (protocol §8), field for field.


def order_json(o: Any, spec: Any, *, block_height: int = 0, snapshot: bool = True) -> dict[str, Any]:
    """An ``Order`` (protocol §8.1). Integrator fields are ``""`` in snapshots and ``"0"`` in updates."""
    created_s = o.created_at_ms // 1000
    updated_s = (o.updated_at_ms or o.created_at_ms) // 1000
    collector = getattr(o, "integrator_account_index", 0)
    parent = getattr(o, "parent_order_index", 0)
    children: tuple[int, ...] = getattr(o, "children", ())
    if collector:
        integ_index = str(collector)
        integ_taker, integ_maker = str(o.integrator_taker_fee), str(o.integrator_maker_fee)
    else:  # Lighter: "" in snapshots, "0" in updates
        integ_index = integ_taker = integ_maker = "" if snapshot else "0"
    return {
        "order_index": o.order_index,
        "client_order_index": o.client_order_index,
        "order_id": str(o.order_index),
        "client_order_id": str(o.client_order_index),
        "market_index": o.market_id,
        "owner_account_index": o.account_index,
        "initial_base_amount": spec.size_str(o.initial_base),
        "price": spec.price_str(o.price),
        "nonce": o.nonce,
        "remaining_base_amount": spec.size_str(o.remaining_base),
        "is_ask": bool(o.is_ask),
        "base_size": o.remaining_base,
        "base_price": o.price,
        "filled_base_amount": spec.size_str(o.filled_base),
        "filled_quote_amount": fixed(o.filled_quote, 6),
        "side": "",
        "type": o.type.wire_name,
        "time_in_force": o.time_in_force.wire_name,
        "reduce_only": bool(o.reduce_only),
        "trigger_price": spec.price_str(o.trigger_price),
        "order_expiry": o.order_expiry_ms,
        "status": o.status.wire_name,
        "trigger_status": o.trigger_status.value,
        "trigger_time": o.trigger_time_ms,
        "parent_order_index": parent,
        "parent_order_id": str(parent),
        "to_trigger_order_id_0": str(children[0]) if children else "0",
        "to_trigger_order_id_1": str(children[1]) if len(children) > 1 else "0",
        "to_cancel_order_id_0": str(getattr(o, "oco_sibling", 0)),
        "integrator_fee_collector_index": integ_index,
        "integrator_taker_fee": integ_taker,
        "integrator_maker_fee": integ_maker,
        "order_flags": 0,
        "block_height": o.block_height or block_height,
        "timestamp": updated_s,
        "created_at": created_s,
        "updated_at": updated_s,
        "transaction_time": o.transaction_time_us,
        "order_version": o.order_version,
        "market_symbol": spec.symbol,
        "market_kind": "perps",
    }


def simple_order_json(o: Any, spec: Any) -> dict[str, Any]:
    """A ``SimpleOrder`` of ``orderBookOrders``."""
    return {
        "order_index": o.order_index,
        "order_id": str(o.order_index),
        "owner_account_index": o.account_index,
        "initial_base_amount": spec.size_str(o.initial_base),
        "remaining_base_amount": spec.size_str(o.remaining_base),
        "price": spec.price_str(o.price),
        "order_expiry": o.order_expiry_ms,
        "transaction_time": o.transaction_time_us,
    }


def trade_json(t: Any, spec: Any, *, for_account: int | None = None) -> dict[str, Any]:
    """A ``Trade`` (protocol §8.2), every SDK-required field present.

    ``ask_account_pnl``/``bid_account_pnl`` are the realized PnL of the side that reduced a
    position; the simulator reports them as ``"0.000000"`` (it does not split PnL per trade).
    """
    maker_before, taker_before = t.maker_position_size_before, t.taker_position_size_before
    size = t.size
    # the taker bought when the maker was the seller
    taker_after = taker_before + (size if t.is_maker_ask else -size)
    maker_after = maker_before + (-size if t.is_maker_ask else size)
    return {
        "trade_id": t.trade_id,
        "trade_id_str": str(t.trade_id),
        "tx_hash": t.tx_hash,
        "type": t.type,
        "market_id": t.market_id,
        "size": spec.size_str(size),
        "price": spec.price_str(t.price),
        "usd_amount": fixed(t.usd_amount, 6),
        "ask_id": t.ask_id,
        "ask_id_str": str(t.ask_id),
        "bid_id": t.bid_id,
        "bid_id_str": str(t.bid_id),
        "ask_client_id": t.ask_client_id,
        "ask_client_id_str": str(t.ask_client_id),
        "bid_client_id": t.bid_client_id,
        "bid_client_id_str": str(t.bid_client_id),
        "ask_account_id": t.ask_account_id,
        "bid_account_id": t.bid_account_id,
        "is_maker_ask": bool(t.is_maker_ask),
        "block_height": t.block_height,
        "timestamp": t.timestamp_ms,
        "taker_fee": t.taker_fee,
        "maker_fee": t.maker_fee,
        "taker_position_size_before": spec.size_str(abs(taker_before)),
        "taker_entry_quote_before": fixed(t.taker_entry_quote_before, 6),
        "taker_initial_margin_fraction_before": t.taker_imf_before,
        "taker_position_sign_changed": (taker_before > 0 > taker_after) or (taker_before < 0 < taker_after),
        "maker_position_size_before": spec.size_str(abs(maker_before)),
        "maker_entry_quote_before": fixed(t.maker_entry_quote_before, 6),
        "maker_initial_margin_fraction_before": t.maker_imf_before,
        "maker_position_sign_changed": (maker_before > 0 > maker_after) or (maker_before < 0 < maker_after),
        "transaction_time": t.transaction_time_us,
        "ask_account_pnl": "0.000000",
        "bid_account_pnl": "0.000000",
        "integrator_maker_fee": 0,
        "integrator_maker_fee_collector_index": 0,
        "integrator_taker_fee": 0,
        "integrator_taker_fee_collector_index": 0,
        "taker_allocated_margin_usdc_before": 0,
        "taker_allocated_margin_usdc_after": 0,
        "maker_allocated_margin_usdc_before": 0,
        "maker_allocated_margin_usdc_after": 0,
        "bid_order_version": 0,
        "ask_order_version": 0,
        "market_symbol": spec.symbol,
        "market_kind": "perps",
    }


#: The fields of a trade on Lighter's *public* answers (``recentTrades``, ``trades`` without an
#: account, the ``trade`` channel): the print itself, no account data (no account or client ids,
#: fees, positions before the trade, PnL, tx hash or block height). Private answers carry
#: :func:`trade_json`.
PUBLIC_TRADE_FIELDS = ("trade_id", "trade_id_str", "type", "market_id", "size", "price", "usd_amount", "ask_id",
                       "bid_id", "is_maker_ask", "timestamp", "transaction_time")


def public_trade_json(t: Any, spec: Any) -> dict[str, Any]:
    """A trade as Lighter shows it to everyone (:data:`PUBLIC_TRADE_FIELDS`)."""
    return {
        "trade_id": t.trade_id, "trade_id_str": str(t.trade_id), "type": t.type, "market_id": t.market_id,
        "size": spec.size_str(t.size), "price": spec.price_str(t.price), "usd_amount": fixed(t.usd_amount, 6),
        "ask_id": t.ask_id, "bid_id": t.bid_id, "is_maker_ask": bool(t.is_maker_ask), "timestamp": t.timestamp_ms,
        "transaction_time": t.transaction_time_us,
    }


def position_json(p: Any, spec: Any, mark_price: int, *, liquidation_price: str = "0") -> dict[str, Any]:
    """An ``AccountPosition`` (protocol §8.3): unsigned ``position`` plus ``sign``."""
    size = abs(p.size)
    imf = p.initial_margin_fraction or spec.default_initial_margin_fraction
    return {
        "market_id": p.market_id,
        "symbol": spec.symbol,
        "initial_margin_fraction": fixed(imf, 2),
        "open_order_count": p.open_order_count,
        "pending_order_count": p.pending_order_count,
        "position_tied_order_count": getattr(p, "position_tied_order_count", 0),
        "sign": -1 if p.size < 0 else 1,
        "position": spec.size_str(size),
        "avg_entry_price": spec.avg_entry_price_str(p.entry_quote, p.size),
        "position_value": fixed(spec.notional(mark_price, size), 6),
        "unrealized_pnl": fixed(p.unrealized_pnl(mark_price, spec), 6),
        "realized_pnl": fixed(p.realized_pnl, 6),
        "liquidation_price": liquidation_price,
        "total_funding_paid_out": fixed(p.total_funding_paid_out, 6),
        "margin_mode": int(p.margin_mode),
        "allocated_margin": fixed(p.allocated_margin, 6),
        "total_discount": "0.000000",
        "margin_set_flag": 0,
    }


def candle_json(c: Any) -> dict[str, Any]:
    """A ``Candle``: ``t`` ms, prices and volumes as JSON numbers, ``i`` the last trade id."""
    return {"t": c[0], "o": num(c[1]), "h": num(c[2]), "l": num(c[3]), "c": num(c[4]),
            "v": num(c[5]), "V": num(c[6]), "i": int(c[7])}
