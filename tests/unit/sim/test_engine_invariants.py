"""Property tests: random order flow never breaks the engine's ledger or book invariants.

The flow mixes orders of every type (grouped OTO/OCO/OTOCO and TWAP included), cancels, modifies,
price moves, time, leverage changes and money movements (transfers between accounts and
sub-accounts, withdrawals, new sub-accounts).

After every operation: the book is not crossed; every market's positions (all accounts,
system accounts included) sum to zero; ``sum(collateral + unrealized PnL)`` equals deposits
minus withdrawals exactly (fees go to the fee account, funding residue and liquidation fees
to the insurance fund); the aggregated levels equal the resting orders; open interest is the
sum of longs.
"""

from __future__ import annotations

import random
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lighter_sync.sim.engine import (
    AccountTier,
    CancelAllOrders,
    CancelOrder,
    CreateGroupedOrders,
    CreateOrder,
    CreateSubAccount,
    Engine,
    EngineError,
    GroupingType,
    ManualClock,
    ModifyOrder,
    OrderType,
    SelfTradeMode,
    TimeInForce,
    Transfer,
    UpdateLeverage,
    Withdraw,
)
from tests.unit.sim.conftest import BTC, ETH, PX, USDC

BASE_PX = {0: PX, 1: 600_000}
UNIT = {0: 100, 1: 20}  # 0.01 ETH, 0.0002 BTC

order_op = st.tuples(
    st.just("order"),
    st.integers(0, 3),  # account slot
    st.integers(0, 1),  # market
    st.booleans(),  # is_ask
    st.integers(-20, 20),  # price offset in 0.1 % steps
    st.integers(1, 40),  # size in units
    st.sampled_from(["gtt", "ioc", "post", "market", "sl", "tp"]),
    st.sampled_from([False, False, False, True]),  # reduce only
    st.integers(0, 6),  # client order index (0 = none; small range makes duplicates likely)
    st.sampled_from(list(SelfTradeMode)),
)
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 3), st.integers(0, 1), st.integers(0, 6))
cancel_all_op = st.tuples(st.just("cancel_all"), st.integers(0, 3), st.sampled_from([0, 1, 255]))
modify_op = st.tuples(st.just("modify"), st.integers(0, 3), st.integers(0, 1), st.integers(1, 6),
                      st.integers(-20, 20), st.integers(1, 40))
price_op = st.tuples(st.just("price"), st.integers(0, 1), st.integers(-150, 150), st.integers(-20, 20))
time_op = st.tuples(st.just("time"), st.sampled_from([1_000, 60_000, 600_000, 3_600_000]))
leverage_op = st.tuples(st.just("leverage"), st.integers(0, 3), st.integers(0, 1), st.sampled_from([500, 1000, 2000]))
group_op = st.tuples(
    st.just("group"),
    st.integers(0, 3),  # account slot
    st.integers(0, 1),  # market
    st.sampled_from(["oto", "oco", "otoco", "oco-sized"]),
    st.booleans(),  # entry is_ask (exits on the other side)
    st.integers(-20, 20),  # entry price offset
    st.integers(1, 40),  # entry size in units
    st.booleans(),  # IOC entry (else resting)
    st.integers(1, 60),  # stop distance in 0.1 % steps
    st.integers(1, 60),  # profit distance in 0.1 % steps
    st.integers(0, 6),  # first client order index (0 = none)
)
# money movements: a transfer between two slots (a slot >= 4 is a sub-account of slot - 4), a withdrawal,
# a new sub-account of a master slot
money_op = st.tuples(st.just("money"), st.sampled_from(["transfer", "withdraw", "sub"]), st.integers(0, 7),
                     st.integers(0, 7), st.integers(1, 5_000))
twap_op = st.tuples(st.just("twap"), st.integers(0, 3), st.integers(0, 1), st.booleans(), st.integers(-20, 20),
                   st.integers(20, 200), st.sampled_from([6, 10, 30]), st.booleans())
_STRATEGIES = {"order": order_op, "twap": twap_op, "money": money_op, "cancel": cancel_op, "cancel_all": cancel_all_op, "modify": modify_op,
               "price": price_op, "time": time_op, "leverage": leverage_op, "group": group_op}
# Orders dominate, as in a real flow; the rest perturb the book, prices and clock.
_KINDS = ["order"] * 12 + ["cancel", "cancel", "modify", "modify", "price", "price", "price", "time", "cancel_all",
                           "leverage", "group", "group", "twap", "money", "money"]
ops = st.lists(st.sampled_from(_KINDS).flatmap(_STRATEGIES.__getitem__), min_size=20, max_size=80)


def _setup() -> tuple[Engine, ManualClock, list[int]]:
    clock = ManualClock()
    eng = Engine([ETH, BTC], clock, seed=1)
    for m, px in BASE_PX.items():
        eng.set_prices(m, px)
    accts = [eng.create_account(f"0x{i}", collateral, tier=tier).account_index
             for i, (collateral, tier) in enumerate([(50_000 * USDC, AccountTier.PREMIUM), (20_000 * USDC, AccountTier.STANDARD),
                                                     (3_000 * USDC, AccountTier.PREMIUM), (500 * USDC, AccountTier.STANDARD)])]
    return eng, clock, accts


def _price(m: int, offset: int) -> int:
    return max(1, BASE_PX[m] + BASE_PX[m] * offset // 1000)


def _apply(eng: Engine, clock: ManualClock, accts: list[int], op: tuple) -> None:
    kind = op[0]
    try:
        if kind == "order":
            _, slot, m, is_ask, off, size, style, ro, coi, stm = op
            price = _price(m, off)
            kw: dict = {"client_order_index": coi, "reduce_only": ro, "self_trade_mode": stm}
            if style == "gtt":
                kw.update(order_expiry_ms=clock() + 3_600_000 if coi % 2 else 0)
            elif style == "ioc":
                kw.update(time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL)
            elif style == "post":
                kw.update(time_in_force=TimeInForce.POST_ONLY)
            elif style == "market":
                kw.update(type=OrderType.MARKET, time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL)
            else:
                kw.update(type=OrderType.STOP_LOSS if style == "sl" else OrderType.TAKE_PROFIT_LIMIT,
                          time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL if style == "sl" else TimeInForce.GOOD_TILL_TIME,
                          trigger_price=_price(m, off // 2))
            eng.create_order(CreateOrder(accts[slot], m, size * UNIT[m] + 10 * UNIT[m], price, is_ask, **kw))
        elif kind == "cancel":
            _, slot, m, coi = op
            if coi:
                eng.cancel_order(CancelOrder(accts[slot], m, coi))
        elif kind == "cancel_all":
            _, slot, m = op
            eng.cancel_all_orders(CancelAllOrders(accts[slot], market_id=m))
        elif kind == "modify":
            _, slot, m, coi, off, size = op
            eng.modify_order(ModifyOrder(accts[slot], m, coi, size * UNIT[m] + 10 * UNIT[m], _price(m, off),
                                         _price(m, off // 2)))
        elif kind == "price":
            _, m, index_off, premium = op
            index = _price(m, index_off)
            eng.set_prices(m, index, max(1, index + index * premium // 1000))
        elif kind == "time":
            clock.advance(op[1])
            eng.tick()
        elif kind == "leverage":
            _, slot, m, imf = op
            eng.update_leverage(UpdateLeverage(accts[slot], m, imf))
        elif kind == "group":
            eng.create_grouped_orders(_group_request(clock, accts, op))
        elif kind == "money":
            _money(eng, accts, op)
        elif kind == "twap":
            _, slot, m, is_ask, off, size, minutes, ro = op
            eng.create_order(CreateOrder(accts[slot], m, size * UNIT[m], _price(m, off), is_ask, type=OrderType.TWAP,
                                         time_in_force=TimeInForce.GOOD_TILL_TIME, reduce_only=ro,
                                         order_expiry_ms=clock() + minutes * 60_000))
    except EngineError:
        pass  # an API-level rejection must leave no trace; the invariants below check that too


def _money(eng: Engine, accts: list[int], op: tuple) -> None:
    _, what, a, b, usd = op
    masters = accts[:4]
    subs = {i: s for i, m in enumerate(masters) for s in [x.account_index for x in eng.sub_accounts(m)][:1]}

    def slot(i: int) -> int | None:
        return masters[i] if i < 4 else subs.get(i - 4)

    src, dst = slot(a), slot(b)
    if what == "sub":
        eng.create_sub_account(CreateSubAccount(masters[a % 4]))
    elif what == "withdraw" and src is not None:
        eng.withdraw(Withdraw(src, usd * USDC))
    elif what == "transfer" and src is not None and dst is not None:
        fee = eng.transfer_fee(src, dst) if src != dst else 0
        eng.transfer(Transfer(src, dst, usd * USDC, fee))


def _group_request(clock: ManualClock, accts: list[int], op: tuple) -> CreateGroupedOrders:
    _, slot, m, style, entry_ask, off, size, ioc, sl_off, tp_off, coi = op
    account = accts[slot]
    expiry = clock() + 28 * 86_400_000
    exit_ask = not entry_ask if style != "oco" and style != "oco-sized" else entry_ask
    ref = _price(m, off)
    # a stop loses (sell exit: below the price), a take-profit gains (sell exit: above it)
    sl_trigger = _price(m, off - sl_off) if exit_ask else _price(m, off + sl_off)
    tp_trigger = _price(m, off + tp_off) if exit_ask else _price(m, off - tp_off)
    exit_size = size * UNIT[m] + 10 * UNIT[m] if style == "oco-sized" else 0

    def exit_(otype: OrderType, trigger: int, index: int) -> CreateOrder:
        return CreateOrder(account, m, exit_size, trigger, exit_ask, type=otype, time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
                           reduce_only=True, trigger_price=trigger, order_expiry_ms=expiry,
                           client_order_index=coi + index if coi else 0)

    sl, tp = exit_(OrderType.STOP_LOSS, sl_trigger, 1), exit_(OrderType.TAKE_PROFIT, tp_trigger, 2)
    if style in ("oco", "oco-sized"):
        return CreateGroupedOrders(account, GroupingType.ONE_CANCELS_THE_OTHER, (sl, tp))
    entry = CreateOrder(account, m, size * UNIT[m] + 10 * UNIT[m], ref, entry_ask,
                        time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL if ioc else TimeInForce.GOOD_TILL_TIME,
                        order_expiry_ms=0 if ioc else expiry, client_order_index=coi)
    if style == "oto":
        return CreateGroupedOrders(account, GroupingType.ONE_TRIGGERS_THE_OTHER, (entry, sl if off % 2 else tp))
    return CreateGroupedOrders(account, GroupingType.ONE_TRIGGERS_A_ONE_CANCELS_THE_OTHER, (entry, sl, tp))


def _check_invariants(eng: Engine) -> None:
    ledger = eng.ledger()
    totals = ledger["totals"]
    assert totals["equity"] == totals["deposits"] - totals["withdrawals"], totals
    assert all(v == 0 for v in totals["net_positions"].values()), totals["net_positions"]
    for market in ledger["markets"]:
        m = market["market_id"]
        (bid, _), (ask, _) = [x if x is not None else (None, None) for x in eng.best_bid_ask(m)]
        if bid is not None and ask is not None:
            assert bid < ask, f"crossed book in market {m}: {bid} >= {ask}"
        levels: dict[tuple[bool, int], int] = defaultdict(int)
        for o in ledger["orders"]:
            if o["market_id"] == m and o["status"] == "open":
                levels[(o["is_ask"], o["price"])] += o["remaining_base"]
        assert dict(levels) == {**{(False, p): s for p, s in market["bids"]}, **{(True, p): s for p, s in market["asks"]}}
        longs = sum(p["size"] for a in ledger["accounts"] for p in a["positions"] if p["market_id"] == m and p["size"] > 0)
        assert market["open_interest"] == longs
    live_by_index = {o["order_index"]: o for o in ledger["orders"]}
    for o in ledger["orders"]:
        assert o["status"] in ("open", "pending")
        if o["trigger_status"] == "parent-order":
            # an exit still waiting for its entry: the entry is live and has not filled yet
            parent = live_by_index.get(o["parent_order_index"])
            assert o["remaining_base"] == 0 and parent is not None and parent["filled_base"] == 0, (o, parent)
        else:
            assert o["remaining_base"] > 0, o
    for a in ledger["accounts"]:
        for p in a["positions"]:
            live = [o for o in ledger["orders"] if o["account_index"] == a["account_index"] and o["market_id"] == p["market_id"]]
            assert p["open_order_count"] == sum(o["status"] == "open" for o in live)
            assert p["pending_order_count"] == sum(o["status"] == "pending" for o in live)
            assert p["position_tied_order_count"] == sum(o["position_tied"] for o in live)
            assert p["entry_quote"] >= 0 and (p["size"] != 0 or p["entry_quote"] == 0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_random_flow_keeps_ledger_and_book_invariants(flow):
    eng, clock, accts = _setup()
    for op in flow:
        _apply(eng, clock, accts, op)
        _check_invariants(eng)


@settings(max_examples=15, deadline=None)
@given(ops)
def test_random_flow_is_deterministic(flow):
    def run() -> list[str]:
        eng, clock, accts = _setup()
        for op in flow:
            _apply(eng, clock, accts, op)
        return [repr(e) for e in eng.drain_events()]

    assert run() == run()


def _random_op(rng: random.Random) -> tuple:
    kind = rng.choice(_KINDS)
    if kind == "order":
        return ("order", rng.randrange(4), rng.randrange(2), rng.random() < 0.5, rng.randint(-20, 20), rng.randint(1, 40),
                rng.choice(["gtt", "gtt", "gtt", "ioc", "post", "market", "sl", "tp"]), rng.random() < 0.2,
                rng.randint(0, 30), rng.choice(list(SelfTradeMode)))
    if kind == "cancel":
        return ("cancel", rng.randrange(4), rng.randrange(2), rng.randint(0, 30))
    if kind == "cancel_all":
        return ("cancel_all", rng.randrange(4), rng.choice([0, 1, 255]))
    if kind == "modify":
        return ("modify", rng.randrange(4), rng.randrange(2), rng.randint(1, 30), rng.randint(-20, 20), rng.randint(1, 40))
    if kind == "price":
        return ("price", rng.randrange(2), rng.randint(-150, 150), rng.randint(-20, 20))
    if kind == "time":
        return ("time", rng.choice([1_000, 60_000, 600_000, 3_600_000]))
    if kind == "money":
        return ("money", rng.choice(["transfer", "transfer", "withdraw", "sub"]), rng.randrange(8), rng.randrange(8),
                rng.randint(1, 5_000))
    if kind == "twap":
        return ("twap", rng.randrange(4), rng.randrange(2), rng.random() < 0.5, rng.randint(-20, 20),
                rng.randint(20, 200), rng.choice([6, 10, 30]), rng.random() < 0.2)
    if kind == "group":
        return ("group", rng.randrange(4), rng.randrange(2), rng.choice(["oto", "oco", "otoco", "oco-sized"]),
                rng.random() < 0.5, rng.randint(-20, 20), rng.randint(1, 40), rng.random() < 0.5, rng.randint(1, 60),
                rng.randint(1, 60), rng.randint(0, 30))
    return ("leverage", rng.randrange(4), rng.randrange(2), rng.choice([500, 1000, 2000]))


def test_long_seeded_flows_trade_liquidate_fund_and_keep_invariants():
    """Longer flows than hypothesis explores, so fills, liquidations and funding rounds really happen."""
    seen = defaultdict(int)
    for seed in range(3):
        rng = random.Random(seed)
        eng, clock, accts = _setup()
        for step in range(1200):
            _apply(eng, clock, accts, _random_op(rng))
            if step % 100 == 0:
                _check_invariants(eng)
        _check_invariants(eng)
        ledger = eng.ledger()
        seen["trades"] += len(ledger["trades"])
        seen["liquidations"] += sum(t["type"] == "liquidation" for t in ledger["trades"])
        seen["fundings"] += len(ledger["position_fundings"])
        finals = [o for o in ledger["final_orders"]]
        seen["oco_canceled"] += sum(o["status"] == "canceled-oco" for o in finals)
        seen["child_canceled"] += sum(o["status"] == "canceled-child" for o in finals)
        seen["exits_filled"] += sum(o["parent_order_index"] != 0 and o["filled_base"] > 0 for o in finals)
        seen["twap_slices_filled"] += sum(o["type"] == "twap-sub" and o["filled_base"] > 0 for o in finals)
        seen["withdrawals"] += ledger["totals"]["withdrawals"] > 0
        seen["sub_accounts"] += sum(a["account_type"] == 1 for a in ledger["accounts"])
    assert seen["trades"] > 100 and seen["liquidations"] > 0 and seen["fundings"] > 0, dict(seen)
    assert seen["oco_canceled"] > 0 and seen["child_canceled"] > 0 and seen["exits_filled"] > 0, dict(seen)
    assert seen["twap_slices_filled"] > 0 and seen["withdrawals"] > 0 and seen["sub_accounts"] > 0, dict(seen)


_DIGEST_SCRIPT = """
import hashlib, random, sys
sys.path.insert(0, sys.argv[1])
from tests.unit.sim import test_engine_invariants as T
rng = random.Random(5)
eng, clock, accts = T._setup()
h = hashlib.sha256()
for _ in range(400):
    T._apply(eng, clock, accts, T._random_op(rng))
    for e in eng.drain_events():
        h.update(repr(e).encode())
h.update(repr(sorted(eng.ledger().items())).encode())
print(h.hexdigest())
"""


def test_event_stream_is_identical_across_processes_with_different_hash_seeds():
    """No output may depend on set/dict hashing order: two interpreters with different
    PYTHONHASHSEED must produce the same event stream and ledger, byte for byte."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[3])
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", _DIGEST_SCRIPT, root], env=env, capture_output=True, text=True,
                             timeout=120, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1 and len(next(iter(digests))) == 64
