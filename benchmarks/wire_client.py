"""A gRPC load client on raw HTTP/2 frames, for ``sidecar_load.py``.

grpcio's Python client spends 130 to 230 µs of CPU per call, as much as
the servers it measures; on two shared cores that CPU is taken from the
server under test and its scheduling delays show up as server latency.
This client writes pre-built frames and reads only frame headers, so a
call costs it a few µs and the figures are the servers'.

What it speaks: the connection preface and SETTINGS (with their ACKs),
PING ACKs, flow control in both directions, GOAWAY and RST_STREAM. Each
request is a HEADERS frame whose header block uses only HPACK's static
table and literals that are never indexed (so the same bytes are valid on
every stream) and one DATA frame with the length-prefixed message. The
responses' header blocks are not decoded: a call counts as answered when
its stream ends (trailers with END_STREAM) after a DATA frame carrying a
message. Both servers measured here answer an error "trailers-only", with
no message, so an error never counts as answered; ``sidecar_load.py``
checks the answers themselves with a real gRPC client before any timing.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections import Counter, deque

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8
END_STREAM, ACK, END_HEADERS, PADDED = 0x1, 0x1, 0x4, 0x8
SETTINGS_MAX_CONCURRENT_STREAMS, SETTINGS_INITIAL_WINDOW_SIZE = 3, 4
MAX_WINDOW = 2**31 - 1
DEFAULT_WINDOW = 65_535
MAX_FRAME = 16_384  # the default SETTINGS_MAX_FRAME_SIZE


class WireError(Exception):
    """The peer broke the protocol or closed the connection."""


def _hpack_int(value: int, prefix_bits: int, first: int) -> bytes:
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode()
    return _hpack_int(len(raw), 7, 0) + raw


def header_block(path: str, authority: str) -> bytes:
    """A request's headers: static-table entries and never-indexed literals."""
    return b"".join((
        b"\x83",  # :method POST (static 3)
        b"\x86",  # :scheme http (static 6)
        _hpack_int(4, 4, 0x10) + _string(path),  # :path, never indexed
        _hpack_int(1, 4, 0x10) + _string(authority),  # :authority
        _hpack_int(31, 4, 0x10) + _string("application/grpc"),  # content-type
        b"\x10" + _string("te") + _string("trailers"),
    ))


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


class Request:
    """One message's frames, all but the stream id (patched in per call)."""

    __slots__ = ("parts", "data_size")

    def __init__(self, block: bytes, message: bytes):
        body = b"\x00" + len(message).to_bytes(4, "big") + message
        self.data_size = len(body)
        chunks = [body[i:i + MAX_FRAME] for i in range(0, len(body), MAX_FRAME)]
        # (frame head up to the stream id, payload): HEADERS, then DATA frames
        # of at most the default SETTINGS_MAX_FRAME_SIZE, the last ending the stream
        self.parts = [(len(block).to_bytes(3, "big") + bytes([HEADERS, END_HEADERS]), block)]
        for n, chunk in enumerate(chunks):
            flags = END_STREAM if n == len(chunks) - 1 else 0
            self.parts.append((len(chunk).to_bytes(3, "big") + bytes([DATA, flags]), chunk))

    def frames(self, stream: int) -> bytes:
        sid = stream.to_bytes(4, "big")
        return b"".join(head + sid + payload for head, payload in self.parts)


def _outcome(call: list) -> str | None:
    """None for an answer (a message came before the stream ended), else why not."""
    return None if call[1] >= 5 else "no message (an error status)"


class Connection:
    """One HTTP/2 connection and its calls in flight."""

    def __init__(self, host: str, port: int):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.out = bytearray(
            PREFACE
            + frame(SETTINGS, 0, 0, (2).to_bytes(2, "big") + (0).to_bytes(4, "big")  # no push
                    + SETTINGS_INITIAL_WINDOW_SIZE.to_bytes(2, "big") + MAX_WINDOW.to_bytes(4, "big"))
            + frame(WINDOW_UPDATE, 0, 0, (MAX_WINDOW - DEFAULT_WINDOW).to_bytes(4, "big"))
        )
        self.inbuf = bytearray()
        self.next_stream = 1
        self.open: dict[int, list] = {}  # stream -> [start time, DATA bytes, tag]
        self.send_window = DEFAULT_WINDOW  # connection-level, for our DATA
        self.stream_window = DEFAULT_WINDOW  # the peer's initial window per stream
        self.max_streams = 1 << 30
        self.received = 0  # DATA bytes since our last WINDOW_UPDATE
        self.waiting: deque = deque()  # (request, start, tag) held back by flow control
        self.closed = False

    # ------------------------------------------------------------ sending

    def send(self, request: Request, start: float, tag: object = None) -> None:
        if request.data_size > self.stream_window:
            raise WireError(f"a {request.data_size}-byte message exceeds the peer's stream window")
        if (self.waiting or request.data_size > self.send_window
                or len(self.open) >= self.max_streams):
            self.waiting.append((request, start, tag))
            return
        self._start(request, start, tag)

    def _start(self, request: Request, start: float, tag: object) -> None:
        stream = self.next_stream
        self.next_stream += 2
        self.send_window -= request.data_size
        self.open[stream] = [start, 0, tag]  # start, message bytes, tag
        self.out += request.frames(stream)

    def _release(self) -> None:
        while self.waiting:
            request, start, tag = self.waiting[0]
            if request.data_size > self.send_window or len(self.open) >= self.max_streams:
                return
            self.waiting.popleft()
            self._start(request, start, tag)

    def flush(self) -> None:
        if self.out:
            try:
                sent = self.sock.send(self.out)
            except BlockingIOError:
                return
            except OSError as err:
                raise WireError(f"send: {err}") from None
            del self.out[:sent]

    # ------------------------------------------------------------ receiving

    def receive(self, done: list) -> None:
        """Read what arrived; append (tag, start, None or why it failed) for each
        finished call."""
        try:
            data = self.sock.recv(1 << 18)
        except BlockingIOError:
            return
        except OSError as err:
            raise WireError(f"recv: {err}") from None
        if not data:
            raise WireError("the server closed the connection")
        buf = self.inbuf
        buf += data
        pos, end = 0, len(buf)
        opened = self.open
        while end - pos >= 9:
            length = int.from_bytes(buf[pos:pos + 3], "big")
            if end - pos - 9 < length:
                break
            kind, flags = buf[pos + 3], buf[pos + 4]
            stream = int.from_bytes(buf[pos + 5:pos + 9], "big") & MAX_WINDOW
            body = pos + 9
            pos = body + length
            if kind == DATA:
                self.received += length
                call = opened.get(stream)
                if call is not None:
                    call[1] += length - (buf[body] + 1 if flags & PADDED else 0)
                    if flags & END_STREAM:
                        del opened[stream]
                        done.append((call[2], call[0], _outcome(call)))
            elif kind == HEADERS:
                if flags & END_STREAM:
                    call = opened.pop(stream, None)
                    if call is not None:
                        done.append((call[2], call[0], _outcome(call)))
            elif kind == RST_STREAM:
                call = opened.pop(stream, None)
                if call is not None:
                    done.append((call[2], call[0], "reset by the server"))
            elif kind == SETTINGS:
                if not flags & ACK:
                    self._settings(bytes(buf[body:pos]))
                    self.out += frame(SETTINGS, ACK, 0)
            elif kind == PING:
                if not flags & ACK:
                    self.out += frame(PING, ACK, 0, bytes(buf[body:pos]))
            elif kind == WINDOW_UPDATE:
                if stream == 0:
                    self.send_window += int.from_bytes(buf[body:body + 4], "big") & MAX_WINDOW
            elif kind == GOAWAY:
                self.closed = True
        del buf[:pos]
        if self.received > 1 << 24:
            self.out += frame(WINDOW_UPDATE, 0, 0, self.received.to_bytes(4, "big"))
            self.received = 0
        if self.waiting:
            self._release()
        if self.closed:
            raise WireError("the server sent GOAWAY")

    def _settings(self, payload: bytes) -> None:
        for i in range(0, len(payload) - 5, 6):
            key = int.from_bytes(payload[i:i + 2], "big")
            value = int.from_bytes(payload[i + 2:i + 6], "big")
            if key == SETTINGS_MAX_CONCURRENT_STREAMS:
                self.max_streams = value
            elif key == SETTINGS_INITIAL_WINDOW_SIZE:
                self.stream_window = value

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def run_load(host: str, port: int, path: str, messages: list[bytes], *, connections: int,
             seconds: float, max_calls: int, rate: float, start_at: float,
             offset: int = 0, timeout: float = 10.0) -> tuple[int, Counter, list[float]]:
    """Load one server from this process; (answered, failures by kind, latencies in s).

    ``rate`` 0: each connection keeps one call in flight and sends the next
    when it returns. Otherwise calls go out ``rate`` per second on a fixed
    schedule, round robin over the connections, and a latency runs from the
    planned send time, so a stall is not hidden by the client waiting for it.
    A call with no answer ``timeout`` seconds after the phase counts as not
    answered.
    """
    block = header_block(path, f"{host}:{port}")
    requests = [Request(block, m) for m in messages]
    nreq = len(requests)
    conns = [Connection(host, port) for _ in range(connections)]
    loop = _Loop(conns)
    for n, c in enumerate(conns):  # connect and warm up before the clock starts
        c.send(requests[(offset + n) % nreq], 0.0, n)
    warm = loop.wait_all(time.monotonic() + timeout)
    for _tag, _start, failure in warm:
        if failure:
            raise WireError(f"a warm-up call failed: {failure}")
    time.sleep(max(0.0, start_at - time.time()))

    latencies: list[float] = []
    failures: Counter = Counter()
    sent = in_flight = 0
    clock = time.perf_counter
    begin = clock()
    deadline = begin + seconds
    give_up = deadline + timeout
    interval = 1.0 / rate if rate else 0.0
    planned = begin
    if not interval:
        for n, c in enumerate(conns):
            c.send(requests[(offset + sent) % nreq], clock(), n)
            sent += 1
            in_flight += 1
    while True:
        now = clock()
        if interval:  # every call planned before the deadline goes out, late or not
            while planned <= now and planned < deadline and sent < max_calls:
                conns[sent % len(conns)].send(requests[(offset + sent) % nreq], planned, None)
                sent += 1
                in_flight += 1
                planned += interval
            sending = planned < deadline and sent < max_calls
        else:
            sending = now < deadline and sent < max_calls
        if not (sending or in_flight) or now > give_up:
            break
        wait = max(0.0, planned - now) if interval and sending else give_up - now
        for tag, start, failure in loop.step(wait):
            end = clock()
            in_flight -= 1
            latencies.append(end - start)
            if failure:
                failures[failure] += 1
            if tag is not None and end < deadline and sent < max_calls:
                conns[tag].send(requests[(offset + sent) % nreq], end, tag)
                sent += 1
                in_flight += 1
    loop.close()
    answered = len(latencies) - sum(failures.values())
    if in_flight:
        failures["no answer in time"] = in_flight
    return answered, failures, latencies


class _Loop:
    """A selector over the connections: write what is queued, read what came."""

    def __init__(self, conns: list[Connection]):
        self.conns = conns
        # select(2) takes microseconds; epoll and poll round a timeout up to the
        # millisecond, which would send a scheduled call up to 1 ms late
        self.sel = selectors.SelectSelector()
        self.writing: set[Connection] = set()
        for c in conns:
            self.sel.register(c.sock, selectors.EVENT_READ, c)

    def step(self, wait: float) -> list:
        """Flush, wait up to ``wait`` s, read; the calls that finished."""
        for c in self.conns:
            if c.out:
                c.flush()
            blocked = bool(c.out)
            if blocked != (c in self.writing):
                mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if blocked else 0)
                self.sel.modify(c.sock, mask, c)
                (self.writing.add if blocked else self.writing.discard)(c)
        done: list = []
        for key, mask in self.sel.select(wait):
            if mask & selectors.EVENT_READ:
                key.data.receive(done)
        return done

    def wait_all(self, deadline: float) -> list:
        done: list = []
        while any(c.open or c.waiting for c in self.conns):
            if time.monotonic() > deadline:
                raise WireError("no answer in time")
            done += self.step(0.1)
        return done

    def close(self) -> None:
        self.sel.close()
        for c in self.conns:
            c.close()
