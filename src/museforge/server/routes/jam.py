"""``/api/jam``: the jam mode's WebSocket. The band plays along: the page sends each bar the player played, the
server answers with the accompaniment of the next bar (the messages: :mod:`museforge.server.jam`).

The route keeps the connection: the session limit, the message size cap, the idle timeout, and the time each
answer took (``server_ms``, from receiving a message to sending its answer). The guard in front of every route
(:mod:`museforge.server.guard`) refuses handshakes from other sites' pages.
"""

from __future__ import annotations

import contextlib
import time

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.types import Message

from museforge.server.jam import JamConnection, JamRoom, Reply, error

router = APIRouter(tags=["jam"])
#: Close codes: a normal end, and a connection refused by the server's rules (RFC 6455).
NORMAL_CLOSURE, POLICY_VIOLATION = 1000, 1008


@router.websocket("/api/jam")
async def jam(websocket: WebSocket) -> None:
    """Jam with a composing model (the messages: :mod:`museforge.server.jam`)."""
    app = websocket.app
    room: JamRoom = app.state.jam_room
    await websocket.accept()
    if not room.enter():
        detail = f"the studio already has {room.limit} jam sessions, its limit: try again when one ends"
        await websocket.send_json(error(detail, "start"))
        await _close(websocket, POLICY_VIOLATION)
        return
    connection = JamConnection(app.state.store, app.state.settings, app.state.compose_slots, room.turn)
    try:
        await _converse(websocket, connection)
    except (WebSocketDisconnect, OSError, RuntimeError):
        pass  # the client went away mid-answer
    finally:
        connection.close()
        room.leave()


async def _converse(websocket: WebSocket, connection: JamConnection) -> None:
    """Answer messages in order until a stop, a disconnect or the idle timeout."""
    settings = connection.settings
    while True:
        message: Message | None = None
        with anyio.move_on_after(settings.jam_idle_seconds):
            message = await websocket.receive()
        if message is None:
            idle = f"no message for {settings.jam_idle_seconds} s: the jam session is closed"
            await websocket.send_json(error(idle))
            await _close(websocket, NORMAL_CLOSURE)
            return
        if message["type"] == "websocket.disconnect":
            return
        received = time.perf_counter()
        text = message.get("text")
        if text is None:
            reply = Reply([error("send JSON text messages, not binary ones")])
        elif len(text.encode()) > settings.jam_max_message_bytes:
            reply = Reply([error(f"a message is at most {settings.jam_max_message_bytes} bytes")])
        else:
            reply = await anyio.to_thread.run_sync(connection.handle, text)
        for answer in reply.messages:
            if answer["type"] == "accompaniment":
                answer["server_ms"] = round((time.perf_counter() - received) * 1000, 3)
            await websocket.send_json(answer)
        if reply.close:
            await _close(websocket, NORMAL_CLOSURE)
            return


async def _close(websocket: WebSocket, code: int) -> None:
    with contextlib.suppress(RuntimeError, OSError):  # the client may have closed it already
        await websocket.close(code=code)
