from dataclasses import dataclass
from math import hypot


@dataclass(frozen=True)
class Point:
    x: float
    y: float

    def distance(self, other):
        return hypot(self.x - other.x, self.y - other.y)
