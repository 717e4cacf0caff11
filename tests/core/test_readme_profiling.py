"""The profiling example of raven-core's README runs as written and sends what it says."""

from __future__ import annotations

from pathlib import Path

from tests.core.test_profiling import check_shape, functions_of, profiles
from tests.readme_example import run_example
from tests.receiver import Receiver
from tests.relay import validate_event

README = Path(__file__).resolve().parents[2] / "packages" / "core" / "README.md"


def test_the_profiling_example_sends_a_profile_of_checksum(
    receiver: Receiver, tmp_path: Path
) -> None:
    """The example's transaction arrives with a profile whose samples of its thread are mostly
    in checksum()."""
    run_example(README, tmp_path, {"SENTRY_DSN": receiver.dsn}, "## Profiling")
    (transaction,) = receiver.wait_for_transactions(1)
    validate_event(transaction)
    assert transaction["transaction"] == "nightly-checksum"
    (profile,) = profiles(receiver)
    check_shape(profile)
    assert transaction["contexts"]["profile"]["profile_id"] == profile["event_id"]
    active = profile["transaction"]["active_thread_id"]
    mine = [s for s in profile["profile"]["samples"] if s["thread_id"] == active]
    in_checksum = [s for s in mine if "checksum" in functions_of(profile, s)]
    assert len(in_checksum) > len(mine) / 2
