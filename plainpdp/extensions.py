"""Cedar's extension types: ``ipaddr``, ``decimal``, ``datetime``, ``duration``.

Parsing, methods and error messages follow Cedar 4.x
(``cedar-policy-core/src/extensions/{ipaddr,decimal,datetime}.rs``, checked
against cedarpy 4.12), because policies, entity data and the oracle must
agree on exactly which strings are valid and what they mean.

Every failure raises :class:`~plainpdp.errors.EvaluationError`; the entity
loader turns those from :func:`parse_extension` into an ``EntityError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from .errors import EvaluationError
from .values import type_name

I64_MIN = -(1 << 63)
I64_MAX = (1 << 63) - 1


def type_error(expected: str, value: Any) -> EvaluationError:
    """Cedar's runtime type error: ``type error: expected X, got Y``."""
    return EvaluationError(f"type error: expected {expected}, got {type_name(value)}")


def _extension_error(extension: str, message: str) -> EvaluationError:
    return EvaluationError(f"error while evaluating `{extension}` extension function: {message}")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ------------------------------------------------------------------ ipaddr

_IP_MAX_LEN = 43  # len("ABCD:EF01:2345:6789:ABCD:EF01:2345:6789/128")
_DEC = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")
_V4_ALL = (1 << 32) - 1
_V6_ALL = (1 << 128) - 1


def _parse_v4(text: str) -> int | None:
    """Rust's ``Ipv4Addr::from_str``: four decimal octets, no leading zeros."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    addr = 0
    for part in parts:
        if not 0 < len(part) <= 3 or not _DEC.issuperset(part):
            return None
        if part[0] == "0" and len(part) > 1:
            return None
        octet = int(part)
        if octet > 255:
            return None
        addr = (addr << 8) | octet
    return addr


def _v6_groups(text: str) -> list[int] | None:
    if text == "":
        return []
    groups = []
    for part in text.split(":"):
        if not 0 < len(part) <= 4 or not _HEX.issuperset(part):
            return None
        groups.append(int(part, 16))
    return groups


def _parse_v6(text: str) -> int | None:
    """Rust's ``Ipv6Addr::from_str`` (embedded IPv4 is refused before this)."""
    head_text, sep, tail_text = text.partition("::")
    head = _v6_groups(head_text)
    if head is None:
        return None
    if sep:
        tail = _v6_groups(tail_text)
        if tail is None or len(head) + len(tail) > 7:
            return None
        groups = head + [0] * (8 - len(head) - len(tail)) + tail
    elif len(head) != 8:
        return None
    else:
        groups = head
    addr = 0
    for g in groups:
        addr = (addr << 16) | g
    return addr


def _parse_addr(text: str) -> tuple[int, bool] | None:
    v4 = _parse_v4(text)
    if v4 is not None:
        return v4, False
    v6 = _parse_v6(text)
    if v6 is not None:
        return v6, True
    return None


def _parse_prefix(text: str, limit: int, max_len: int) -> int:
    if len(text.encode()) > max_len:
        raise _extension_error(
            "ipaddr", f"error parsing prefix: string length {len(text.encode())} is too large"
        )
    if not _DEC.issuperset(text):
        raise _extension_error("ipaddr", f"error parsing prefix `{text}`: encountered non-digit")
    if text.startswith("0") and text != "0":
        raise _extension_error("ipaddr", f"error parsing prefix `{text}`: leading zero(s)")
    if text == "":
        raise _extension_error(
            "ipaddr",
            "error parsing prefix from the string ``: cannot parse integer from empty string",
        )
    prefix = int(text)
    if prefix > 255:
        raise _extension_error(
            "ipaddr",
            f"error parsing prefix from the string `{text}`: "
            "number too large to fit in target type",
        )
    if prefix > limit:
        raise _extension_error(
            "ipaddr", f"error parsing prefix: {prefix} is larger than the limit {limit}"
        )
    return prefix


def _format_v6(addr: int) -> str:
    """RFC 5952 text: lowercase, longest run (>= 2) of zero groups as ``::``."""
    groups = [(addr >> (16 * (7 - i))) & 0xFFFF for i in range(8)]
    best_start, best_len, start = -1, 1, None
    for i, g in enumerate(groups + [1]):
        if g == 0 and start is None:
            start = i
        elif g != 0 and start is not None:
            if i - start > best_len:
                best_start, best_len = start, i - start
            start = None
    hexes = [f"{g:x}" for g in groups]
    if best_start < 0:
        return ":".join(hexes)
    left = ":".join(hexes[:best_start])
    right = ":".join(hexes[best_start + best_len :])
    return f"{left}::{right}"


class IPAddr:
    """Cedar ``ipaddr``: an IPv4 or IPv6 address with a prefix length.

    Equality compares version, address and prefix as written, as Cedar does:
    ``ip("10.0.0.1/8") != ip("10.0.0.0/8")``.
    """

    __slots__ = ("addr", "prefix", "v6")
    cedar_type = "ipaddr"

    def __init__(self, addr: int, prefix: int, v6: bool):
        self.addr = addr
        self.prefix = prefix
        self.v6 = v6

    @classmethod
    def parse(cls, text: str) -> IPAddr:
        """Parse ``ip("...")`` text exactly as Cedar does (no embedded IPv4, no zone)."""
        if len(text.encode()) > _IP_MAX_LEN:
            raise _extension_error(
                "ipaddr",
                f"error parsing IP address from string `{text}`: string length is too large",
            )
        if text.count(":") >= 2 and text.count(".") >= 2:
            raise _extension_error(
                "ipaddr",
                "error parsing IP address from string: We do not accept IPv4 embedded in "
                f"IPv6 (e.g., ::ffff:127.0.0.1). Found: `{text}`",
            )
        addr_text, slash, prefix_text = text.partition("/")
        parsed = _parse_addr(addr_text)
        if not slash:
            if parsed is None:
                raise _extension_error("ipaddr", f"invalid IP address: {text}")
            addr, v6 = parsed
            return cls(addr, 128 if v6 else 32, v6)
        if parsed is None:
            raise _extension_error(
                "ipaddr",
                f"error parsing IP address from the string `{addr_text}`: "
                "invalid IP address syntax",
            )
        addr, v6 = parsed
        prefix = _parse_prefix(prefix_text, 128, 3) if v6 else _parse_prefix(prefix_text, 32, 2)
        return cls(addr, prefix, v6)

    def isIpv4(self) -> bool:  # noqa: N802 - Cedar's method names
        return not self.v6

    def isIpv6(self) -> bool:  # noqa: N802
        return self.v6

    def isLoopback(self) -> bool:  # noqa: N802
        if self.v6:
            return self.addr == 1 and self.prefix >= 128
        return self.addr >> 24 == 127 and self.prefix >= 8

    def isMulticast(self) -> bool:  # noqa: N802
        if self.v6:
            return self.addr >> 120 == 0xFF and self.prefix >= 8
        return 224 <= self.addr >> 24 <= 239 and self.prefix >= 4

    def isInRange(self, other: IPAddr) -> bool:  # noqa: N802
        """Whether every address of this range lies in ``other``'s range."""
        if self.v6 is not other.v6:
            return False
        width, full = (128, _V6_ALL) if self.v6 else (32, _V4_ALL)
        self_host = full >> self.prefix
        other_host = full >> other.prefix
        self_net = self.addr & ~self_host & full
        other_net = other.addr & ~other_host & full
        return other_net <= self_net and (self.addr | self_host) <= (other.addr | other_host)

    def text(self) -> str:
        """The constructor argument: ``10.0.0.0/8``, ``::1``."""
        if self.v6:
            body = _format_v6(self.addr)
            return body if self.prefix == 128 else f"{body}/{self.prefix}"
        a = self.addr
        body = f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"
        return body if self.prefix == 32 else f"{body}/{self.prefix}"

    def to_json(self) -> dict:
        """Cedar's JSON form, ``{"__extn": {"fn": "ip", "arg": ...}}``."""
        return {"__extn": {"fn": "ip", "arg": self.text()}}

    def __eq__(self, other: object) -> bool:
        return (
            other.__class__ is IPAddr
            and self.addr == other.addr  # type: ignore[attr-defined]
            and self.prefix == other.prefix  # type: ignore[attr-defined]
            and self.v6 is other.v6  # type: ignore[attr-defined]
        )

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((IPAddr, self.addr, self.prefix, self.v6))

    def __str__(self) -> str:
        return f"ip({_quote(self.text())})"

    __repr__ = __str__

    def __reduce__(self):
        return (IPAddr, (self.addr, self.prefix, self.v6))


# ------------------------------------------------------------------ decimal

# Rust's regex ``\d`` is Unicode-aware like Python's; non-ASCII digits then
# fail Rust's integer parse, which Cedar reports as an overflow.
_DECIMAL_RE = re.compile(r"(-?\d+)\.(\d+)")


class Decimal:
    """Cedar ``decimal``: a fixed-point number with 4 fraction digits in i64."""

    __slots__ = ("value",)
    cedar_type = "decimal"

    def __init__(self, value: int):
        self.value = value  # the number times 10_000

    @classmethod
    def parse(cls, text: str) -> Decimal:
        """Parse ``decimal("...")`` text: ``-?digits.digits``, at most 4 after the point."""
        m = _DECIMAL_RE.fullmatch(text)
        if m is None:
            raise _extension_error("decimal", f"`{text}` is not a well-formed decimal value")
        left, right = m.group(1), m.group(2)
        if not left.isascii() or not I64_MIN <= int(left) * 10_000 <= I64_MAX:
            raise _extension_error("decimal", "overflow when converting to decimal")
        if len(right.encode()) > 4:
            raise _extension_error("decimal", f"too many digits after the decimal in `{text}`")
        if not right.isascii():
            raise _extension_error("decimal", "overflow when converting to decimal")
        fraction = int(right) * 10 ** (4 - len(right))
        whole = int(left) * 10_000
        value = whole - fraction if left.startswith("-") else whole + fraction
        if not I64_MIN <= value <= I64_MAX:
            raise _extension_error("decimal", "overflow when converting to decimal")
        return cls(value)

    def lessThan(self, other: Decimal) -> bool:  # noqa: N802 - Cedar's method names
        return self.value < other.value

    def lessThanOrEqual(self, other: Decimal) -> bool:  # noqa: N802
        return self.value <= other.value

    def greaterThan(self, other: Decimal) -> bool:  # noqa: N802
        return self.value > other.value

    def greaterThanOrEqual(self, other: Decimal) -> bool:  # noqa: N802
        return self.value >= other.value

    def text(self) -> str:
        """The constructor argument, shortest form: ``1.5``, ``-0.0001``."""
        sign = "-" if self.value < 0 else ""
        whole, frac = divmod(abs(self.value), 10_000)
        digits = f"{frac:04d}".rstrip("0") or "0"
        return f"{sign}{whole}.{digits}"

    def to_json(self) -> dict:
        return {"__extn": {"fn": "decimal", "arg": self.text()}}

    def __eq__(self, other: object) -> bool:
        return other.__class__ is Decimal and self.value == other.value  # type: ignore[attr-defined]

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((Decimal, self.value))

    def __str__(self) -> str:
        return f"decimal({_quote(self.text())})"

    __repr__ = __str__

    def __reduce__(self):
        return (Decimal, (self.value,))


# ------------------------------------------------------------------ duration

_MS_PER = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}
_DURATION_RE = re.compile(
    r"-?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?"
)


def _trunc_div(a: int, b: int) -> int:
    """Integer division rounding toward zero, as Rust's ``/`` on i64."""
    q = abs(a) // b
    return -q if a < 0 else q


class Duration:
    """Cedar ``duration``: a signed number of milliseconds in i64."""

    __slots__ = ("ms",)
    cedar_type = "duration"

    def __init__(self, ms: int):
        self.ms = ms

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse ``duration("...")``: ``-?`` then units d, h, m, s, ms in order, each once."""
        m = _DURATION_RE.fullmatch(text) if text not in ("", "-") else None
        if m is None:
            raise _extension_error("duration", "invalid duration pattern")
        total = 0
        for digits, unit in zip(m.groups(), ("d", "h", "m", "s", "ms"), strict=True):
            if digits is not None:
                total += int(digits) * _MS_PER[unit]
        if text.startswith("-"):
            total = -total
        if not I64_MIN <= total <= I64_MAX:
            raise _extension_error("duration", "Duration overflows internal representation")
        return cls(total)

    def toMilliseconds(self) -> int:  # noqa: N802 - Cedar's method names
        return self.ms

    def toSeconds(self) -> int:  # noqa: N802
        return _trunc_div(self.ms, 1_000)

    def toMinutes(self) -> int:  # noqa: N802
        return _trunc_div(self.ms, 60_000)

    def toHours(self) -> int:  # noqa: N802
        return _trunc_div(self.ms, 3_600_000)

    def toDays(self) -> int:  # noqa: N802
        return _trunc_div(self.ms, 86_400_000)

    def text(self) -> str:
        """The constructor argument, largest units first: ``1d2h``, ``-5ms``."""
        rest = abs(self.ms)
        out = ["-"] if self.ms < 0 else []
        for unit, size in _MS_PER.items():
            n, rest = divmod(rest, size)
            if n:
                out.append(f"{n}{unit}")
        return "".join(out) if self.ms else "0ms"

    def to_json(self) -> dict:
        return {"__extn": {"fn": "duration", "arg": self.text()}}

    def __eq__(self, other: object) -> bool:
        return other.__class__ is Duration and self.ms == other.ms  # type: ignore[attr-defined]

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((Duration, self.ms))

    def __str__(self) -> str:
        return f"duration({_quote(self.text())})"

    __repr__ = __str__

    def __reduce__(self):
        return (Duration, (self.ms,))


# ------------------------------------------------------------------ datetime

_DAY_MS = 86_400_000
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_HMS_RE = re.compile(r"T([0-9]{2}):([0-9]{2}):([0-9]{2})")
_MS_OFFSET_RE = re.compile(r"(?:\.([0-9]{3}))?(?:Z|([+-])([0-9]{2})([0-9]{2}))")
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _valid_date(year: int, month: int, day: int) -> bool:
    if not 1 <= month <= 12:
        return False
    last = 29 if month == 2 and _is_leap(year) else _DAYS_IN_MONTH[month - 1]
    return 1 <= day <= last


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (year 0 exists)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719_468
    era = days // 146_097
    doe = days - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (month <= 2), month, day


_ISO_MIN = _days_from_civil(0, 1, 1) * _DAY_MS
_ISO_MAX = (_days_from_civil(9999, 12, 31) + 1) * _DAY_MS - 1


class Datetime:
    """Cedar ``datetime``: milliseconds since the Unix epoch (UTC) in i64."""

    __slots__ = ("ms",)
    cedar_type = "datetime"

    def __init__(self, ms: int):
        self.ms = ms

    @classmethod
    def parse(cls, text: str) -> Datetime:
        """Parse ``datetime("...")``: ``YYYY-MM-DD`` optionally followed by
        ``Thh:mm:ss``, optional ``.SSS`` and ``Z`` or a ``+hhmm``/``-hhmm`` offset.
        Checks run in Cedar's order so the same input gets the same message.
        """
        d = _DATE_RE.match(text)
        if d is None:
            raise _extension_error("datetime", "invalid date pattern")
        year, month, day = int(d.group(1)), int(d.group(2)), int(d.group(3))
        if d.end() == len(text):
            if not _valid_date(year, month, day):
                raise _extension_error("datetime", f"invalid date: {d.group(0)}")
            return cls(_days_from_civil(year, month, day) * _DAY_MS)
        t = _HMS_RE.match(text, d.end())
        if t is None:
            raise _extension_error("datetime", "invalid hour/minute/second pattern")
        rest = _MS_OFFSET_RE.fullmatch(text, t.end())
        if rest is None:
            raise _extension_error("datetime", "invalid millisecond and/or offset pattern")
        if not _valid_date(year, month, day):
            raise _extension_error("datetime", f"invalid date: {d.group(0)}")
        hour, minute, second = int(t.group(1)), int(t.group(2)), int(t.group(3))
        if hour >= 24 or minute >= 60 or second >= 60:
            raise _extension_error("datetime", f"invalid hour/minute/second: {t.group(0)[1:]}")
        millis, sign, off_h, off_m = rest.groups()
        offset = 0
        if sign is not None:
            oh, om = int(off_h), int(off_m)
            if oh >= 24 or om >= 60:
                raise _extension_error("datetime", f"invalid offset range: {oh}{om}")
            offset = (oh * 3600 + om * 60) * 1000
            if sign == "-":
                offset = -offset
        ms = (
            _days_from_civil(year, month, day) * _DAY_MS
            + ((hour * 60 + minute) * 60 + second) * 1000
            + (int(millis) if millis is not None else 0)
            - offset
        )
        return cls(ms)

    def offset(self, duration: Duration) -> Datetime:
        ms = self.ms + duration.ms
        if not I64_MIN <= ms <= I64_MAX:
            raise _extension_error(
                "offset", f"overflows when adding an offset: {self}+({duration.ms}ms)"
            )
        return Datetime(ms)

    def durationSince(self, other: Datetime) -> Duration:  # noqa: N802 - Cedar's method names
        ms = self.ms - other.ms
        if not I64_MIN <= ms <= I64_MAX:
            raise _extension_error(
                "durationSince",
                f"overflows when computing the duration between {self} and {other}",
            )
        return Duration(ms)

    def toDate(self) -> Datetime:  # noqa: N802
        ms = self.ms - self.ms % _DAY_MS
        if ms < I64_MIN:
            raise _extension_error("toDate", f"overflows when computing the date of {self}")
        return Datetime(ms)

    def toTime(self) -> Duration:  # noqa: N802
        return Duration(self.ms % _DAY_MS)

    def text(self) -> str | None:
        """The ``datetime("...")`` argument, or None outside years 0000-9999."""
        if not _ISO_MIN <= self.ms <= _ISO_MAX:
            return None
        days, ms = divmod(self.ms, _DAY_MS)
        year, month, day = _civil_from_days(days)
        date = f"{year:04d}-{month:02d}-{day:02d}"
        if ms == 0:
            return date
        seconds, millis = divmod(ms, 1000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        return f"{date}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z"

    def to_json(self) -> dict:
        """Cedar's JSON form; outside years 0000-9999 the ``offset`` form Cedar uses."""
        text = self.text()
        if text is not None:
            return {"__extn": {"fn": "datetime", "arg": text}}
        return {
            "__extn": {
                "fn": "offset",
                "args": [
                    {"__extn": {"fn": "datetime", "arg": "1970-01-01"}},
                    {"__extn": {"fn": "duration", "arg": f"{self.ms}ms"}},
                ],
            }
        }

    def __eq__(self, other: object) -> bool:
        return other.__class__ is Datetime and self.ms == other.ms  # type: ignore[attr-defined]

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((Datetime, self.ms))

    def __str__(self) -> str:
        text = self.text()
        if text is not None:
            return f"datetime({_quote(text)})"
        return f'(datetime("1970-01-01")).offset(duration("{self.ms}ms"))'

    __repr__ = __str__

    def __reduce__(self):
        return (Datetime, (self.ms,))


# ------------------------------------------------------------------ calls

EXTENSION_TYPES = (IPAddr, Decimal, Datetime, Duration)


def _constructor(cls: type, fn_name: str) -> Callable[[Any], Any]:
    parse = cls.parse  # type: ignore[attr-defined]

    def construct(arg: Any) -> Any:
        if arg.__class__ is not str:
            raise type_error("string", arg)
        return parse(arg)

    construct.__name__ = fn_name
    construct.__doc__ = f"Cedar's ``{fn_name}(string)`` constructor."
    return construct


# name -> constructor taking the evaluated argument (arity: see call_function)
EXTENSION_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "ip": _constructor(IPAddr, "ip"),
    "decimal": _constructor(Decimal, "decimal"),
    "datetime": _constructor(Datetime, "datetime"),
    "duration": _constructor(Duration, "duration"),
}

_PARSERS: dict[str, Callable[[str], Any]] = {
    "ip": IPAddr.parse,
    "ipaddr": IPAddr.parse,
    "decimal": Decimal.parse,
    "datetime": Datetime.parse,
    "duration": Duration.parse,
}


def parse_extension(type_name_or_fn: str, text: str) -> Any:
    """An extension value from its type or constructor name and its text.

    For entity and context data (``{"__extn": {"fn": "ip", "arg": ...}}``).
    """
    parse = _PARSERS.get(type_name_or_fn)
    if parse is None:
        raise EvaluationError(f"`{type_name_or_fn}` is not an extension type or constructor")
    return parse(text)


def _method(cls: type, name: str, arg_classes: tuple[type, ...] = ()) -> Callable[..., Any]:
    """Wrap ``cls.name`` with Cedar's type checks of receiver and arguments."""
    impl = getattr(cls, name)
    expected = cls.cedar_type  # type: ignore[attr-defined]
    if not arg_classes:

        def call0(receiver: Any) -> Any:
            if receiver.__class__ is not cls:
                raise type_error(expected, receiver)
            return impl(receiver)

        call0.__name__ = name
        return call0
    (arg_cls,) = arg_classes
    arg_expected = arg_cls.cedar_type  # type: ignore[attr-defined]

    def call1(receiver: Any, arg: Any) -> Any:
        if receiver.__class__ is not cls:
            raise type_error(expected, receiver)
        if arg.__class__ is not arg_cls:
            raise type_error(arg_expected, arg)
        return impl(receiver, arg)

    call1.__name__ = name
    return call1


# name -> function of (receiver, *args), type-checked (arity: see call_method)
EXTENSION_METHODS: dict[str, Callable[..., Any]] = {
    "isIpv4": _method(IPAddr, "isIpv4"),
    "isIpv6": _method(IPAddr, "isIpv6"),
    "isLoopback": _method(IPAddr, "isLoopback"),
    "isMulticast": _method(IPAddr, "isMulticast"),
    "isInRange": _method(IPAddr, "isInRange", (IPAddr,)),
    "lessThan": _method(Decimal, "lessThan", (Decimal,)),
    "lessThanOrEqual": _method(Decimal, "lessThanOrEqual", (Decimal,)),
    "greaterThan": _method(Decimal, "greaterThan", (Decimal,)),
    "greaterThanOrEqual": _method(Decimal, "greaterThanOrEqual", (Decimal,)),
    "offset": _method(Datetime, "offset", (Duration,)),
    "durationSince": _method(Datetime, "durationSince", (Datetime,)),
    "toDate": _method(Datetime, "toDate"),
    "toTime": _method(Datetime, "toTime"),
    "toMilliseconds": _method(Duration, "toMilliseconds"),
    "toSeconds": _method(Duration, "toSeconds"),
    "toMinutes": _method(Duration, "toMinutes"),
    "toHours": _method(Duration, "toHours"),
    "toDays": _method(Duration, "toDays"),
}

# Number of Cedar arguments of each function; a method's count includes its receiver.
EXTENSION_ARITY: dict[str, int] = {
    name: fn.__code__.co_argcount
    for name, fn in (*EXTENSION_FUNCTIONS.items(), *EXTENSION_METHODS.items())
}


def check_arity(name: str, got: int) -> None:
    """Cedar's runtime error for an extension call with the wrong argument count."""
    want = EXTENSION_ARITY[name]
    if got != want:
        raise EvaluationError(
            f"wrong number of arguments provided to extension function `{name}`: "
            f"expected {want}, got {got}"
        )


def call_function(name: str, args: Sequence[Any]) -> Any:
    """Call extension function ``name`` (``ip``, ``decimal``, ...) on evaluated args."""
    fn = EXTENSION_FUNCTIONS.get(name)
    if fn is None:
        raise EvaluationError(f"`{name}` is not a valid function")
    check_arity(name, len(args))
    return fn(*args)


def call_method(name: str, receiver: Any, args: Sequence[Any]) -> Any:
    """Call extension method ``name`` (``isInRange``, ``offset``, ...)."""
    fn = EXTENSION_METHODS.get(name)
    if fn is None:
        raise EvaluationError(f"`{name}` is not a valid method")
    check_arity(name, len(args) + 1)
    return fn(receiver, *args)
