"""Scrubbing of transactions repeated many times: the scrubber remembers the texts it has seen
(SQL statements, URLs), and what arrives is masked exactly as the first time, per client."""

from __future__ import annotations

from raven import processors

from tests.core.conftest import Harness


def test_a_repeated_span_description_is_masked_every_time(sentry: Harness) -> None:
    """The same statement with a password in three transactions arrives masked in all three."""
    client = sentry.client(traces_sample_rate=1.0)
    for _ in range(3):
        with client.start_transaction(name="login", op="task"):
            with client.start_span(op="db", description="UPDATE users SET password=hunter22"):
                pass
    arrived = sentry.receiver.wait_for_transactions(3)
    assert [tx["spans"][0]["description"] for tx in arrived] == [
        f"UPDATE users SET password={processors.MASK}"
    ] * 3


def test_each_client_scrubs_by_its_own_keys(sentry: Harness) -> None:
    """A text one client masks (its ``sanitize_keys``) is sent as is by a client without them."""
    masking = sentry.client(traces_sample_rate=1.0, sanitize_keys=["voucher"])
    plain = sentry.client(traces_sample_rate=1.0)
    for client in (masking, plain, masking):
        with client.start_transaction(name="redeem", op="task"):
            with client.start_span(op="http.client", description="GET /redeem?voucher=AB12CD"):
                pass
    arrived = sentry.receiver.wait_for_transactions(3)
    assert [tx["spans"][0]["description"] for tx in arrived] == [
        f"GET /redeem?voucher={processors.MASK}",
        "GET /redeem?voucher=AB12CD",
        f"GET /redeem?voucher={processors.MASK}",
    ]


def test_many_distinct_texts_are_all_masked(sentry: Harness) -> None:
    """More distinct statements than the scrubber remembers are each masked (the memory is
    bounded and starts over)."""
    client = sentry.client(traces_sample_rate=1.0)
    per_transaction, transactions = 900, processors.TEXT_MEMO_SIZE // 900 + 1
    for t in range(transactions):
        with client.start_transaction(name="bulk", op="task"):
            for n in range(per_transaction):
                description = f"UPDATE t SET n={t}-{n}, token=s{n}x"
                client.start_span(op="db", description=description).finish()
    arrived = sentry.receiver.wait_for_transactions(transactions)
    descriptions = [span["description"] for tx in arrived for span in tx["spans"]]
    assert len(descriptions) == per_transaction * transactions > processors.TEXT_MEMO_SIZE
    assert all(d.endswith(f"token={processors.MASK}") for d in descriptions)
