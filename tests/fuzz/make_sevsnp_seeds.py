#!/usr/bin/env python3
"""Writes the seed corpus of fuzz target attest_sevsnp_report from vectors/sevsnp/.

Seeds: the real Milan report (bare), the report followed by an AMD certificate table (VCEK, ASK,
ARK; page-padded, as configfs-tsm returns it), a version-3 variant, one with a flipped signed
byte, one with a bad reserved byte, and a truncated report.
Run: python3 tests/fuzz/make_sevsnp_seeds.py [--shared /work/shared]
"""
import argparse
import base64
import pathlib
import struct

VCEK_GUID = bytes.fromhex("63da758de6644564adc5f4b93be8accd")
ASK_GUID = bytes.fromhex("4ab7b379bbac4fe4a02f05aef327c782")
ARK_GUID = bytes.fromhex("c0b406a4a803495297433fb6014cd0ae")


def pem_to_der(text):
    blocks, current = [], None
    for line in text.splitlines():
        if line.startswith("-----BEGIN"):
            current = []
        elif line.startswith("-----END"):
            blocks.append(base64.b64decode("".join(current)))
            current = None
        elif current is not None:
            current.append(line.strip())
    return blocks


def cert_table(entries, pad_to=0):
    header = bytearray()
    offset = (len(entries) + 1) * 24
    for guid, der in entries:
        header += guid + struct.pack("<II", offset, len(der))
        offset += len(der)
    header += bytes(24)
    body = bytes(header) + b"".join(der for _, der in entries)
    return body + bytes(max(0, pad_to - len(body)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default="/work/shared")
    args = parser.parse_args()
    src = pathlib.Path(args.shared) / "vectors/sevsnp/go-sev-guest"
    out = pathlib.Path(__file__).resolve().parent / "corpus/attest_sevsnp_report"
    out.mkdir(parents=True, exist_ok=True)
    report = (src / "attestation.bin").read_bytes()
    vcek = (src / "vcek.testcer.der").read_bytes()
    ask, ark = pem_to_der((src / "ask_ark_milan.pem").read_text())
    seeds = {
        "milan_report.bin": report,
        "milan_report_with_table.bin": report + cert_table(
            [(VCEK_GUID, vcek), (ASK_GUID, ask), (ARK_GUID, ark)], pad_to=3 * 4096),
        "milan_report_v3.bin": b"\x03" + report[1:0x188] + b"\x19\x01\x01" + report[0x18B:],
        "milan_report_flipped.bin": report[:0x90] + bytes([report[0x90] ^ 1]) + report[0x91:],
        "milan_report_reserved.bin": report[:0x4C] + b"\x01" + report[0x4D:],
        "truncated.bin": report[:600],
    }
    for name, data in seeds.items():
        (out / name).write_bytes(data)


if __name__ == "__main__":
    main()
