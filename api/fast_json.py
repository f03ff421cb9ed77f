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

from stream_pose_ml.serving.payload import MAX_JSON_DEPTH, json_too_deep


def dumps(obj: Any, **_: Any) -> str:
    """``obj`` as compact JSON text (keyword options of ``json.dumps`` are ignored); what orjson
    cannot write (an integer beyond 64 bits) the standard library writes. python-socketio keeps
    one ``json`` for every packet of the process, clients' included (``Packet.json``)."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    except TypeError:
        return json.dumps(obj, separators=(",", ":"))


def loads(text: str | bytes, **_: Any) -> Any:
    """The value of JSON ``text``; a ``ValueError`` if even the standard library cannot read it
    or it nests deeper than ``MAX_JSON_DEPTH`` (which the recursive standard library is not
    given: orjson refuses nesting beyond 1024 levels without recursing)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        if json_too_deep(text):
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
        return json.loads(text)
