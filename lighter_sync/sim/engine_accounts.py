"""Accounts and money movements: creation, sub-accounts, deposits, API keys and nonces, transfers
and withdrawals.

Deposits and withdrawals are the only ways money enters or leaves the ledger; transfers move it
between accounts (their fee goes to the fee account), so ``sum(collateral + unrealized)`` always
equals deposits minus withdrawals. A sub-account is an ordinary account of the same L1 address with
its own API keys and nonces. Transfers between accounts of one L1 address are free; a transfer to
another owner costs ``TRANSFER_FEE`` (what ``transferFeeInfo`` answers) and must carry exactly it.
Every movement is kept per account (the last ``MOVEMENT_HISTORY``) for the history endpoints.
"""

from __future__ import annotations

from collections import deque

from lighter_sync.sim.engine_base import U48, EngineBase
from lighter_sync.sim.engine_types import (
    FEE_ACCOUNT_INDEX,
    INSURANCE_FUND_ACCOUNT_INDEX,
    Account,
    AccountTier,
    AccountType,
    ApiKey,
    ChangePubKey,
    CreateSubAccount,
    EngineError,
    Movement,
    Position,
    Transfer,
    TxMeta,
    TxResult,
    TxType,
    Withdraw,
)

#: The fee (micro-USDC) of a transfer to an account of another L1 address; the simulator's value
#: (Lighter's is what its transferFeeInfo answers). Transfers between one owner's accounts are free.
TRANSFER_FEE = 1_000_000
MOVEMENT_HISTORY = 1_000
_SKIP_NONCE_MAX = (1 << 47) - 1
_MAX_NONCE = (1 << 48) - 1


class EngineAccounts(EngineBase):
    """Accounts, keys, nonces and money movements (mixin)."""

    def create_account(
        self,
        l1_address: str,
        collateral: int = 0,
        *,
        tier: AccountTier = AccountTier.STANDARD,
        account_index: int | None = None,
        account_type: AccountType = AccountType.MASTER,
    ) -> Account:
        """Create an account (index auto-assigned from 1 up unless given) funded with ``collateral`` micro-USDC."""
        self._begin()
        try:
            if account_index is None:
                while self._next_account_index in self._accounts:
                    self._next_account_index += 1
                account_index = self._next_account_index
                self._next_account_index += 1
            elif account_index in self._accounts:
                raise EngineError(21501, f"account {account_index} already exists")
            if not 0 <= account_index <= U48:
                raise EngineError(21501, "invalid account index")
            acct = Account(account_index, l1_address, tier=AccountTier(tier), account_type=account_type,
                           created_at_ms=self._now)
            self._accounts[account_index] = acct
            if collateral:
                self._deposit(acct, int(collateral))
            return acct
        finally:
            self._end()

    def deposit(self, account_index: int, amount: int) -> None:
        """Add ``amount`` micro-USDC of collateral (L1 deposit; recorded as a tx of type 1)."""
        if amount <= 0:
            raise EngineError(21501, "deposit amount must be positive")
        acct = self.account(account_index)
        self._begin()
        try:
            self._deposit(acct, int(amount))
        finally:
            self._end()

    def _deposit(self, acct: Account, amount: int) -> None:
        tx = self._open_tx(TxType.DEPOSIT, acct, None)
        self._deposits += amount
        self._change_collateral(acct, amount, "deposit")
        self._record_movement("deposit", acct.account_index, 0, amount, 0, tx.tx_hash)
        self._close_tx(tx, {"a": acct.account_index, "amount": amount, "ae": ""})

    def _record_movement(self, kind: str, account: int, counterparty: int, amount: int, fee: int, tx_hash: str) -> None:
        self._movement_id += 1
        hist = self._movements.get(account)
        if hist is None:
            hist = self._movements[account] = deque(maxlen=MOVEMENT_HISTORY)
        hist.append(Movement(self._movement_id, kind, account, counterparty, amount, fee, self._now, tx_hash))

    def movements(self, account_index: int, kinds: tuple[str, ...] | None = None) -> list[Movement]:
        """The account's deposits, withdrawals and transfers (``kinds`` filters), newest first."""
        self.account(account_index)
        return [m for m in reversed(self._movements.get(account_index, ())) if kinds is None or m.kind in kinds]

    def transfer_fee(self, from_account: int, to_account: int) -> int:
        """micro-USDC a transfer must carry: 0 between accounts of one L1 address, else TRANSFER_FEE."""
        sender, receiver = self.account(from_account), self.account(to_account)
        return 0 if sender.l1_address.lower() == receiver.l1_address.lower() else TRANSFER_FEE

    def sub_accounts(self, account_index: int) -> list[Account]:
        """Sub-accounts of the account's L1 address, in index order."""
        key = self.account(account_index).l1_address.lower()
        return [a for a in self.accounts() if a.account_type == AccountType.SUB and a.l1_address.lower() == key]

    def set_tier(self, account_index: int, tier: AccountTier) -> None:
        self.account(account_index).tier = AccountTier(tier)

    def account(self, account_index: int) -> Account:
        """The live account object (read-only by convention); EngineError(21100) if unknown."""
        acct = self._accounts.get(account_index)
        if acct is None:
            raise EngineError(21100, "account not found")
        return acct

    def has_account(self, account_index: int) -> bool:
        return account_index in self._accounts

    def accounts(self) -> list[Account]:
        """Every account, in index order (system accounts included)."""
        return [self._accounts[i] for i in sorted(self._accounts)]

    def accounts_by_l1(self, l1_address: str) -> list[Account]:
        """Accounts of an L1 address (case-insensitive), master first."""
        key = l1_address.lower()
        found = [a for a in self.accounts() if a.l1_address.lower() == key and a.account_index not in
                 (FEE_ACCOUNT_INDEX, INSURANCE_FUND_ACCOUNT_INDEX)]
        return sorted(found, key=lambda a: (a.account_type != AccountType.MASTER, a.account_index))

    def positions(self, account_index: int) -> list[Position]:
        """Copies of the account's positions (one per market it ever touched), in market order."""
        return [p.snapshot() for p in self.account(account_index).positions.values()]

    def register_api_key(self, account_index: int, api_key_index: int, public_key: str) -> ApiKey:
        """Register (or replace) an API key; ``public_key`` 80 hex chars (a ``0x`` prefix is stripped).
        A new index starts at nonce 1; re-registering keeps the index's nonce stream."""
        acct = self.account(account_index)
        if not 0 <= api_key_index <= 254:
            raise EngineError(21109, "api key not found")
        key = public_key.lower().removeprefix("0x")
        if len(key) != 80 or any(c not in "0123456789abcdef" for c in key):
            raise EngineError(21108, "invalid PublicKey,please run changePubKey")
        api_key = ApiKey(api_key_index, key, self._nonces.get((account_index, api_key_index), 1), self._now * 1000)
        acct.api_keys[api_key_index] = api_key
        acct.api_keys = dict(sorted(acct.api_keys.items()))
        self._nonces.setdefault((account_index, api_key_index), 1)
        return api_key

    def api_key(self, account_index: int, api_key_index: int) -> ApiKey | None:
        acct = self._accounts.get(account_index)
        return acct.api_keys.get(api_key_index) if acct is not None else None

    def next_nonce(self, account_index: int, api_key_index: int) -> int:
        """The nonce ``nextNonce`` answers: 1 for a key index never used. EngineError(21100) if no account."""
        self.account(account_index)
        return self._nonces.get((account_index, api_key_index), 1)

    def consume_nonce(self, account_index: int, api_key_index: int, nonce: int, *, skip_nonce: bool = False) -> None:
        """Accept ``nonce`` for the key: it must equal ``next_nonce`` or, with ``skip_nonce``, be above the
        last one and below 2**47-1. Raises EngineError(21104, "invalid nonce") and changes nothing otherwise."""
        expected = self.next_nonce(account_index, api_key_index)
        if skip_nonce:
            ok = expected - 1 < nonce < _SKIP_NONCE_MAX
        else:
            ok = nonce == expected and nonce <= _MAX_NONCE
        if not ok:
            raise EngineError(21104, "invalid nonce")
        self._nonces[(account_index, api_key_index)] = nonce + 1
        key = self._accounts[account_index].api_keys.get(api_key_index)
        if key is not None:
            key.next_nonce = nonce + 1

    def _do_change_pub_key(self, req: ChangePubKey, meta: TxMeta | None) -> TxResult:
        acct = self._accounts[req.account_index]
        tx = self._open_tx(TxType.CHANGE_PUB_KEY, acct, meta)
        self.register_api_key(acct.account_index, req.api_key_index, req.public_key)
        self._close_tx(tx, {"a": acct.account_index, "k": req.api_key_index})
        return TxResult(tx)

    def _do_create_sub_account(self, req: CreateSubAccount, meta: TxMeta | None) -> TxResult:
        master = self._accounts[req.account_index]
        tx = self._open_tx(TxType.CREATE_SUB_ACCOUNT, master, meta)
        while self._next_sub_account_index in self._accounts:
            self._next_sub_account_index += 1
        index = self._next_sub_account_index
        self._next_sub_account_index += 1
        sub = Account(index, master.l1_address, tier=master.tier, account_type=AccountType.SUB, created_at_ms=self._now)
        self._accounts[index] = sub
        self._close_tx(tx, {"a": master.account_index, "s": index})
        return TxResult(tx)

    def _do_transfer(self, req: Transfer, meta: TxMeta | None) -> TxResult:
        acct = self._accounts[req.account_index]
        tx = self._open_tx(TxType.TRANSFER, acct, meta)
        info = {"a": acct.account_index, "to": req.to_account_index, "amount": req.usdc_amount, "fee": req.fee}
        if req.usdc_amount + req.fee > self.account_stats(acct.account_index).available_balance:
            self._close_tx(tx, info, 21508, "account is below initial margin, can't execute transaction")
            return TxResult(tx)
        self._change_collateral(acct, -(req.usdc_amount + req.fee), "transfer")
        self._change_collateral(self._accounts[req.to_account_index], req.usdc_amount, "transfer")
        if req.fee:
            self._change_collateral(self._accounts[FEE_ACCOUNT_INDEX], req.fee, "fee")
        self._record_movement("transfer_out", acct.account_index, req.to_account_index, req.usdc_amount, req.fee,
                              tx.tx_hash)
        self._record_movement("transfer_in", req.to_account_index, acct.account_index, req.usdc_amount, 0, tx.tx_hash)
        self._close_tx(tx, info)
        return TxResult(tx)

    def _do_withdraw(self, req: Withdraw, meta: TxMeta | None) -> TxResult:
        acct = self._accounts[req.account_index]
        tx = self._open_tx(TxType.WITHDRAW, acct, meta)
        info = {"a": acct.account_index, "amount": req.usdc_amount}
        if req.usdc_amount > self.account_stats(acct.account_index).available_balance:
            self._close_tx(tx, info, 21508, "account is below initial margin, can't execute transaction")
            return TxResult(tx)
        self._withdrawals += req.usdc_amount
        self._change_collateral(acct, -req.usdc_amount, "withdraw")
        self._record_movement("withdraw", acct.account_index, 0, req.usdc_amount, 0, tx.tx_hash)
        self._close_tx(tx, info)
        return TxResult(tx)
