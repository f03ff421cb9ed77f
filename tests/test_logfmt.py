"""Structured log lines."""

from stream_pose_ml.logfmt import kv


def test_values_are_quoted_only_when_needed() -> None:
    line = kv(
        "upload",
        model_id="ab12",
        bytes=10,
        ok=True,
        none=None,
        ms=1.23456789,
        path="/tmp/a b",
        note='say "hi"\nbye',
    )
    assert line == (
        'event=upload model_id=ab12 bytes=10 ok=true none=null ms=1.23457 path="/tmp/a b" '
        'note="say \\"hi\\"\\nbye"'
    )
    assert kv("x", empty="") == 'event=x empty=""'
