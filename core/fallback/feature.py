"""Last in the order: whatever no feature took. Garbage gets a polite answer and the current
screen again (``core.kernel.refusals.not_understood``), so nothing a person did is lost and they
always see what they can do next."""

from core.kernel.refusals import not_understood
from core.kernel.registry import Feature
from core.kernel.routes import Always, Route

FEATURE = Feature(name="fallback",
                  routes={"last": [Route(Always(), not_understood, name="answer")]})
