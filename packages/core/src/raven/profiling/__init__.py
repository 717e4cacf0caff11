"""Profiling: a sampling profiler for profiled transactions (``profiles_sample_rate`` or
``profiles_sampler``, relative to sampled transactions).

Imported only when profiling is on (when the client's tracer is made). The tracer starts a
profile when a sampled transaction starts and the profile sampling says yes, and stops it when
the transaction finishes; the transport encodes it (on its encoder thread) into a ``profile``
item in the transaction's envelope. See :mod:`raven.profiling.sampler`.
"""

from __future__ import annotations

from .payload import profile_payload
from .sampler import Profile, Sampler, process_sampler

__all__ = ["Profile", "Sampler", "process_sampler", "profile_payload"]
