"""Money and sub-accounts: ``transfer``, ``withdraw``, ``transfer_fee``, ``create_sub_account``, ``sub_accounts``.

USDC on the perp route, as Lighter's ``L2Transfer`` (12), ``L2Withdraw`` (13) and
``L2CreateSubAccount`` (9). Everything is validated before signing: amounts are positive USDC with
at most 6 decimals (never rounded), the recipient is another existing account index, a memo is at
most 32 bytes. A transfer between accounts of one L1 address (master and sub-accounts) is signed
with the API key alone; a transfer to another owner's account also needs our own L1 signature, so
pass ``l1_private_key`` (used for that one signature, never stored or logged). The fee is what the
venue's ``transferFeeInfo`` answers for that recipient, unless given.

As for orders, HTTP 200 means accepted: a transfer or withdrawal beyond the available balance is
refused after acceptance (look the tx up with ``client.tx(result.tx_hash)``); a lost answer raises
:class:`~lighter_sync.errors.OutcomeUnknownError` with the tx hash: look it up before sending again.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .config import MAX_ACCOUNT_INDEX, Secret
from .errors import ReadTimeoutError, ValidationError
from .markets import to_decimal
from .models import Account
from .orders import timeout_arg
from .results import TxResult
from .trading import TradingMixin

if TYPE_CHECKING:  # pragma: no cover
    from lighter.signer_client import SignerClient

__all__ = ["TransfersMixin", "USDC_ASSET_ID", "PERP_ROUTE"]

USDC_ASSET_ID = 3
PERP_ROUTE = 0
_MAX_MICRO = 2**60
_ZERO_MEMO = "0x" + "00" * 32


def usdc_micro(value: Any, name: str, *, allow_zero: bool = False) -> int:
    """A USDC amount as integer micro-USDC, exactly (more than 6 decimals is refused, never rounded)."""
    dec = to_decimal(value, name)
    micro = dec.scaleb(6)
    if micro != micro.to_integral_value():
        raise ValidationError(f"{name} {dec} has more than 6 decimals (USDC's precision)")
    micro_int = int(micro)
    if micro_int < 0 or (micro_int == 0 and not allow_zero) or micro_int > _MAX_MICRO:
        raise ValidationError(f"{name} must be {'0 or more' if allow_zero else 'positive'} and at most 2^60 "
                              f"micro-USDC, got {dec}")
    return micro_int


def memo_arg(memo: Any) -> str:
    """A transfer memo for the signer: ``0x`` + 32 bytes of hex (bytes or hex text, zero-padded)."""
    if memo is None:
        return _ZERO_MEMO
    if isinstance(memo, str):
        text = memo.removeprefix("0x")
        try:
            raw = bytes.fromhex(text)
        except ValueError as exc:
            raise ValidationError("memo must be bytes or hex text (up to 32 bytes)") from exc
    elif isinstance(memo, (bytes, bytearray)):
        raw = bytes(memo)
    else:
        raise ValidationError(f"memo must be bytes or hex text, got {type(memo).__name__}")
    if len(raw) > 32:
        raise ValidationError(f"memo is {len(raw)} bytes; at most 32")
    return "0x" + raw.ljust(32, b"\0").hex()


def _account_index_arg(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ACCOUNT_INDEX:
        raise ValidationError(f"{name} must be an account index 0..2^48-2, got {value!r}")
    return value


class TransfersMixin(TradingMixin):
    """Money movements and sub-accounts for LighterClient (uses its REST and signer helpers)."""

    def transfer_fee(self, to_account_index: int, *, timeout: float | None = None) -> Decimal:
        """The fee (USDC) Lighter charges for a transfer from our account to ``to_account_index``."""
        to = _account_index_arg(to_account_index, "to_account_index")
        body = self._private_get("/api/v1/transferFeeInfo", {"account_index": self.account_index,
                                                            "to_account_index": to}, timeout=timeout_arg(timeout))
        fee = body.get("transfer_fee_usdc")
        if isinstance(fee, bool) or not isinstance(fee, int) or fee < 0:
            raise ValidationError(f"transferFeeInfo answered an unusable fee {fee!r}")
        return Decimal(fee).scaleb(-6)

    def transfer(
        self,
        to_account_index: int,
        amount: Decimal | int | str,
        *,
        fee: Decimal | int | str | None = None,
        memo: bytes | str | None = None,
        l1_private_key: str | Secret | None = None,
        timeout: float | None = None,
    ) -> TxResult:
        """Send ``amount`` USDC to another account (perp route to perp route).

        Between our own accounts (same L1 address: master and sub-accounts) the API key signs alone.
        To another owner's account the transfer also needs our L1 signature: pass
        ``l1_private_key`` (refused before signing otherwise). ``fee`` defaults to the venue's
        ``transferFeeInfo`` for that recipient.
        """
        to = _account_index_arg(to_account_index, "to_account_index")
        micro = usdc_micro(amount, "amount")
        memo_hex = memo_arg(memo)
        t = timeout_arg(timeout)
        ours = self.account_index
        if to == ours:
            raise ValidationError("a transfer needs another account than our own")
        fee_micro = usdc_micro(self.transfer_fee(to, timeout=t) if fee is None else fee, "fee", allow_zero=True)
        same_owner = self.account(to).l1_address.lower() == self.account(ours).l1_address.lower()
        key = None
        if not same_owner:
            if l1_private_key is None:
                raise ValidationError(f"account {to} belongs to another L1 address: a transfer to it needs our "
                                      "L1 signature (pass l1_private_key)")
            key = Secret(l1_private_key) if isinstance(l1_private_key, (str, Secret)) else None
            raw = key.reveal().removeprefix("0x").removeprefix("0X") if key is not None else ""
            if len(raw) != 64 or not all(c in "0123456789abcdefABCDEF" for c in raw):
                # checked here: the SDK's signer would raise an untyped error (and never name the key)
                raise ValidationError("l1_private_key must be 32 bytes of hex (64 characters, 0x optional)")

        def sign(client: SignerClient, nonce: int, api_key: int) -> tuple[Any, ...]:
            if key is None:
                return client.sign_transfer_same_master_account(to, USDC_ASSET_ID, PERP_ROUTE, PERP_ROUTE, micro,
                                                                fee_micro, memo_hex, nonce=nonce, api_key_index=api_key)
            return client.sign_transfer(key.reveal(), to, USDC_ASSET_ID, PERP_ROUTE, PERP_ROUTE, micro, fee_micro,
                                        memo_hex, nonce=nonce, api_key_index=api_key)

        return self._result(self._send(sign, timeout=t), None, None)

    def withdraw(self, amount: Decimal | int | str, *, timeout: float | None = None) -> TxResult:
        """Withdraw ``amount`` USDC to our L1 address (a secure withdrawal: no fee; claimable on L1
        once Lighter releases it)."""
        micro = usdc_micro(amount, "amount")

        def sign(client: SignerClient, nonce: int, api_key: int) -> tuple[Any, ...]:
            return client.sign_withdraw(USDC_ASSET_ID, PERP_ROUTE, micro, nonce=nonce, api_key_index=api_key)

        return self._result(self._send(sign, timeout=timeout_arg(timeout)), None, None)

    def sub_accounts(self) -> list[Account]:
        """Our sub-accounts (accounts of our L1 address with account type 1), in index order."""
        address = self.account().l1_address
        return sorted((a for a in self.accounts_by_l1_address(address) if a.account_type == 1),
                      key=lambda a: a.account_index)

    def create_sub_account(self, *, timeout: float | None = None, wait_timeout: float = 10.0) -> Account:
        """Open a sub-account of our (master) account and return it once the venue lists it.

        The new account has no collateral and no API key: fund it with :meth:`transfer` and register
        a key on it with ``python -m lighter_sync keys`` (signed by our L1 key). Raises
        ReadTimeoutError if it does not show within ``wait_timeout`` (it may still appear:
        check :meth:`sub_accounts` before asking again)."""
        before = {a.account_index for a in self.sub_accounts()}
        budget = timeout_arg(wait_timeout) or 10.0

        def sign(client: SignerClient, nonce: int, api_key: int) -> tuple[Any, ...]:
            return client.sign_create_sub_account(nonce=nonce, api_key_index=api_key)

        self._send(sign, timeout=timeout_arg(timeout))
        deadline = time.monotonic() + budget
        delay = 0.05
        while True:
            new = [a for a in self.sub_accounts() if a.account_index not in before]
            if new:
                return new[0]
            if time.monotonic() >= deadline:
                raise ReadTimeoutError(f"the new sub-account did not show within {budget} s; check sub_accounts()")
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)
