"""The loopback receiver the tests use is raven's own (``raven.receiver``)."""

from raven.receiver import Receiver, parse_envelope

__all__ = ["Receiver", "parse_envelope"]
