"""The error-mapping table: HTTP status plus Lighter code -> the class that says what to do next."""

import pytest

from lighter_sync import errors as E


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, 20001, E.AuthError),
        (401, 20013, E.AuthError),
        (400, 21100, E.AccountNotFoundError),
        (400, 21104, E.InvalidNonceError),
        (400, 21105, E.InvalidNonceError),
        (400, 21109, E.AuthError),
        (400, 21120, E.InvalidSignatureError),
        (400, 21600, E.InvalidOrderError),
        (400, 21711, E.InvalidOrderError),
        (400, 21728, E.DuplicateClientOrderIndexError),
        (400, 21739, E.InsufficientMarginError),
        (400, 21745, E.InvalidOrderError),
        (429, 23000, E.RateLimitError),
        (429, None, E.RateLimitError),
        (500, 29500, E.ServerError),
        (503, 29501, E.ServerError),
        (502, None, E.ServerError),
        (None, 30003, E.RequestError),
        (None, 30005, E.RequestError),
        (404, None, E.NotFoundError),
        (403, None, E.AuthError),
        (400, 22401, E.RequestError),
    ],
)
def test_mapping(status, code, cls):
    body = {"code": code, "message": "msg"} if code is not None else None
    err = E.error_from_response(status, body, {"X-Test": "1"})
    assert type(err) is cls
    assert err.code == code
    assert err.status == status
    assert err.headers == {"X-Test": "1"}
    expected = "msg" if code is not None else f"HTTP {status}"
    if code == 21120:
        expected = f"msg: {E.InvalidSignatureError.HINT}"
    assert err.message == expected


@pytest.mark.parametrize(
    ("cls", "retryable"),
    [
        (E.NetworkError, True),
        (E.RateLimitError, True),
        (E.ServerError, True),
        (E.InvalidNonceError, True),
        (E.InvalidOrderError, False),
        (E.AuthError, False),
        (E.ValidationError, False),
        (E.OutcomeUnknownError, False),
    ],
)
def test_retryable_flag(cls, retryable):
    assert cls("x").retryable is retryable


def test_branches_say_what_to_do_next():
    assert issubclass(E.InsufficientMarginError, E.RequestError)
    assert issubclass(E.InvalidNonceError, E.ResyncError)
    assert issubclass(E.AuthError, E.FatalError)
    assert not issubclass(E.OutcomeUnknownError, (E.RetryableError, E.RequestError))
    assert all(issubclass(getattr(E, n), E.LighterError) for n in E.__all__ if n[0].isupper())


def test_outcome_unknown_carries_client_order_index():
    err = E.OutcomeUnknownError("send timed out", client_order_index=42, tx_hash="ab" * 40)
    assert err.client_order_index == 42 and err.tx_hash == "ab" * 40
    assert "send timed out" in str(err)


def test_str_and_repr_name_status_and_code():
    err = E.error_from_response(400, {"code": 21104, "message": "invalid nonce"})
    assert str(err) == "[HTTP 400, code 21104] invalid nonce"
    assert "InvalidNonceError" in repr(err) and "21104" in repr(err)


def test_unknown_market_is_a_key_error_with_suggestions():
    err = E.UnknownMarketError("unknown market 'TOM'", suggestions=["TON"])
    assert isinstance(err, KeyError)
    assert str(err) == "unknown market 'TOM'"
    assert err.suggestions == ["TON"]
