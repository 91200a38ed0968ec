"""Key format: shape, checksum, digest, start, ids and durations.

The checksum is recomputed here from the brief's wording, independently of
``pepyhat.keys``: zlib.crc32 of the 42 random characters in base62 (0-9A-Za-z),
most significant digit first, left-padded with '0' to 6 characters.
"""

from __future__ import annotations

import hashlib
import random
import re
import string
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pepyhat import keys

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
SHAPE = re.compile(r"^(phk|pha)_[0-9A-Za-z]{48}$")


def base62_checksum(body: str) -> str:
    value = zlib.crc32(body.encode("ascii"))
    digits = ""
    while value:
        value, rem = divmod(value, 62)
        digits = BASE62[rem] + digits
    return digits.rjust(6, "0")


def forge(prefix: str, body: str) -> str:
    """A well-formed key built by hand, the way a secret scanner would check one."""
    return prefix + body + base62_checksum(body)


def test_base62_alphabet_order():
    # MSB-first base62 over 0-9A-Za-z; 2**32 - 1 needs exactly 6 digits.
    assert keys.ALPHABET == BASE62
    assert base62_checksum("") == "000000"  # crc32(b"") == 0
    assert 62**5 < 2**32 <= 62**6


@pytest.mark.parametrize("kind, prefix", [("app", "phk_"), ("admin", "pha_")])
def test_mint_shape_and_checksum(kind, prefix):
    minted = {keys.mint(kind) for _ in range(50)}
    assert len(minted) == 50
    for key in minted:
        assert SHAPE.match(key), key
        assert key.startswith(prefix)
        body, check = key[4:46], key[46:]
        assert len(body) == 42 and len(check) == 6
        assert check == base62_checksum(body)
        assert keys.parse(key) == kind


def test_checksum_matches_independent_computation():
    rng = random.Random(1)
    for _ in range(200):
        body = "".join(rng.choice(BASE62) for _ in range(42))
        assert keys.checksum(body) == base62_checksum(body)
        assert keys.parse(forge("phk_", body)) == "app"
        assert keys.parse(forge("pha_", body)) == "admin"


def test_checksum_left_pads_small_values():
    # Find bodies whose CRC needs fewer than 6 base62 digits to prove the padding.
    rng = random.Random(2)
    for _ in range(2_000_000):
        body = "".join(rng.choice(BASE62) for _ in range(42))
        if zlib.crc32(body.encode()) < 62**5:
            break
    else:  # pragma: no cover - about 1 body in 5 qualifies
        pytest.fail("no small checksum found")
    assert base62_checksum(body).startswith("0")
    assert keys.checksum(body) == base62_checksum(body)
    assert keys.parse(forge("phk_", body)) == "app"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=BASE62, min_size=42, max_size=42), st.sampled_from(["phk_", "pha_"]))
def test_any_body_with_its_checksum_parses(body, prefix):
    assert keys.parse(forge(prefix, body)) == keys.KINDS[prefix]


def _valid() -> str:
    return keys.mint("app")


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda k: "phx_" + k[4:], id="unknown-prefix"),
        pytest.param(lambda k: "PHK_" + k[4:], id="uppercase-prefix"),
        pytest.param(lambda k: k[4:], id="no-prefix"),
        pytest.param(lambda k: "phk" + k[4:], id="no-underscore"),
        pytest.param(lambda k: k[:-1], id="too-short"),
        pytest.param(lambda k: k + "0", id="too-long"),
        pytest.param(lambda k: k[:10] + "-" + k[11:], id="dash"),
        pytest.param(lambda k: k[:10] + "_" + k[11:], id="underscore"),
        pytest.param(lambda k: k[:10] + "é" + k[11:], id="non-ascii"),
        pytest.param(lambda k: " " + k, id="leading-space"),
        pytest.param(lambda k: k + "\n", id="trailing-newline"),
        pytest.param(lambda k: "", id="empty"),
    ],
)
def test_parse_rejects_malformed(mangle):
    # The message reaches the caller in the 401: "invalid API key: not a Pepy Hat key".
    with pytest.raises(keys.MalformedKey, match=r"^not a Pepy Hat key$"):
        keys.parse(mangle(_valid()))


def test_parse_rejects_bad_checksum():
    key = _valid()
    body, check = key[4:46], key[46:]
    wrong = check[:-1] + ("0" if check[-1] != "0" else "1")
    with pytest.raises(keys.MalformedKey, match=r"^bad checksum$"):
        keys.parse("phk_" + body + wrong)
    # one changed random character with the old checksum
    flipped = ("A" if body[0] != "A" else "B") + body[1:]
    with pytest.raises(keys.MalformedKey):
        keys.parse("phk_" + flipped + check)
    # the right checksum on the other kind's prefix is still fine: it covers the body only
    assert keys.parse("pha_" + body + check) == "admin"


def test_digest_is_sha256_hex_of_whole_key():
    key = _valid()
    assert keys.digest(key) == hashlib.sha256(key.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", keys.digest(key))
    assert keys.digest(key) != keys.digest("pha_" + key[4:])


def test_start_is_prefix_and_six_random_characters():
    key = keys.mint("admin")
    assert keys.start_of(key) == key[:10]
    assert re.fullmatch(r"pha_[0-9A-Za-z]{6}", keys.start_of(key))
    assert keys.is_start(keys.start_of(key))
    assert not keys.is_start(key)
    assert not keys.is_start(keys.start_of(key) + "\n")
    assert not keys.is_start("pha_Ab12C")
    assert not keys.is_start("phx_Ab12Cd")


def test_ids():
    ids = {keys.new_id() for _ in range(100)}
    assert len(ids) == 100
    for key_id in ids:
        assert re.fullmatch(r"key_[0-9A-Za-z]{16}", key_id), key_id


def test_deterministic_rng_is_reproducible():
    # The demo derives keys from its seed; same seed, same keys.
    assert keys.mint("app", random.Random(5)) == keys.mint("app", random.Random(5))
    assert keys.new_id(random.Random(5)) == keys.new_id(random.Random(5))
