"""What the lab's phones hear: a tcpdump capture of the RTP that Asterisk sends to them, decoded
from G.711 µ-law, and the level of a tone in it (Goertzel at the tone's frequency).

The capture filter keeps only UDP to the phones' RTP port, in the kernel: the rest of the
loopback's traffic is never copied, and no packet of another lab (other ports) is seen."""

from __future__ import annotations

import math
import signal
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

RATE = 8000
PT_PCMU = 0
NOTHING_DBFS = -120.0  # the level reported for no audio at all
# A tone is heard at HEARD_DBFS or more and not heard at SILENT_DBFS or less; the lab's tones
# are sent at -10 dBFS, and the µ-law quantisation of the others leaves -50 to -65 dBFS at a
# tone's frequency. A level between the two is neither (a failure, not a verdict).
HEARD_DBFS = -20.0
SILENT_DBFS = -40.0


def ulaw_to_linear(byte: int) -> int:
    """ITU-T G.711 µ-law decoding of one byte to a signed 16-bit sample."""
    byte = ~byte & 0xFF
    magnitude = ((((byte & 0x0F) << 3) + 0x84) << ((byte & 0x70) >> 4)) - 0x84
    return -magnitude if byte & 0x80 else magnitude


ULAW = [ulaw_to_linear(b) for b in range(256)]


def goertzel_power(samples: list[int], hz: float) -> float:
    """|X(hz)|² of the samples (the squared magnitude of one DFT bin)."""
    coeff = 2 * math.cos(2 * math.pi * hz / RATE)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def tone_dbfs(payloads: Iterable[bytes], hz: float) -> float:
    """The level of a sine at ``hz`` in µ-law payloads, in dB below a full-scale sine: a packet
    of 160 samples holds whole periods of a tone at a multiple of 50 Hz, so each packet's bin
    is exact; the packets' powers are averaged."""
    powers = []
    for payload in payloads:
        samples = [ULAW[b] for b in payload]
        powers.append(goertzel_power(samples, hz) / (len(samples) / 2) ** 2)
    if not powers:
        return NOTHING_DBFS
    mean = sum(powers) / len(powers)
    return max(NOTHING_DBFS, 10 * math.log10(mean / 32768**2)) if mean > 0 else NOTHING_DBFS


@dataclass(frozen=True)
class RtpPacket:
    t: float  # capture time, epoch seconds
    dst: str  # the phone's address
    payload_type: int
    payload: bytes


def read_pcap(data: bytes) -> Iterator[RtpPacket]:
    """RTP packets of a classic pcap file of Ethernet frames (tcpdump on Linux's loopback)."""
    magic, _major, _minor, _tz, _sigfigs, _snaplen, linktype = struct.unpack_from("<IHHiIII", data)
    if magic != 0xA1B2C3D4 or linktype != 1:
        raise ValueError(f"not a little-endian Ethernet pcap (magic {magic:#x}, link {linktype})")
    at = 24
    while at + 16 <= len(data):
        sec, usec, caplen, _length = struct.unpack_from("<IIII", data, at)
        frame = data[at + 16 : at + 16 + caplen]
        at += 16 + caplen
        if len(frame) < 14 + 20 + 8 + 12 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17:  # UDP
            continue
        rtp = ip[ihl + 8 :]
        if rtp[0] >> 6 != 2:
            continue
        header = 12 + 4 * (rtp[0] & 0x0F)
        if rtp[0] & 0x10:  # a header extension: its length in 32-bit words follows its id
            header += 4 + 4 * struct.unpack_from("!H", rtp, header + 2)[0]
        dst = ".".join(str(b) for b in ip[16:20])
        yield RtpPacket(sec + usec / 1e6, dst, rtp[1] & 0x7F, bytes(rtp[header:]))


class Capture:
    """tcpdump on ``lo`` of the UDP sent to ``port`` of the given addresses, from ``start()``
    (which returns once tcpdump listens) to ``stop()`` (which returns the packets)."""

    def __init__(self, addresses: Iterable[str], port: int) -> None:
        hosts = " or ".join(f"dst host {a}" for a in addresses)
        self.filter = f"udp and dst port {port} and ({hosts})"
        self._dir = tempfile.TemporaryDirectory(prefix="dialerd-rtp-")
        self.file = Path(self._dir.name) / "rtp.pcap"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, within: float = 10.0) -> None:
        # -U writes each packet at once, -B a 4 MiB kernel buffer, so a starved tcpdump loses
        # nothing; -n no name lookups. tcpdump says "listening on lo" once its filter is set.
        self._proc = subprocess.Popen(
            ["tcpdump", "-i", "lo", "-n", "-U", "-B", "4096", "-w", str(self.file), self.filter],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert self._proc.stderr is not None
        deadline = time.monotonic() + within
        said = b""
        while b"listening on" not in said:
            line = self._proc.stderr.readline()
            if not line or time.monotonic() > deadline:
                self._proc.kill()
                raise RuntimeError(f"tcpdump did not start: {said.decode(errors='replace')}")
            said += line

    def stop(self) -> list[RtpPacket]:
        proc, self._proc = self._proc, None
        if proc is None:
            return []
        proc.send_signal(signal.SIGINT)  # tcpdump writes what it has and exits
        try:
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
            if proc.stderr is not None:
                proc.stderr.close()
        try:
            return list(read_pcap(self.file.read_bytes()))
        finally:
            self._dir.cleanup()
