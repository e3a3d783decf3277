#!/usr/bin/env python3
"""Make the far end's RTP recordings for sipp's play_pcap_audio.

Speech comes from espeak-ng, resampled by sox to 8 kHz 16-bit mono; this
script (stdlib only) pads it with silence, encodes G.711 u-law and writes a
pcap of Ethernet/IPv4/UDP/RTP packets (payload type 0, 20 ms, 160 bytes).
sipp replays the UDP payloads with the pcap's timing towards the media
address of the SDP it received, so the addresses/ports below are dummies.

  human.pcap    0.3 s silence, "Hello?", 4 s silence  -> AMD: HUMAN
  machine.pcap  0.3 s silence, ~5 s of continuous speech -> AMD: MACHINE

Usage: make_pcaps.py [OUTDIR]   (default: this script's directory)
The resulting pcaps are committed; run this only to change them.

       make_pcaps.py tone HZ OUT.pcap
writes TONE_SECONDS of a sine at HZ (a multiple of 50, so that every 20 ms packet holds whole
periods and is the same packet), TONE_DBFS below full scale: what the lab's tone phones send.
scripts/lab.sh makes these at every `up`; they are not committed.
"""

from __future__ import annotations

import array
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import wave

RATE = 8000
PTIME_SAMPLES = 160  # 20 ms at 8 kHz
PT_PCMU = 0

TONE_SECONDS = 60
TONE_DBFS = -10.0

RECORDINGS = {
    "human": (0.3, "Hello?", 4.0),
    "machine": (
        0.3,
        "Hi, you have reached Alex Miller. I cannot take your call right now, "
        "please leave a message after the tone.",
        1.0,
    ),
}


def ulaw_encode(sample: int) -> int:
    """ITU-T G.711 u-law encoding of one signed 16-bit sample."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    if sample < 0:
        sample = -sample
    sample = min(sample, clip) + bias
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not sample & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def speak(text: str, workdir: str) -> array.array:
    """espeak-ng -> sox -> 8 kHz signed 16-bit mono samples."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (apt-get install espeak-ng sox)")
    raw = os.path.join(workdir, "speech.wav")
    out = os.path.join(workdir, "speech8k.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", raw, text], check=True)
    subprocess.run(
        [
            "sox",
            raw,
            "-r",
            str(RATE),
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            out,
            "gain",
            "-n",
            "-3",
        ],
        check=True,
    )
    with wave.open(out, "rb") as w:
        assert w.getframerate() == RATE and w.getsampwidth() == 2 and w.getnchannels() == 1
        samples = array.array("h")
        samples.frombytes(w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def ip_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def write_pcap(path: str, payloads: list[bytes]) -> None:
    src_ip, dst_ip = bytes([127, 0, 0, 2]), bytes([127, 0, 0, 1])
    sport, dport = 6000, 10000
    ssrc = 0x0D1A1E5D
    with open(path, "wb") as f:
        # pcap global header: magic, v2.4, tz 0, sigfigs 0, snaplen, LINKTYPE_ETHERNET
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for seq, payload in enumerate(payloads):
            rtp = (
                struct.pack(
                    "!BBHII",
                    0x80,
                    PT_PCMU | (0x80 if seq == 0 else 0),
                    seq & 0xFFFF,
                    (seq * PTIME_SAMPLES) & 0xFFFFFFFF,
                    ssrc,
                )
                + payload
            )
            udp_len = 8 + len(rtp)
            pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 17, udp_len)
            udp_hdr = struct.pack("!HHHH", sport, dport, udp_len, 0)
            csum = ip_checksum(pseudo + udp_hdr + rtp) or 0xFFFF
            udp = struct.pack("!HHHH", sport, dport, udp_len, csum) + rtp
            ip_hdr = struct.pack(
                "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), seq & 0xFFFF, 0, 64, 17, 0, src_ip, dst_ip
            )
            ip_hdr = ip_hdr[:10] + struct.pack("!H", ip_checksum(ip_hdr)) + ip_hdr[12:]
            frame = (
                b"\x00\x00\x00\x00\x00\x01"
                + b"\x00\x00\x00\x00\x00\x02"
                + b"\x08\x00"
                + ip_hdr
                + udp
            )
            usec = seq * 20000
            f.write(
                struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame), len(frame))
            )
            f.write(frame)


def tone_payloads(hz: int) -> list[bytes]:
    if hz <= 0 or hz % 50 or hz >= RATE // 2:
        sys.exit(f"a tone must be a multiple of 50 Hz below {RATE // 2} Hz (got {hz})")
    amplitude = 32768 * 10 ** (TONE_DBFS / 20)
    packet = bytes(
        ulaw_encode(round(amplitude * math.sin(2 * math.pi * hz * n / RATE)))
        for n in range(PTIME_SAMPLES)
    )
    return [packet] * (TONE_SECONDS * RATE // PTIME_SAMPLES)


def main() -> None:
    if sys.argv[1:2] == ["tone"]:
        if len(sys.argv) != 4:
            sys.exit("usage: make_pcaps.py tone HZ OUT.pcap")
        write_pcap(sys.argv[3], tone_payloads(int(sys.argv[2])))
        return
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as tmp:
        for name, (lead, text, tail) in RECORDINGS.items():
            speech = speak(text, tmp)
            samples = (
                (array.array("h", [0]) * int(lead * RATE))
                + speech
                + (array.array("h", [0]) * int(tail * RATE))
            )
            samples.extend([0] * (-len(samples) % PTIME_SAMPLES))
            ulaw = bytes(ulaw_encode(s) for s in samples)
            payloads = [ulaw[i : i + PTIME_SAMPLES] for i in range(0, len(ulaw), PTIME_SAMPLES)]
            path = os.path.join(outdir, f"{name}.pcap")
            write_pcap(path, payloads)
            print(
                f"{path}: {len(payloads)} packets, {len(samples) / RATE:.2f} s "
                f"(speech {len(speech) / RATE:.2f} s)"
            )


if __name__ == "__main__":
    main()
