"""API-level validation of transaction requests: what Lighter refuses with HTTP 400.

``check`` raises :class:`EngineError` with Lighter's code and mutates nothing; ``execute`` re-runs the
static part (``now=None``) before applying a tx, so a request that became invalid between acceptance
and execution fails cleanly.
"""

from __future__ import annotations

from lighter_sync.sim.engine_base import MARKET_LIKE, U32, U48, EngineBase
from lighter_sync.sim.engine_types import (
    FEE_ACCOUNT_INDEX,
    FEE_TICK_SCALE,
    INSURANCE_FUND_ACCOUNT_INDEX,
    MARGIN_FRACTION_SCALE,
    MAX_CLIENT_ORDER_INDEX,
    MAX_ORDER_EXPIRY_MS,
    MIN_ORDER_EXPIRY_MS,
    NIL_MARKET_INDEX,
    AccountType,
    CancelAllMode,
    CancelAllOrders,
    CancelOrder,
    ChangePubKey,
    CreateGroupedOrders,
    CreateOrder,
    CreateSubAccount,
    EngineError,
    MarginMode,
    ModifyOrder,
    OrderType,
    SelfTradeMode,
    TimeInForce,
    Transfer,
    TxRequest,
    UpdateLeverage,
    UpdateMargin,
    Withdraw,
)

_MAX_CANCEL_ALL_MS = 15 * 24 * 3600 * 1000
_CANCEL_ALL_MODES = frozenset(int(m) for m in CancelAllMode)
_MARGIN_MODES = frozenset(int(m) for m in MarginMode)
_SELF_TRADE_MODES = frozenset(int(m) for m in SelfTradeMode)


class EngineChecks(EngineBase):
    """Request validation (mixin)."""

    def check(self, req: TxRequest) -> None:
        """Validate ``req`` as Lighter's API does before accepting it (account exists, market exists,
        ranges, minimums, order expiry window against the clock). Raises EngineError; mutates nothing."""
        now = max(self._now, int(self._clock()))
        self._check(req, now)

    def _check(self, req: TxRequest, now: int | None) -> None:
        """Static checks; time-window checks only when ``now`` is given (API acceptance)."""
        self.account(req.account_index)
        if isinstance(req, CreateOrder):
            self._check_create(req, now)
        elif isinstance(req, CreateGroupedOrders):
            self._check_group(req, now)
        elif isinstance(req, (CancelOrder, ModifyOrder)):
            self.market(req.market_id)
            if not 1 <= req.index <= (1 << 60) - 1:
                raise EngineError(21700, "invalid order index")
            if isinstance(req, ModifyOrder):
                if not 0 <= req.order_version <= U48:
                    raise EngineError(21501, "invalid tx info: order version")
                if not 1 <= req.base_amount <= U48:
                    raise EngineError(21701, "invalid base amount")
                if not 1 <= req.price <= U32:
                    raise EngineError(21702, "invalid price")
                if not 0 <= req.trigger_price <= U32:
                    raise EngineError(21729, "invalid order trigger price")
        elif isinstance(req, CancelAllOrders):
            if req.mode not in _CANCEL_ALL_MODES:
                raise EngineError(21713, "invalid cancel all time in force")
            if req.market_id != NIL_MARKET_INDEX:
                self.market(req.market_id)
                if req.mode != CancelAllMode.IMMEDIATE:
                    raise EngineError(21713, "invalid cancel all time in force")
            if req.mode == CancelAllMode.SCHEDULED and now is not None:
                if not now + MIN_ORDER_EXPIRY_MS <= req.time_ms <= now + _MAX_CANCEL_ALL_MS:
                    raise EngineError(21714, "invalid cancel all time")
        elif isinstance(req, UpdateLeverage):
            spec = self.market(req.market_id)
            if not spec.min_initial_margin_fraction <= req.initial_margin_fraction <= MARGIN_FRACTION_SCALE:
                raise EngineError(21501, "invalid tx info: initial margin fraction out of range")
            if req.margin_mode not in _MARGIN_MODES:
                raise EngineError(21501, "invalid tx info: margin mode")
        elif isinstance(req, UpdateMargin):
            self.market(req.market_id)
            if req.usdc_amount <= 0:
                raise EngineError(21501, "invalid tx info: usdc amount must be positive")
        elif isinstance(req, ChangePubKey):
            if not 0 <= req.api_key_index <= 254:
                raise EngineError(21109, "api key not found")
            key = req.public_key.lower().removeprefix("0x")
            if len(key) != 80:
                raise EngineError(21108, "invalid PublicKey,please run changePubKey")
        elif isinstance(req, Transfer):
            self.account(req.to_account_index)
            if req.usdc_amount <= 0 or req.fee < 0:
                raise EngineError(21501, "invalid tx info: transfer amount")
            if req.to_account_index == req.account_index or req.to_account_index in (FEE_ACCOUNT_INDEX,
                                                                                     INSURANCE_FUND_ACCOUNT_INDEX):
                raise EngineError(21501, "invalid tx info: transfer to this account is not allowed")
            fee = self.transfer_fee(req.account_index, req.to_account_index)
            if req.fee != fee:
                raise EngineError(21501, f"invalid tx info: transfer fee must be {fee} (transferFeeInfo)")
        elif isinstance(req, CreateSubAccount):
            if self._accounts[req.account_index].account_type != AccountType.MASTER:
                raise EngineError(21511, "invalid tx type for account: only a master account creates sub-accounts")
        elif isinstance(req, Withdraw):
            if req.usdc_amount <= 0:
                raise EngineError(21501, "invalid tx info: withdraw amount")
        else:
            raise EngineError(21505, "unsupported tx type")

    def _check_create(self, req: CreateOrder, now: int | None, *, nil_base: bool = False) -> None:
        """One order's checks; ``nil_base`` lets a reduce-only order of a group carry size 0 (it takes
        its entry's filled size or the position's)."""
        spec = self.market(req.market_id)
        otype, tif = req.type, req.time_in_force
        if otype.__class__ is not OrderType:
            try:
                otype = OrderType(otype)
            except ValueError:
                raise EngineError(21704, "invalid OrderType") from None
        if tif.__class__ is not TimeInForce:
            try:
                tif = TimeInForce(tif)
            except ValueError:
                raise EngineError(21705, "invalid OrderTimeInForce") from None
        if otype in (OrderType.TWAP_SUB, OrderType.LIQUIDATION):
            raise EngineError(21704, "invalid OrderType")
        if otype == OrderType.TWAP:
            self._check_twap(req, now)
        if otype in MARKET_LIKE and tif != TimeInForce.IMMEDIATE_OR_CANCEL:
            raise EngineError(21705, "invalid OrderTimeInForce")
        if req.self_trade_mode not in _SELF_TRADE_MODES:
            raise EngineError(21501, "invalid tx info: self trade behavior")
        if req.integrator_account_index and not (0 <= req.integrator_taker_fee <= FEE_TICK_SCALE
                                                 and 0 <= req.integrator_maker_fee <= FEE_TICK_SCALE):
            raise EngineError(21501, "invalid tx info: integrator fee")
        if not 0 <= req.client_order_index <= MAX_CLIENT_ORDER_INDEX:
            raise EngineError(21727, "invalid client order index")
        if not (nil_base and req.base_amount == 0) and not 1 <= req.base_amount <= U48:
            raise EngineError(21701, "invalid base amount")
        if not 1 <= req.price <= U32:
            raise EngineError(21702, "invalid price")
        if otype.is_trigger:
            if not 1 <= req.trigger_price <= U32:
                raise EngineError(21729, "invalid order trigger price")
        elif req.trigger_price != 0:
            raise EngineError(21729, "invalid order trigger price")
        notional = spec.notional(req.price, req.base_amount)
        if not req.reduce_only and (req.base_amount < spec.min_base_amount or notional < spec.min_quote_amount):
            raise EngineError(21706, "invalid order base or quote amount")
        if notional > spec.order_quote_limit:
            raise EngineError(21706, "invalid order base or quote amount")
        if req.order_expiry_ms < 0:
            raise EngineError(21711, "invalid expiry")
        resting = tif != TimeInForce.IMMEDIATE_OR_CANCEL or otype.is_trigger
        if now is not None and resting and req.order_expiry_ms != 0:
            if not now + MIN_ORDER_EXPIRY_MS <= req.order_expiry_ms <= now + MAX_ORDER_EXPIRY_MS:
                raise EngineError(21711, "invalid expiry")
