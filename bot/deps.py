"""The dependencies object lives in the kernel (``core/kernel/deps.py``); wiring builds it."""

from core.kernel.deps import Deps

__all__ = ["Deps"]
