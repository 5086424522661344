"""The two roots every tagged struct in :mod:`letta_async.types` grows from.

Letta tells its objects apart by one field: ``message_type`` for whatever can arrive as a stream
frame, ``type`` for content parts, tool returns and request items. msgspec reads that field to
pick the class in a single pass, but it does not keep the value as an attribute. Each class
therefore also carries its tag as a class variable, so code can branch on
``event.message_type`` or ``part.type`` just as it would on the parsed JSON.

Leaf classes whose fields can only hold strings, numbers, datetimes, lists of those and other
such structs are declared ``gc=False``: the garbage collector then does not track the many
short-lived frames a stream produces, which makes decoding measurably faster and each object
smaller. Such a struct can only join a reference cycle if a field is given a value its type
does not allow. Classes with a free-form ``dict[str, Any]`` field keep the default tracking.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from .._models import BaseModel

__all__ = ["Envelope", "MessageTagged", "TypeTagged"]


class MessageTagged(BaseModel, kw_only=True, tag_field="message_type"):
    """Root of the stream-frame structs, keyed on ``message_type``.

    At run time the tag is a class attribute (msgspec allows no field named like the tag
    field). Type checkers are shown an attribute instead, which each leaf class narrows to its
    own ``Literal``: that is what lets ``if event.message_type == "assistant_message":``
    narrow a union of frames to :class:`AssistantMessage`.
    """

    if TYPE_CHECKING:
        message_type: str | None
    else:
        message_type: ClassVar[str]


class TypeTagged(BaseModel, kw_only=True, tag_field="type", omit_defaults=True):
    """Root of the structs keyed on ``type``.

    These are shared by replies and request bodies, so unset optional fields are left out when
    encoding: the server then applies its own defaults instead of receiving explicit nulls.
    """

    if TYPE_CHECKING:
        type: str
    else:
        type: ClassVar[str]


class Envelope(MessageTagged, kw_only=True):
    """The fields the server puts on every message and on pings.

    ``seq_id`` is filled only in background streams (it is the resume cursor there); foreground
    streams send null. ``otid`` is shared by all the deltas of one message in a token stream,
    with only its last two hex digits varying between the sub-messages of one step.
    """

    id: str
    date: datetime
    name: str | None = None
    otid: str | None = None
    sender_id: str | None = None
    step_id: str | None = None
    is_err: bool | None = None
    seq_id: int | None = None
    run_id: str | None = None
