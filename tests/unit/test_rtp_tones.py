"""The lab's ear (tests/pbx/media.py) against the lab's tone maker (make_pcaps.py tone): a tone
pcap read back has its own tone at the level it was made with and the other phones' tones far
below the lab test's silence threshold, alone and mixed."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from tests.pbx.media import (
    HEARD_DBFS,
    NOTHING_DBFS,
    SILENT_DBFS,
    read_pcap,
    tone_dbfs,
    ulaw_to_linear,
)

MAKE_PCAPS = Path(__file__).parents[2] / "asterisk_conf" / "lab" / "audio" / "make_pcaps.py"
TONES = (500, 1100, 1900)  # the lab's tone phones'


@pytest.fixture(scope="module")
def make_pcaps() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_pcaps", MAKE_PCAPS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ulaw_decodes_what_the_encoder_made(make_pcaps: ModuleType) -> None:
    for sample in range(-32000, 32000, 7):
        decoded = ulaw_to_linear(make_pcaps.ulaw_encode(sample))
        assert abs(decoded - sample) <= max(4, abs(sample) // 16), (sample, decoded)


@pytest.mark.parametrize("hz", TONES)
def test_a_tone_pcap_holds_its_tone_and_not_the_others(
    make_pcaps: ModuleType, tmp_path: Path, hz: int
) -> None:
    path = tmp_path / "tone.pcap"
    make_pcaps.write_pcap(str(path), make_pcaps.tone_payloads(hz))
    packets = list(read_pcap(path.read_bytes()))
    assert len(packets) == make_pcaps.TONE_SECONDS * 50
    assert {(p.dst, p.payload_type, len(p.payload)) for p in packets} == {("127.0.0.1", 0, 160)}
    payloads = {p.payload for p in packets}
    assert len(payloads) == 1  # whole periods in every packet: one packet is the tone
    assert tone_dbfs(payloads, hz) == pytest.approx(make_pcaps.TONE_DBFS, abs=0.2)
    for other in set(TONES) - {hz}:
        assert tone_dbfs(payloads, other) < SILENT_DBFS - 10, other


def test_two_tones_mixed_are_both_heard_and_the_third_is_not(make_pcaps: ModuleType) -> None:
    """What a barged-in agent gets: the customer and the supervisor added (as Asterisk mixes)."""
    a, b = (make_pcaps.tone_payloads(hz)[0] for hz in (500, 1900))
    sums = (ulaw_to_linear(x) + ulaw_to_linear(y) for x, y in zip(a, b, strict=True))
    mixed = bytes(make_pcaps.ulaw_encode(s) for s in sums)
    assert tone_dbfs([mixed], 500) >= HEARD_DBFS
    assert tone_dbfs([mixed], 1900) >= HEARD_DBFS
    assert tone_dbfs([mixed], 1100) <= SILENT_DBFS


def test_no_audio_is_silence() -> None:
    assert tone_dbfs([], 1100) == NOTHING_DBFS
    assert tone_dbfs([bytes([0xFF]) * 160], 1100) == NOTHING_DBFS  # µ-law 0xFF is 0
