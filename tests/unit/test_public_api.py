"""Pins the public API: ``lighter_sync.__all__`` and every public LighterClient signature.

A failure here means the public surface changed. If the change is deliberate, regenerate the
tables below in the same commit (``python -m tests.unit.test_public_api``) and review the diff.
"""

from __future__ import annotations

import inspect
import re
import sys

import lighter_sync
from lighter_sync import LighterClient

EXPECTED_ALL = ['Account', 'Asset', 'AuthError', 'BatchResult', 'BookLevel', 'Candle', 'ConfigError', 'Exit', 'Fill', 'Funding', 'GroupResult', 'InvalidNonceError', 'InvalidOrderError', 'LighterClient', 'LighterError', 'Market', 'MarketCatalog', 'NetworkProfile', 'Order', 'OrderBook', 'OutcomeUnknownError', 'Position', 'RateLimitError', 'Reconciliation', 'RequestError', 'ResyncError', 'RetryableError', 'Secret', 'Settings', 'StreamConfig', 'Trade', 'Tx', 'TxResult', 'UnknownMarketError', 'ValidationError', '__version__', 'errors']

EXPECTED_CLIENT = {
    'account': "(self, account_index: 'int | None' = None) -> 'Account'",
    'account_index': 'property',
    'account_limits': "(self) -> 'AccountLimits'",
    'accounts_by_l1_address': "(self, l1_address: 'str | None' = None) -> 'list[Account]'",
    'active_orders': "(self, symbol: 'str | int | None' = None) -> 'list[Order]'",
    'api_keys': "(self, account_index: 'int | None' = None) -> 'list[ApiKey]'",
    'available_balance': "(self) -> 'Decimal'",
    'balances': "(self) -> 'list[Asset]'",
    'batch': "(self) -> 'BatchBuilder'",
    'cancel_all_orders': "(self, symbol: 'str | int | None' = None, *, timeout: 'float | None' = None) -> 'TxResult'",
    'cancel_order': "(self, symbol: 'str | int', order_index: 'int | None' = None, *, client_order_index: 'int | None' = None, timeout: 'float | None' = None) -> 'TxResult'",
    'candles': "(self, symbol: 'str | int', resolution: 'str' = '1h', start: 'TimeLike | None' = None, end: 'TimeLike | None' = None, *, limit: 'int | None' = None) -> 'list[Candle]'",
    'client_order_ids': 'property',
    'close': "(self) -> 'None'",
    'closed': 'property',
    'collateral': "(self) -> 'Decimal'",
    'configure_stream': "(self, config: 'StreamConfig') -> 'None'",
    'create_grouped_orders': "(self, symbol: 'str | int', side: 'str', size: 'Decimal | int | str', price: 'Decimal | int | str | None' = None, *, take_profit: 'Exit | Decimal | int | str | None' = None, stop_loss: 'Exit | Decimal | int | str | None' = None, post_only: 'bool' = False, ioc: 'bool' = False, max_slippage: 'Decimal | str' = Decimal('0.01'), expiry: 'Any' = None, client_order_index: 'int | None' = None, wait: 'bool' = False, wait_timeout: 'float | None' = None, timeout: 'float | None' = None) -> 'GroupResult'",
    'create_limit_order': "(self, symbol: 'str | int', side: 'str', size: 'Decimal | int | str', price: 'Decimal | int | str', *, post_only: 'bool' = False, ioc: 'bool' = False, reduce_only: 'bool' = False, expiry: 'int | datetime | timedelta | None' = None, client_order_index: 'int | None' = None, price_rounding: 'str | None' = None, wait: 'bool' = False, wait_timeout: 'float | None' = None, timeout: 'float | None' = None) -> 'TxResult'",
    'create_market_order': "(self, symbol: 'str | int', side: 'str', size: 'Decimal | int | str', *, max_slippage: 'Decimal | str' = Decimal('0.01'), worst_price: 'Decimal | int | str | None' = None, reduce_only: 'bool' = False, client_order_index: 'int | None' = None, wait: 'bool' = False, wait_timeout: 'float | None' = None, timeout: 'float | None' = None) -> 'TxResult'",
    'create_oco_order': "(self, symbol: 'str | int', side: 'str', *, take_profit: 'Exit | Decimal | int | str', stop_loss: 'Exit | Decimal | int | str', size: 'Decimal | int | str | None' = None, expiry: 'Any' = None, wait: 'bool' = False, wait_timeout: 'float | None' = None, timeout: 'float | None' = None) -> 'GroupResult'",
    'create_order': "(self, symbol: 'str | int', amount: 'Decimal | int | str', price: 'Decimal | int | str | None' = None, *, side: 'str | None' = None, take_profit: 'Any' = None, stop_loss: 'Any' = None, **kwargs: 'Any') -> 'Any'",
    'create_sub_account': "(self, *, timeout: 'float | None' = None, wait_timeout: 'float' = 10.0) -> 'Account'",
    'create_twap_order': "(self, symbol: 'str | int', side: 'str', size: 'Decimal | int | str', duration: 'timedelta | float', *, worst_price: 'Decimal | int | str | None' = None, max_slippage: 'Decimal | str' = Decimal('0.01'), reduce_only: 'bool' = False, client_order_index: 'int | None' = None, wait: 'bool' = False, wait_timeout: 'float | None' = None, timeout: 'float | None' = None) -> 'TxResult'",
    'exchange_stats': "(self) -> 'ExchangeStats'",
    # since_trade_id: the grid bot's catch-up of fills made while it was down (issue 11)
    'fills': "(self, symbol: 'str | int | None' = None, *, limit: 'int' = 100, since_trade_id: 'int | None' = None) -> 'list[Fill]'",
    'from_env': "classmethod (env_file: 'str | None' = '.env', **overrides: 'Any') -> 'LighterClient'",
    'funding_rate': "(self, symbol: 'str | int') -> 'FundingRate | None'",
    'funding_rates': "(self, exchange: 'str | None' = 'lighter') -> 'list[FundingRate]'",
    'fundings': "(self, symbol: 'str | int', resolution: 'str' = '1h', start: 'TimeLike | None' = None, end: 'TimeLike | None' = None, *, limit: 'int | None' = None) -> 'list[Funding]'",
    'inactive_orders': "(self, symbol: 'str | int | None' = None, *, limit: 'int' = 100) -> 'list[Order]'",
    'market': "(self, symbol: 'str | int') -> 'Market'",
    'markets': "(self) -> 'list[Market]'",
    'modify_order': "(self, symbol: 'str | int', order_index: 'int', *, size: 'Decimal | int | str', price: 'Decimal | int | str', trigger_price: 'Decimal | int | str | None' = None, side: 'str | None' = None, order_version: 'int | None' = None, timeout: 'float | None' = None) -> 'TxResult'",
    'new_client_order_index': "(self) -> 'int'",
    'next_nonce': "(self, api_key_index: 'int | None' = None) -> 'int'",
    'order_book': "(self, symbol: 'str | int', depth: 'int' = 20) -> 'OrderBook'",
    'order_status': "(self, client_order_index: 'int', symbol: 'str | int | None' = None, *, timeout: 'float | None' = None) -> 'Order | None'",
    'pnl': "(self, resolution: 'str' = '1h', start: 'TimeLike | None' = None, end: 'TimeLike | None' = None, *, limit: 'int | None' = None) -> 'list[PnlPoint]'",
    'poll': "(self, timeout: 'float | None' = None) -> 'Event | None'",
    'position': "(self, symbol: 'str | int') -> 'Position | None'",
    'positions': "(self, *, include_flat: 'bool' = False) -> 'list[Position]'",
    'read_only': 'property',
    'recent_trades': "(self, symbol: 'str | int', limit: 'int' = 100) -> 'list[Trade]'",
    'reconcile_order': "(self, client_order_index: 'int', *, timeout: 'float' = 5.0) -> 'Reconciliation'",
    'refresh_markets': "(self) -> 'None'",
    'schedule_cancel_all': "(self, after: 'timedelta | float | None', *, timeout: 'float | None' = None) -> 'TxResult'",
    'settings': 'property',
    'signer_stats': "(self) -> 'dict[str, int]'",
    'stop_loss': "(self, symbol: 'str | int', side: 'str', size: 'Decimal | int | str', trigger_price: 'Decimal | int | str', *, limit_price: 'Decimal | int | str | None' = None, max_slippage: 'Decimal | str' = Decimal('0.01'), reduce_only: 'bool' = True, expiry: 'int | datetime | timedelta | None' = None, client_order_index: 'int | None' = None, wait: 'bool' = False, wait_timeout: 'float | None' = None, timeout: 'float | None' = None) -> 'TxResult'",
    'stream_positions': "(self) -> 'dict[str, Decimal]'",
    'stream_stats': "(self) -> 'StreamStats | None'",
    'sub_accounts': "(self) -> 'list[Account]'",
    'subscribe_account': "(self, *, wait: 'float | None' = 10.0) -> 'Subscription'",
    'subscribe_candles': "(self, symbol: 'str | int', resolution: 'str' = '1m') -> 'Subscription'",
    'subscribe_fills': "(self, symbol: 'str | int | None' = None, *, wait: 'float | None' = 10.0) -> 'Subscription'",
    'subscribe_market_stats': "(self, symbol: 'str | int | None' = None) -> 'Subscription'",
    'subscribe_order_book': "(self, symbol: 'str | int') -> 'BookSubscription'",
    'subscribe_orders': "(self, symbol: 'str | int | None' = None, *, wait: 'float | None' = 10.0) -> 'Subscription'",
    'subscribe_ticker': "(self, symbol: 'str | int') -> 'Subscription'",
    'subscribe_trades': "(self, symbol: 'str | int') -> 'Subscription'",
    'take_profit': "(self, symbol: 'str | int', side: 'str', size: 'Decimal | int | str', trigger_price: 'Decimal | int | str', *, limit_price: 'Decimal | int | str | None' = None, max_slippage: 'Decimal | str' = Decimal('0.01'), reduce_only: 'bool' = True, expiry: 'int | datetime | timedelta | None' = None, client_order_index: 'int | None' = None, wait: 'bool' = False, wait_timeout: 'float | None' = None, timeout: 'float | None' = None) -> 'TxResult'",
    # since_trade_id: the grid bot's catch-up of fills made while it was down (issue 11)
    'trades': "(self, symbol: 'str | int | None' = None, *, limit: 'int' = 100, since_trade_id: 'int | None' = None) -> 'list[Trade]'",
    'transactions': "(self, *, limit: 'int' = 100) -> 'list[Tx]'",
    'transfer': "(self, to_account_index: 'int', amount: 'Decimal | int | str', *, fee: 'Decimal | int | str | None' = None, memo: 'bytes | str | None' = None, l1_private_key: 'str | Secret | None' = None, timeout: 'float | None' = None) -> 'TxResult'",
    'transfer_fee': "(self, to_account_index: 'int', *, timeout: 'float | None' = None) -> 'Decimal'",
    'tx': "(self, tx_hash: 'str') -> 'Tx'",
    'update_leverage': "(self, symbol: 'str | int', leverage: 'Decimal | int | str', *, margin_mode: 'str' = 'cross', timeout: 'float | None' = None) -> 'TxResult'",
    'update_margin': "(self, symbol: 'str | int', amount: 'Decimal | int | str', *, direction: 'str' = 'add', timeout: 'float | None' = None) -> 'TxResult'",
    'wait_for_order': "(self, client_order_index: 'int', timeout: 'float' = 10.0, *, until: 'Iterable[str] | Callable[[Any], bool] | None' = None, poll_interval: 'float' = 0.2) -> 'Order'",
    'withdraw': "(self, amount: 'Decimal | int | str', *, timeout: 'float | None' = None) -> 'TxResult'",
    # network=None: a read-only client reads mainnet; a client with a key must name its network (issue 10)
    '__init__': "(self, settings: 'Settings | None' = None, *, network: 'str | NetworkProfile | None' = None, account_index: 'int | None' = None, api_key_index: 'int | None' = None, api_private_key: 'str | Secret | None' = None, api_private_keys: 'dict[int, str | Secret] | None' = None, l1_address: 'str | None' = None, chain_id: 'int | None' = None, rate_limit: 'str' = 'standard', timeout: 'float' = 10.0, rest: 'RestClient | None' = None) -> 'None'",
}


def _describe(name: str) -> str:
    attr = inspect.getattr_static(LighterClient, name)
    if isinstance(attr, property):
        return "property"
    if isinstance(attr, (classmethod, staticmethod)):
        return "classmethod " + str(inspect.signature(getattr(LighterClient, name)))
    return str(inspect.signature(attr))


def test_all_is_pinned_and_resolvable():
    assert sorted(lighter_sync.__all__) == EXPECTED_ALL
    for name in lighter_sync.__all__:
        assert getattr(lighter_sync, name) is not None, name


def test_client_public_methods_are_pinned():
    public = {name for name in dir(LighterClient) if not name.startswith("_")}
    missing = set(EXPECTED_CLIENT) - public - {"__init__"}
    added = public - set(EXPECTED_CLIENT)
    assert not missing, f"public methods removed: {sorted(missing)}"
    assert not added, f"public methods added without updating the pin: {sorted(added)}"
    changed = {name: _describe(name) for name in EXPECTED_CLIENT if _describe(name) != EXPECTED_CLIENT[name]}
    assert not changed, f"signatures changed: {changed}"


def test_public_methods_are_documented_and_typed():
    for name in EXPECTED_CLIENT:
        attr = getattr(LighterClient, name)
        if name == "__init__" or isinstance(inspect.getattr_static(LighterClient, name), property):
            continue
        assert inspect.getdoc(attr), f"{name} has no docstring"
        sig = inspect.signature(attr)
        assert sig.return_annotation is not inspect.Signature.empty, f"{name} has no return type"


def _regenerate(path: str) -> None:
    """Rewrite EXPECTED_ALL / EXPECTED_CLIENT in this file from the current code."""
    names = sorted({n for n in dir(LighterClient) if not n.startswith("_")}) + ["__init__"]
    table = "EXPECTED_CLIENT = {\n" + "\n".join(f"    {n!r}: {_describe(n)!r}," for n in names) + "\n}"
    with open(path) as f:
        text = f.read()
    text = re.sub(r"EXPECTED_CLIENT = \{\n.*?\n\}", lambda m: table, text, count=1, flags=re.S)
    text = re.sub(r"EXPECTED_ALL = \[.*?\]", lambda m: f"EXPECTED_ALL = {sorted(lighter_sync.__all__)!r}", text,
                  count=1, flags=re.S)
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":  # python -m tests.unit.test_public_api
    _regenerate(__file__)
    sys.stdout.write(f"regenerated {__file__}\n")
