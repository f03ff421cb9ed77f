"""orjson with the standard library's ``dumps``/``loads`` signatures, for the Socket.IO server.

python-socketio encodes and decodes every packet with the ``json`` module it is given; orjson
decodes a 33-landmark ``keypoints`` message several times faster than the standard library.
What orjson refuses (the non-standard ``NaN`` and ``Infinity`` literals that Python clients
write, integers beyond 64 bits) is read by the standard library, as before, so the validation
answers such messages exactly as it always did (``non_finite`` ...). Results are written the
same (the API never sends NaN).
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(obj: Any, **_: Any) -> str:
    """``obj`` as compact JSON text (keyword options of ``json.dumps`` are ignored)."""
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def loads(text: str | bytes, **_: Any) -> Any:
    """The value of JSON ``text``; a ``ValueError`` if even the standard library cannot read it."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
