"""Venue payloads in the exact shape of lighter-protocol.md (§3, §8), shared by CORE's unit tests."""

from __future__ import annotations

import copy

KEY_A = "0x" + "ab" * 40  # throwaway API private keys of the right shape
KEY_B = "0x" + "cd" * 40
L1 = "0x" + "12" * 20


def _detail(symbol, market_id, size_dec, price_dec, min_base, min_quote, quote_limit="281474976.710655", **extra):
    row = {
        "symbol": symbol, "market_id": market_id, "market_type": "perp", "base_asset_id": 0, "quote_asset_id": 0,
        "status": "active", "taker_fee": "0.0000", "maker_fee": "0.0000", "liquidation_fee": "1.0000",
        "min_base_amount": min_base, "min_quote_amount": min_quote, "supported_size_decimals": size_dec,
        "supported_price_decimals": price_dec, "supported_quote_decimals": 6, "order_quote_limit": quote_limit,
        "size_decimals": size_dec, "price_decimals": price_dec, "quote_multiplier": 1,
        "default_initial_margin_fraction": 500, "min_initial_margin_fraction": 200,
        "maintenance_margin_fraction": 120, "closeout_margin_fraction": 80, "last_trade_price": 2361.31,
        "daily_trades_count": 10, "daily_base_token_volume": 1.5, "daily_quote_token_volume": 3000.25,
        "daily_price_low": 2300.0, "daily_price_high": 2400.5, "daily_price_change": 0.83, "open_interest": 12.5,
        "daily_chart": {}, "market_config": {"market_margin_mode": 0, "insurance_fund_account_index": 1,
                                             "liquidation_mode": 0, "force_reduce_only": False,
                                             "trading_hours": "", "hidden": False, "rfq_enabled": False},
        "strategy_index": 0, "is_maker_fee_enabled": True, "is_taker_fee_enabled": True,
        "funding_clamp_small": "0.0500", "funding_clamp_big": "4.0000", "base_interest_rate": "0.0100",
        "created_at": "1737098461100", "mark_price": "2361.20", "index_price": "2361.00",
        "multiplier": "1.000000000000000000", "market_flags": 0, "funding_premium_multiplier": 1,
        "start_timestamp": 0, "end_timestamp": 0, "settlement_type": 0, "settlement_price": 0, "settlement_cap": 0,
        "outcome": 0, "default_price": 0, "operator_account_index": 0, "is_frozen": False,
        "unknown_future_key": {"x": 1},
    }
    row.update(extra)
    return row


ORDER_BOOK_DETAILS = {
    "code": 200,
    "order_book_details": [
        _detail("ETH", 0, 4, 2, "0.0050", "10.000000"),
        _detail("BTC", 1, 5, 1, "0.00020", "10.000000"),
        _detail("TON", 5, 1, 4, "2.0", "10.000000", maker_fee="0.0020", taker_fee="0.0200"),
        _detail("CRV", 36, 1, 5, "35.0", "10.000000", order_quote_limit=""),
        _detail("OLD", 77, 2, 4, "1.00", "10.000000", status="inactive"),
    ],
    "spot_order_book_details": [
        {"symbol": "ETH/USDC", "market_id": 2048, "market_type": "spot", "base_asset_id": 1, "quote_asset_id": 3,
         "status": "active", "taker_fee": "0.0000", "maker_fee": "0.0000", "liquidation_fee": "0.0000",
         "min_base_amount": "0.0050", "min_quote_amount": "10.000000", "order_quote_limit": "281474976.710655",
         "supported_size_decimals": 4, "supported_price_decimals": 2, "supported_quote_decimals": 6,
         "size_decimals": 4, "price_decimals": 2, "last_trade_price": 2361.3, "daily_trades_count": 0,
         "daily_base_token_volume": 0, "daily_quote_token_volume": 0, "daily_price_low": 0, "daily_price_high": 0,
         "daily_price_change": 0, "daily_chart": {}, "is_maker_fee_enabled": True, "is_taker_fee_enabled": True,
         "created_at": "1737098461100", "multiplier": "1", "start_timestamp": 0, "end_timestamp": 0,
         "settlement_type": 0, "settlement_price": 0, "settlement_cap": 0, "outcome": 0, "default_price": 0,
         "operator_account_index": 0, "is_frozen": False, "open_interest": "0"},
    ],
}

ORDER_BOOK_ORDERS = {
    "code": 200,
    "total_asks": 3,
    "asks": [
        {"order_index": 281476929689581, "order_id": "281476929689581", "owner_account_index": 281474976641952,
         "initial_base_amount": "0.0317", "remaining_base_amount": "0.0317", "price": "2361.32",
         "order_expiry": 1780364303894, "transaction_time": 0},
        {"order_index": 281476929689582, "order_id": "281476929689582", "owner_account_index": 7,
         "initial_base_amount": "1.0000", "remaining_base_amount": "0.5000", "price": "2361.32",
         "order_expiry": 1780364303894, "transaction_time": 0},
        {"order_index": 281476929689583, "order_id": "281476929689583", "owner_account_index": 7,
         "initial_base_amount": "2.0000", "remaining_base_amount": "2.0000", "price": "2362.00",
         "order_expiry": 1780364303894, "transaction_time": 0},
    ],
    "total_bids": 2,
    "bids": [
        {"order_index": 562947905454787, "order_id": "562947905454787", "owner_account_index": 281474976618239,
         "initial_base_amount": "3.4125", "remaining_base_amount": "3.4125", "price": "2361.17",
         "order_expiry": 1780537103955, "transaction_time": 0},
        {"order_index": 562947905454788, "order_id": "562947905454788", "owner_account_index": 9,
         "initial_base_amount": "0.1000", "remaining_base_amount": "0.1000", "price": "2360.00",
         "order_expiry": 1780537103955, "transaction_time": 0},
    ],
}

TRADE = {
    "trade_id": 26412422124, "trade_id_str": "26412422124",
    "tx_hash": "00000019c75017e30000019fafade0cc000000000000000000000000000000000000000000000000",
    "type": "trade", "market_id": 36, "size": "0.7", "price": "0.20382", "usd_amount": "0.142674",
    "ask_id": 10414574259102759, "ask_id_str": "10414574259102759", "bid_id": 10696048997502383,
    "bid_id_str": "10696048997502383", "ask_client_id": 69016212847, "ask_client_id_str": "69016212847",
    "bid_client_id": 0, "bid_client_id_str": "0", "ask_account_id": 314233, "bid_account_id": 382258,
    "is_maker_ask": True, "block_height": 303153774, "timestamp": 1785358835916,
    "taker_position_size_before": "619.5", "taker_entry_quote_before": "129.621128",
    "taker_initial_margin_fraction_before": 1000, "maker_fee": 28, "taker_fee": 196,
    "maker_position_size_before": "47295.0", "maker_entry_quote_before": "9694.464700",
    "maker_initial_margin_fraction_before": 1000, "transaction_time": 1785358835917189,
    "ask_account_pnl": "0.010000", "bid_account_pnl": "0.000000",
}

ORDER = {
    "order_index": 844424912956320, "client_order_index": 178554256601, "order_id": "844424912956320",
    "client_order_id": "178554256601", "market_index": 1, "owner_account_index": 516,
    "initial_base_amount": "0.00100", "price": "56608.2", "nonce": 281474959535008,
    "remaining_base_amount": "0.00100", "is_ask": False, "base_size": 100, "base_price": 566082,
    "filled_base_amount": "0.00000", "filled_quote_amount": "0.000000", "side": "", "type": "limit",
    "time_in_force": "post-only", "reduce_only": False, "trigger_price": "0.0", "order_expiry": 1787961767927,
    "status": "open", "trigger_status": "na", "trigger_time": 0, "parent_order_index": 0, "parent_order_id": "0",
    "to_trigger_order_id_0": "0", "to_trigger_order_id_1": "0", "to_cancel_order_id_0": "0",
    "integrator_fee_collector_index": "", "integrator_taker_fee": "", "integrator_maker_fee": "", "order_flags": 0,
    "block_height": 543323, "timestamp": 1785542568, "created_at": 1785542568, "updated_at": 1785542568,
    "transaction_time": 1785542568396486,
}

POSITION_LONG = {
    "market_id": 0, "symbol": "ETH", "initial_margin_fraction": "5.00", "open_order_count": 0,
    "pending_order_count": 0, "position_tied_order_count": 0, "sign": 1, "position": "18.0193",
    "avg_entry_price": "2669.84", "position_value": "54306.566340", "unrealized_pnl": "6197.829558",
    "realized_pnl": "0.000000", "liquidation_price": "2191.1107231380406", "margin_mode": 0,
    "allocated_margin": "0.000000", "total_discount": "0", "margin_set_flag": 0,
}
POSITION_SHORT = dict(POSITION_LONG, market_id=5, symbol="TON", sign=-1, position="120.5",
                      avg_entry_price="3.1234", initial_margin_fraction="10.00", margin_mode=1)
POSITION_FLAT = dict(POSITION_LONG, market_id=1, symbol="BTC", sign=1, position="0.00000")

ACCOUNT = {
    "code": 200, "total": 1, "next_cursor": "",
    "accounts": [{
        "code": 0, "account_type": 0, "account_trading_mode": 0, "index": 12, "account_index": 12, "l1_address": L1,
        "cancel_all_time": 0, "total_order_count": 3, "total_isolated_order_count": 0, "pending_order_count": 0,
        "available_balance": "950.123456", "status": 1, "collateral": "1000.500000", "name": "", "description": "",
        "can_invite": True, "referral_points_percentage": "", "positions": [POSITION_LONG, POSITION_SHORT, POSITION_FLAT],
        "assets": [{"symbol": "USDC", "asset_id": 3, "balance": "1000.500000", "locked_balance": "0.000000",
                    "margin_balance": "1000.500000", "margin_mode": "enabled", "multiplier": "1"},
                   {"symbol": "ETH", "asset_id": 1, "balance": "7.10720000", "locked_balance": "0.50000000",
                    "margin_balance": "0", "margin_mode": "disabled", "multiplier": "1"}],
        "total_asset_value": "7197.329558", "cross_asset_value": "7197.329558", "pool_info": {}, "shares": [],
        "created_at": 1737098461, "transaction_time": 1785542568396486, "can_rfq": False,
        "cross_initial_margin_requirement": "0", "cross_maintenance_margin_requirement": "0",
        "can_rfq_market_ids": None, "metadata": {"color": ""}, "agent_enabled": False, "bo_positions": [],
    }],
}

ACCOUNTS_BY_L1 = {
    "code": 200, "l1_address": L1,
    "sub_accounts": [
        {"code": 0, "account_type": 0, "account_trading_mode": 0, "index": 12, "l1_address": L1, "cancel_all_time": 0,
         "total_order_count": 0, "total_isolated_order_count": 0, "pending_order_count": 0,
         "available_balance": "10.0", "status": 1, "collateral": "10.0", "transaction_time": 0},
        {"code": 0, "account_type": 1, "account_trading_mode": 0, "index": 281474976710600, "l1_address": L1,
         "cancel_all_time": 0, "total_order_count": 0, "total_isolated_order_count": 0, "pending_order_count": 0,
         "available_balance": "0.0", "status": 1, "collateral": "0.0", "transaction_time": 0},
    ],
}

CANDLE = {"t": 1700000000000, "o": 2361.11, "h": 2362.22, "l": 2360.0, "c": 2361.31, "v": 1.2345,
          "V": 2914.872195, "i": 19211490282}

FUNDINGS = {"code": 200, "resolution": "1h",
            "fundings": [{"timestamp": 1778702400, "value": "0.02707872", "rate": "0.0012", "direction": "long"}]}

FUNDING_RATES = {"code": 200, "funding_rates": [
    {"market_id": 0, "exchange": "lighter", "symbol": "ETH", "rate": 0.000096},
    {"market_id": 0, "exchange": "binance", "symbol": "ETH", "rate": 0.0001},
    {"market_id": 5, "exchange": "lighter", "symbol": "TON", "rate": -0.00002},
]}

EXCHANGE_STATS = {"code": 200, "total": 2, "daily_usd_volume": 123456789.25, "daily_trades_count": 4567,
                  "order_book_stats": [
                      {"symbol": "ETH", "last_trade_price": 2361.31, "daily_trades_count": 100,
                       "daily_base_token_volume": 12.5, "daily_quote_token_volume": 29516.375,
                       "daily_price_change": -1.25},
                      {"symbol": "TON", "last_trade_price": 3.1234, "daily_trades_count": 7,
                       "daily_base_token_volume": 100, "daily_quote_token_volume": 312.34,
                       "daily_price_change": 0.5}]}

ACCOUNT_LIMITS = {"code": 200, "max_llp_percentage": 100, "max_llp_amount": "0.000000", "user_tier": "standard",
                  "can_create_public_pool": False, "user_tier_name": "standard", "current_maker_fee_tick": 0,
                  "current_taker_fee_tick": 0, "leased_lit": "0.00000000", "effective_lit_stakes": "0.00000000",
                  "user_tier_last_update": 0}

API_KEYS = {"code": 200, "api_keys": [
    {"account_index": 12, "api_key_index": 4, "nonce": 42, "public_key": "71" * 40, "transaction_time": 0},
    {"account_index": 12, "api_key_index": 5, "nonce": 1, "public_key": "72" * 40, "transaction_time": 0},
]}

PNL = {"code": 200, "resolution": "1h", "pnl": [
    {"timestamp": 1785542400, "trade_pnl": 12.5, "inflow": 0, "outflow": 0, "pool_pnl": 0, "pool_inflow": 0,
     "pool_outflow": 0, "pool_total_shares": 0, "spot_inflow": 0, "spot_outflow": 0, "staked_lit": 0,
     "staking_inflow": 0, "staking_outflow": 0, "staking_pnl": 0, "trade_spot_pnl": 0, "volume": 1500.75},
]}

TX_REJECTED = {
    "code": 200, "hash": "ab" * 40, "type": 14,
    "info": '{"AccountIndex":12,"ApiKeyIndex":4,"MarketIndex":0,"ClientOrderIndex":123,"BaseAmount":1000}',
    "event_info": '{"ae":"{\\"code\\":21728,\\"message\\":\\"client order index already exists\\"}"}',
    "status": 2, "transaction_index": 3, "l1_address": L1, "account_index": 12, "nonce": 7,
    "expire_at": 1795940671462, "block_height": 100, "queued_at": 1795940071000, "executed_at": 1795940071200,
    "sequence_index": 555, "parent_hash": "", "api_key_index": 4, "transaction_time": 1795940071200123,
    "committed_at": 0, "verified_at": 0,
}


def fresh(payload):
    """A deep copy, so a test can mutate it."""
    return copy.deepcopy(payload)
