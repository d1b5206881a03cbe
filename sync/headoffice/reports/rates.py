"""A rate as an exact fraction: numerator, denominator and basis points rounded down, or no
basis points at all when the denominator is zero (never a division by zero shown as 0)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def basis_points(self) -> int | None:
        if self.denominator == 0:
            return None
        return self.numerator * 10_000 // self.denominator

    def as_dict(self) -> dict[str, Any]:
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "basis_points": self.basis_points,
        }


def per(total: int, count: int) -> int | None:
    """``total / count`` rounded down (minor units per purchase, say), or None for no count."""
    return None if count == 0 else total // count
