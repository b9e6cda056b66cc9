"""Cedar's extension types: parsing, methods, equality, text and JSON forms.

Messages are Cedar's own (cedarpy 4.12). The last tests feed generated
strings to both parsers and require the same verdict and message.
"""

from __future__ import annotations

import pickle

import cedarpy
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from support import examples

from plainpdp.errors import EvaluationError
from plainpdp.extensions import (
    EXTENSION_ARITY,
    EXTENSION_FUNCTIONS,
    EXTENSION_METHODS,
    I64_MAX,
    I64_MIN,
    Datetime,
    Decimal,
    Duration,
    IPAddr,
    call_function,
    call_method,
    parse_extension,
)
from plainpdp.values import CedarSet, escape_string


def ext_error(extension: str, message: str) -> str:
    return f"error while evaluating `{extension}` extension function: {message}"


def fails(parse, text: str) -> str:
    with pytest.raises(EvaluationError) as info:
        parse(text)
    return info.value.message


# ------------------------------------------------------------------ ipaddr


@pytest.mark.parametrize(
    "text, addr, prefix, v6",
    [
        ("10.0.0.1", 0x0A000001, 32, False),
        ("10.0.0.0/8", 0x0A000000, 8, False),
        ("0.0.0.0/0", 0, 0, False),
        ("255.255.255.255", 0xFFFFFFFF, 32, False),
        ("::1", 1, 128, True),
        ("::", 0, 128, True),
        ("1::", 1 << 112, 128, True),
        ("1:2:3:4:5:6:7::", 0x0001_0002_0003_0004_0005_0006_0007_0000, 128, True),
        ("::1:2:3:4:5:6:7", 0x0000_0001_0002_0003_0004_0005_0006_0007, 128, True),
        ("ABCD::/16", 0xABCD << 112, 16, True),
        ("0001::", 1 << 112, 128, True),
        ("::ffff:7f00:1", 0xFFFF_7F00_0001, 128, True),
        ("ff00::/128", 0xFF00 << 112, 128, True),
    ],
)
def test_ip_parses_ipv4_and_ipv6_with_an_optional_prefix(text, addr, prefix, v6):
    ip = IPAddr.parse(text)
    assert (ip.addr, ip.prefix, ip.v6) == (addr, prefix, v6)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "invalid IP address: "),
        ("1.2.3", "invalid IP address: 1.2.3"),
        ("010.0.0.0", "invalid IP address: 010.0.0.0"),
        ("256.0.0.0", "invalid IP address: 256.0.0.0"),
        ("1.2.3.4 ", "invalid IP address: 1.2.3.4 "),
        ("fe80::1%eth0", "invalid IP address: fe80::1%eth0"),
        ("1::2:3:4:5:6:7:8", "invalid IP address: 1::2:3:4:5:6:7:8"),
        ("1:2:3:4:5:6:7:8::", "invalid IP address: 1:2:3:4:5:6:7:8::"),
        ("1::2::3", "invalid IP address: 1::2::3"),
        ("00001::", "invalid IP address: 00001::"),
        ("١.2.3.4", "invalid IP address: ١.2.3.4"),
        (
            "::ffff:1.2.3.4",
            "error parsing IP address from string: We do not accept IPv4 embedded in IPv6 "
            "(e.g., ::ffff:127.0.0.1). Found: `::ffff:1.2.3.4`",
        ),
        ("10.0.0.0/33", "error parsing prefix: 33 is larger than the limit 32"),
        ("::/129", "error parsing prefix: 129 is larger than the limit 128"),
        (
            "::/999",
            "error parsing prefix from the string `999`: number too large to fit in target type",
        ),
        ("10.0.0.0/08", "error parsing prefix `08`: leading zero(s)"),
        ("10.0.0.0/+8", "error parsing prefix `+8`: encountered non-digit"),
        ("1.2.3.4/8/8", "error parsing prefix: string length 3 is too large"),
        (
            "10.0.0.0/",
            "error parsing prefix from the string ``: cannot parse integer from empty string",
        ),
        ("x/8", "error parsing IP address from the string `x`: invalid IP address syntax"),
        (
            "1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18",
            "error parsing IP address from string `1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18`: "
            "string length is too large",
        ),
    ],
)
def test_ip_rejects_what_cedar_rejects_with_its_message(text, message):
    assert fails(IPAddr.parse, text) == ext_error("ipaddr", message)


def test_ip_equality_compares_address_and_prefix_as_written():
    assert IPAddr.parse("10.0.0.1") == IPAddr.parse("10.0.0.1/32")
    assert IPAddr.parse("::1") == IPAddr.parse("0:0:0:0:0:0:0:1/128")
    assert IPAddr.parse("10.0.0.1/8") != IPAddr.parse("10.0.0.0/8")
    assert IPAddr.parse("::") != IPAddr.parse("0.0.0.0/0")
    assert len(CedarSet([IPAddr.parse("10.0.0.1"), IPAddr.parse("10.0.0.1/32")])) == 1
    assert IPAddr.parse("10.0.0.1") != "10.0.0.1"


@pytest.mark.parametrize(
    "text, v4, loopback, multicast",
    [
        ("127.0.0.1", True, True, False),
        ("127.0.0.0/8", True, True, False),
        ("127.0.0.1/7", True, False, False),
        ("::1", False, True, False),
        ("::1/127", False, False, False),
        ("::ffff:7f00:1", False, False, False),
        ("224.0.0.0/4", True, False, True),
        ("239.255.255.255", True, False, True),
        ("224.0.0.0/3", True, False, False),
        ("ff00::/8", False, False, True),
        ("ff00::/7", False, False, False),
        ("10.0.0.1", True, False, False),
    ],
)
def test_ip_classification_methods(text, v4, loopback, multicast):
    ip = IPAddr.parse(text)
    assert ip.isIpv4() is v4
    assert ip.isIpv6() is not v4
    assert ip.isLoopback() is loopback
    assert ip.isMulticast() is multicast


@pytest.mark.parametrize(
    "inner, outer, expected",
    [
        ("10.1.2.3", "10.0.0.0/8", True),
        ("10.0.0.0/8", "10.0.0.0/8", True),
        ("10.0.0.0/7", "10.0.0.0/8", False),
        ("11.0.0.0", "10.0.0.0/8", False),
        ("0.0.0.0/0", "1.1.1.1/0", True),
        ("192.168.1.0/24", "192.168.0.0/16", True),
        ("::1", "::/0", True),
        ("2001:db8::1", "2001:db8::/32", True),
        ("2001:db9::1", "2001:db8::/32", False),
        ("::1", "127.0.0.1", False),
        ("0.0.0.0/0", "::/0", False),
    ],
)
def test_ip_is_in_range_compares_whole_ranges_of_one_version(inner, outer, expected):
    assert IPAddr.parse(inner).isInRange(IPAddr.parse(outer)) is expected


@pytest.mark.parametrize(
    "text, rendered",
    [
        ("10.0.0.0/8", 'ip("10.0.0.0/8")'),
        ("10.0.0.1/32", 'ip("10.0.0.1")'),
        ("0:0:0:0:0:0:0:1", 'ip("::1")'),
        ("1:0:0:2:0:0:0:3/64", 'ip("1:0:0:2::3/64")'),
        ("1:0:0:2:2:0:0:3", 'ip("1::2:2:0:0:3")'),
        ("1:2:3:4:5:6:7:8", 'ip("1:2:3:4:5:6:7:8")'),
        ("1:0:3:4:5:6:7:8", 'ip("1:0:3:4:5:6:7:8")'),
        ("ABCD::", 'ip("abcd::")'),
        ("::ffff:7f00:1", 'ip("::ffff:7f00:1")'),
    ],
)
def test_ip_renders_as_canonical_cedar_call_text(text, rendered):
    assert str(IPAddr.parse(text)) == rendered


# ------------------------------------------------------------------ decimal


@pytest.mark.parametrize(
    "text, value",
    [
        ("1.0", 10_000),
        ("1.2345", 12_345),
        ("-1.5", -15_000),
        ("-0.5", -5_000),
        ("-0.0", 0),
        ("01.10", 11_000),
        ("922337203685477.5807", I64_MAX),
        ("-922337203685477.5808", I64_MIN),
    ],
)
def test_decimal_parses_four_fraction_digits_in_i64(text, value):
    assert Decimal.parse(text).value == value


@pytest.mark.parametrize(
    "text, message",
    [
        ("1", "`1` is not a well-formed decimal value"),
        ("1.", "`1.` is not a well-formed decimal value"),
        (".5", "`.5` is not a well-formed decimal value"),
        ("+1.1", "`+1.1` is not a well-formed decimal value"),
        (" 1.1", "` 1.1` is not a well-formed decimal value"),
        ("1.1\n", "`1.1\n` is not a well-formed decimal value"),
        ("1.23456", "too many digits after the decimal in `1.23456`"),
        ("1.١١١", "too many digits after the decimal in `1.١١١`"),
        ("١.0", "overflow when converting to decimal"),
        ("1.١", "overflow when converting to decimal"),
        ("922337203685477.5808", "overflow when converting to decimal"),
        ("-922337203685477.5809", "overflow when converting to decimal"),
        ("99999999999999999999.0", "overflow when converting to decimal"),
    ],
)
def test_decimal_rejects_what_cedar_rejects_with_its_message(text, message):
    assert fails(Decimal.parse, text) == ext_error("decimal", message)


def test_decimal_comparison_methods_and_equality():
    one, two = Decimal.parse("1.0"), Decimal.parse("2.00")
    assert one.lessThan(two) and one.lessThanOrEqual(two)
    assert two.greaterThan(one) and two.greaterThanOrEqual(one)
    assert one.lessThanOrEqual(one) and one.greaterThanOrEqual(one)
    assert not one.lessThan(one) and not one.greaterThan(one)
    assert Decimal.parse("1.0") == Decimal.parse("1.0000")
    assert Decimal.parse("-0.5").lessThan(Decimal.parse("0.0"))
    assert Decimal.parse("1.0") != 10_000


@pytest.mark.parametrize(
    "text, rendered",
    [("1.0", "1.0"), ("1.05", "1.05"), ("-0.0001", "-0.0001"), ("12.3400", "12.34")],
)
def test_decimal_renders_its_shortest_constructor_text(text, rendered):
    assert str(Decimal.parse(text)) == f'decimal("{rendered}")'


# ------------------------------------------------------------------ duration


@pytest.mark.parametrize(
    "text, ms",
    [
        ("1d2h3m4s5ms", 93_784_005),
        ("-1d", -86_400_000),
        ("1m", 60_000),
        ("1ms", 1),
        ("0d", 0),
        ("-0ms", 0),
        ("24h", 86_400_000),
        ("-9223372036854775808ms", I64_MIN),
        ("106751991167d7h12m55s807ms", I64_MAX),
    ],
)
def test_duration_parses_units_in_order(text, ms):
    assert Duration.parse(text).ms == ms


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "invalid duration pattern"),
        ("-", "invalid duration pattern"),
        ("1", "invalid duration pattern"),
        ("d", "invalid duration pattern"),
        ("1h1d", "invalid duration pattern"),
        ("1d1d", "invalid duration pattern"),
        ("1D", "invalid duration pattern"),
        ("+1d", "invalid duration pattern"),
        ("1d ", "invalid duration pattern"),
        ("9223372036854775808ms", "Duration overflows internal representation"),
        ("-9223372036854775809ms", "Duration overflows internal representation"),
        ("9223372036854775807d", "Duration overflows internal representation"),
        ("99999999999999999999ms", "Duration overflows internal representation"),
    ],
)
def test_duration_rejects_what_cedar_rejects_with_its_message(text, message):
    assert fails(Duration.parse, text) == ext_error("duration", message)


@pytest.mark.parametrize(
    "text, ms, s, m, h, d",
    [
        ("1d2h3m4s5ms", 93_784_005, 93_784, 1_563, 26, 1),
        ("-1d2h", -93_600_000, -93_600, -1_560, -26, -1),
        ("-1999ms", -1_999, -1, 0, 0, 0),
        ("-119s", -119_000, -119, -1, 0, 0),
        ("-47h", -169_200_000, -169_200, -2_820, -47, -1),
    ],
)
def test_duration_conversions_truncate_toward_zero(text, ms, s, m, h, d):
    dur = Duration.parse(text)
    got = (dur.toMilliseconds(), dur.toSeconds(), dur.toMinutes(), dur.toHours(), dur.toDays())
    assert got == (ms, s, m, h, d)


@pytest.mark.parametrize(
    "ms, rendered",
    [
        (0, "0ms"),
        (93_784_005, "1d2h3m4s5ms"),
        (-3_600_000, "-1h"),
        (I64_MIN, "-106751991167d7h12m55s808ms"),
    ],
)
def test_duration_renders_largest_units_first(ms, rendered):
    assert str(Duration(ms)) == f'duration("{rendered}")'


# ------------------------------------------------------------------ datetime


@pytest.mark.parametrize(
    "text, ms",
    [
        ("1970-01-01", 0),
        ("2024-10-15", 1_728_950_400_000),
        ("2024-10-15T11:35:00Z", 1_728_992_100_000),
        ("2024-10-15T11:35:00.123Z", 1_728_992_100_123),
        ("2024-10-15T11:35:00+0100", 1_728_988_500_000),
        ("2024-10-15T11:35:00.000-2359", 1_729_078_440_000),
        ("1969-12-31T23:59:59.999Z", -1),
        ("0000-01-01", -62_167_219_200_000),
        ("9999-12-31T23:59:59.999Z", 253_402_300_799_999),
        ("2000-02-29", 951_782_400_000),
    ],
)
def test_datetime_parses_cedars_five_formats(text, ms):
    assert Datetime.parse(text).ms == ms


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "invalid date pattern"),
        ("2024-1-01", "invalid date pattern"),
        ("10000-01-01", "invalid date pattern"),
        ("2024-13-01", "invalid date: 2024-13-01"),
        ("1900-02-29", "invalid date: 1900-02-29"),
        ("2024-04-31", "invalid date: 2024-04-31"),
        ("2024-01-01X", "invalid hour/minute/second pattern"),
        ("2024-01-01T", "invalid hour/minute/second pattern"),
        ("2024-01-01T01:02", "invalid hour/minute/second pattern"),
        ("2024-01-01T00:00:00", "invalid millisecond and/or offset pattern"),
        ("2024-01-01T00:00:00.12Z", "invalid millisecond and/or offset pattern"),
        ("2024-01-01T00:00:00ZZ", "invalid millisecond and/or offset pattern"),
        ("2024-01-01T00:00:00Z\n", "invalid millisecond and/or offset pattern"),
        ("2024-13-01T00:00:00X", "invalid millisecond and/or offset pattern"),
        ("2024-13-01T00:00:00Z", "invalid date: 2024-13-01"),
        ("2024-01-01T24:00:00Z", "invalid hour/minute/second: 24:00:00"),
        ("2024-01-01T23:59:60Z", "invalid hour/minute/second: 23:59:60"),
        ("2024-01-01T00:00:00+2400", "invalid offset range: 240"),
        ("2024-01-01T00:00:00+0060", "invalid offset range: 060"),
    ],
)
def test_datetime_rejects_what_cedar_rejects_in_cedars_order(text, message):
    assert fails(Datetime.parse, text) == ext_error("datetime", message)


def test_datetime_methods():
    day = Datetime.parse("2024-01-01")
    assert day.offset(Duration.parse("1d")) == Datetime.parse("2024-01-02")
    assert day.offset(Duration.parse("-1ms")) == Datetime.parse("2023-12-31T23:59:59.999Z")
    assert Datetime.parse("2024-01-02").durationSince(day) == Duration.parse("1d")
    noon = Datetime.parse("2024-01-01T12:00:00Z")
    assert noon.toDate() == day
    assert noon.toTime() == Duration.parse("12h")
    before_epoch = Datetime.parse("1969-12-31T23:59:59.999Z")
    assert before_epoch.toDate() == Datetime.parse("1969-12-31")
    assert before_epoch.toTime() == Duration.parse("23h59m59s999ms")


def test_datetime_overflow_is_an_error():
    latest, earliest = Datetime(I64_MAX), Datetime(I64_MIN)
    assert fails(latest.offset, Duration(1)) == ext_error(
        "offset",
        'overflows when adding an offset: (datetime("1970-01-01"))'
        '.offset(duration("9223372036854775807ms"))+(1ms)',
    )
    assert fails(earliest.durationSince, Datetime(1)).startswith(
        ext_error("durationSince", "overflows when computing the duration between")
    )
    assert fails(Datetime.toDate, earliest) == ext_error(
        "toDate",
        'overflows when computing the date of (datetime("1970-01-01"))'
        '.offset(duration("-9223372036854775808ms"))',
    )


@pytest.mark.parametrize(
    "text, rendered",
    [
        ("2024-10-15", 'datetime("2024-10-15")'),
        ("2024-10-15T11:35:00+0100", 'datetime("2024-10-15T10:35:00.000Z")'),
        ("0000-01-01", 'datetime("0000-01-01")'),
    ],
)
def test_datetime_renders_utc_text(text, rendered):
    assert str(Datetime.parse(text)) == rendered


def test_datetime_outside_years_0000_to_9999_renders_as_an_offset():
    far = Datetime.parse("9999-12-31T23:59:59.999Z").offset(Duration(1))
    assert str(far) == '(datetime("1970-01-01")).offset(duration("253402300800000ms"))'
    assert far.to_json()["__extn"]["fn"] == "offset"


def test_datetime_and_duration_never_equal_each_other():
    assert Datetime(5) != Duration(5)
    assert Datetime(5) == Datetime(5)
    assert len(CedarSet([Datetime(5), Duration(5), Datetime(5)])) == 2


# ------------------------------------------------------------------ shared behaviour


VALUES = [
    IPAddr.parse("10.0.0.0/8"),
    IPAddr.parse("::1"),
    Decimal.parse("-1.25"),
    Duration.parse("-1d2h"),
    Datetime.parse("2024-10-15T11:35:00.123Z"),
    Datetime(I64_MAX),
]


@pytest.mark.parametrize("value", VALUES, ids=str)
def test_values_pickle_and_hash_consistently(value):
    copy = pickle.loads(pickle.dumps(value))
    assert copy == value and hash(copy) == hash(value)
    assert copy is not value


def test_parse_extension_accepts_type_or_constructor_names():
    assert parse_extension("ipaddr", "::1") == parse_extension("ip", "::1")
    assert parse_extension("decimal", "1.5") == Decimal(15_000)
    assert parse_extension("duration", "1s") == Duration(1_000)
    assert parse_extension("datetime", "1970-01-01") == Datetime(0)
    with pytest.raises(EvaluationError, match="`money` is not an extension type"):
        parse_extension("money", "1")
    with pytest.raises(EvaluationError, match="invalid duration pattern"):
        parse_extension("duration", "1x")


def test_every_function_and_method_has_its_cedar_arity():
    assert set(EXTENSION_FUNCTIONS) == {"ip", "decimal", "datetime", "duration"}
    assert {name for name, n in EXTENSION_ARITY.items() if n == 2} == {
        "isInRange",
        "lessThan",
        "lessThanOrEqual",
        "greaterThan",
        "greaterThanOrEqual",
        "offset",
        "durationSince",
    }
    assert set(EXTENSION_ARITY) == set(EXTENSION_FUNCTIONS) | set(EXTENSION_METHODS)


def test_constructors_take_exactly_one_string():
    assert call_function("ip", ["::1"]) == IPAddr.parse("::1")
    with pytest.raises(EvaluationError, match="^type error: expected string, got long$"):
        call_function("decimal", [1])
    with pytest.raises(
        EvaluationError,
        match="^wrong number of arguments provided to extension function `datetime`: "
        "expected 1, got 2$",
    ):
        call_function("datetime", ["2024-01-01", "x"])
    with pytest.raises(EvaluationError, match="`money` is not a valid function"):
        call_function("money", ["1"])


def test_methods_check_receiver_argument_and_count():
    ip = IPAddr.parse("::1")
    assert call_method("isLoopback", ip, []) is True
    with pytest.raises(EvaluationError, match="^type error: expected ipaddr, got string$"):
        call_method("isLoopback", "::1", [])
    with pytest.raises(EvaluationError, match="^type error: expected ipaddr, got long$"):
        call_method("isInRange", ip, [1])
    with pytest.raises(EvaluationError, match="^type error: expected duration, got datetime$"):
        call_method("toDays", Datetime(0), [])
    with pytest.raises(EvaluationError, match="^type error: expected datetime, got duration$"):
        call_method("durationSince", Datetime(0), [Duration(0)])
    with pytest.raises(EvaluationError, match="^type error: expected decimal, got bool$"):
        call_method("lessThan", Decimal(0), [True])
    with pytest.raises(EvaluationError, match="`isLoopback`: expected 1, got 2$"):
        call_method("isLoopback", ip, [ip])
    with pytest.raises(EvaluationError, match="`foo` is not a valid method"):
        call_method("foo", ip, [])


# ------------------------------------------------------------------ differential vs cedarpy

_REQUEST = {"principal": 'U::"p"', "action": 'A::"a"', "resource": 'R::"r"', "context": {}}
_PARSERS = {
    "ip": IPAddr.parse,
    "decimal": Decimal.parse,
    "datetime": Datetime.parse,
    "duration": Duration.parse,
}


def assert_parses_like_cedar(fn: str, texts: list[str]) -> None:
    """Each text parses in Cedar iff here, to an equal value or the same message."""
    ours, policies = [], []
    for text in texts:
        literal = f'{fn}("{escape_string(text)}")'
        try:
            value = _PARSERS[fn](text)
        except EvaluationError as err:
            ours.append(err.message)
            policies.append(
                f"permit(principal, action, resource) when {{ {literal} == {literal} }};"
            )
        else:
            ours.append(True)
            policies.append(f"permit(principal, action, resource) when {{ {literal} == {value} }};")
    answer = cedarpy.is_authorized(_REQUEST, "\n".join(policies), [])
    assert answer.decision.value != "NoDecision", answer.diagnostics.errors
    errors = {}
    for message in answer.diagnostics.errors:
        head, _, rest = message.partition("`: ")
        errors[head.rsplit("policy", 1)[1]] = rest
    for i, text in enumerate(texts):
        cedar = True if f"policy{i}" in answer.diagnostics.reasons else errors.get(str(i), False)
        assert ours[i] == cedar, text


def _sometimes(valid, broken):
    """Mostly ``valid``, now and then ``broken``: both sides of every check."""
    return st.one_of(valid, valid, valid, broken)


def _num(low: int, high: int, width: int = 0):
    return st.integers(low, high).map(lambda n: str(n).zfill(width))


_octet = _sometimes(_num(0, 255), st.sampled_from(["256", "00", "01", "007", "", "x", "١"]))
_v4_prefix = _sometimes(_num(0, 32), st.sampled_from(["33", "08", "+1", "", "1/2", "100"]))
_v6_prefix = _sometimes(_num(0, 128), st.sampled_from(["129", "999", "08", "", "1000"]))
_ipv4 = st.tuples(
    st.lists(_octet, min_size=4, max_size=4) | st.lists(_octet, min_size=3, max_size=5),
    st.none() | _v4_prefix,
).map(lambda t: ".".join(t[0]) + ("" if t[1] is None else "/" + t[1]))


@st.composite
def _ipv6(draw):
    groups = draw(st.lists(st.integers(0, 0xFFFF) | st.just(0), min_size=8, max_size=8))
    texts = [draw(st.sampled_from(["{:x}", "{:X}", "{:04x}"])).format(g) for g in groups]
    start = draw(st.integers(0, 8))
    stop = draw(st.integers(start, 8))
    if stop - start >= 1 and draw(st.booleans()):
        text = ":".join(texts[:start]) + "::" + ":".join(texts[stop:])
    else:
        text = ":".join(texts)
    text = draw(
        _sometimes(
            st.just(text),
            st.sampled_from(
                [
                    text + ":",
                    "1::" + text,
                    text + "%eth0",
                    text.replace(":", ":::", 1),
                    "::ffff:1.2.3.4",
                ]
            ),
        )
    )
    prefix = draw(st.none() | _v6_prefix)
    return text if prefix is None else f"{text}/{prefix}"


_ip_text = st.one_of(_ipv4, _ipv6(), st.text("0123456789abcdefABCDEF.:/%- ", max_size=20))

_decimal_text = _sometimes(
    st.tuples(st.sampled_from(["", "-"]), _num(0, 10**16), st.just("."), _num(0, 9999, 1)).map(
        "".join
    )
    | st.tuples(
        st.sampled_from(["", "-"]),
        _num(922337203685470, 922337203685479),
        st.just("."),
        _num(5800, 5809),
    ).map("".join),
    st.tuples(
        st.sampled_from(["", "-", "+", "--"]),
        st.text("0123456789", max_size=22),
        st.sampled_from([".", "", ".."]),
        st.text("0123456789١", max_size=6),
    ).map("".join)
    | st.text("0123456789-.١ \n", max_size=12),
)


@st.composite
def _duration_text(draw):
    units = ["d", "h", "m", "s", "ms"]
    chosen = draw(st.lists(st.sampled_from(units), min_size=1, max_size=5, unique=True))
    if draw(st.integers(0, 3)):
        chosen.sort(key=units.index)
    sizes = st.integers(0, 1000) | st.integers(0, 10**20)
    body = "".join(f"{draw(sizes)}{u}" for u in chosen)
    sign = draw(st.sampled_from(["", "-", "", "+"]))
    return draw(_sometimes(st.just(sign + body), st.text("0123456789dhms-", max_size=12)))


@st.composite
def _datetime_text(draw):
    date = f"{draw(_num(0, 9999, 4))}-{draw(_num(0, 13, 2))}-{draw(_num(0, 32, 2))}"
    time = f"T{draw(_num(0, 24, 2))}:{draw(_num(0, 60, 2))}:{draw(_num(0, 60, 2))}"
    millis = draw(st.sampled_from(["", "", "." + draw(_num(0, 999, 3)), ".12", "."]))
    zone = draw(st.sampled_from(["Z", "Z", "+", "-", "", "ZZ", "z"]))
    if zone in "+-":
        zone += draw(_num(0, 24, 2)) + draw(_num(0, 60, 2))
    text = draw(st.sampled_from([date, date + time + millis + zone, date + time + millis + zone]))
    return draw(_sometimes(st.just(text), st.text("0123456789-T:.Z+", max_size=30)))


@pytest.mark.parametrize(
    "fn, strategy",
    [
        ("ip", _ip_text),
        ("decimal", _decimal_text),
        ("duration", _duration_text()),
        ("datetime", _datetime_text()),
    ],
)
def test_generated_strings_parse_exactly_as_in_cedar(fn, strategy):
    @hsettings(max_examples=examples(15))
    @given(st.lists(strategy, min_size=1, max_size=40))
    def check(texts):
        assert_parses_like_cedar(fn, texts)

    check()


_ms_in_iso_years = st.integers(
    Datetime.parse("0000-01-01").ms, Datetime.parse("9999-12-31T23:59:59.999Z").ms
)


@hsettings(max_examples=examples(200))
@given(
    st.one_of(
        _ms_in_iso_years.map(Datetime),
        st.integers(I64_MIN, I64_MAX).map(Duration),
        st.integers(I64_MIN, I64_MAX).map(Decimal),
        st.builds(IPAddr, st.integers(0, 2**32 - 1), st.integers(0, 32), st.just(False)),
        st.builds(IPAddr, st.integers(0, 2**128 - 1), st.integers(0, 128), st.just(True)),
    )
)
def test_every_value_round_trips_through_its_constructor_text(value):
    extn = value.to_json()["__extn"]
    assert str(value) == f'{extn["fn"]}("{extn["arg"]}")'
    assert parse_extension(extn["fn"], extn["arg"]) == value
