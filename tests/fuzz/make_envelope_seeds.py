#!/usr/bin/env python3
"""Writes the seed corpus of fuzz target attest_envelope (evidence envelopes, attest/envelope.h).

Seeds: envelopes around the SPR TDX sample quote, the real SEV-SNP report and the generated OIDC
token; one with every optional field empty; then one broken variant each: "v" 2, platform
"aws-nitro", keys out of order, a seventh key, a missing key, and a Nitro document wrapped as tdx.
The CBOR is written here by hand (text keys, byte / text strings, small unsigned integers).
Run: python3 tests/fuzz/make_envelope_seeds.py [--shared /work/shared]
"""
import argparse
import hashlib
import pathlib
import struct


def head(major, value):
    if value < 24:
        return bytes([major << 5 | value])
    if value < 0x100:
        return bytes([major << 5 | 24, value])
    if value < 0x10000:
        return bytes([major << 5 | 25]) + struct.pack(">H", value)
    return bytes([major << 5 | 26]) + struct.pack(">I", value)


def item(value):
    if isinstance(value, int):
        return head(0, value)
    if isinstance(value, str):
        data = value.encode()
        return head(3, len(data)) + data
    return head(2, len(value)) + bytes(value)


def cbor_map(entries, sort=True):
    """entries: (key, value) pairs; sorted length-first like the deterministic encoding."""
    encoded = [(item(k), item(v)) for k, v in entries]
    if sort:
        encoded.sort(key=lambda kv: (len(kv[0]), kv[0]))
    return head(5, len(encoded)) + b"".join(k + v for k, v in encoded)


def envelope(platform, evidence, public_key=b"\x11" * 32, nonce=b"\x22" * 16,
             user_data=b"\xa1\x61\x6d\x01", version=1):
    return [("v", version), ("platform", platform), ("evidence", evidence),
            ("public_key", public_key), ("nonce", nonce), ("user_data", user_data)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default="/work/shared")
    args = parser.parse_args()
    shared = pathlib.Path(args.shared) / "vectors"
    source = pathlib.Path(__file__).resolve().parents[2]
    out = pathlib.Path(__file__).resolve().parent / "corpus" / "attest_envelope"
    out.mkdir(parents=True, exist_ok=True)

    quote = (shared / "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat").read_bytes()
    snp = (shared / "sevsnp/go-sev-guest/attestation.bin").read_bytes()
    token = (source / "tests/vectors/gcp/oidc_valid.jwt").read_text().strip().encode()
    nitro = (shared / "nitro/cape-js/cape-spec-attestationDocument.bin").read_bytes()

    seeds = {
        "tdx.cbor": cbor_map(envelope("tdx", quote)),
        "sev_snp.cbor": cbor_map(envelope("sev-snp", snp)),
        "gcp_cs.cbor": cbor_map(envelope("gcp-cs", token)),
        "empty_fields.cbor": cbor_map(envelope("tdx", quote, b"", b"", b"")),
        "version_2.cbor": cbor_map(envelope("tdx", quote, version=2)),
        "platform_nitro.cbor": cbor_map(envelope("aws-nitro", nitro)),
        "unsorted.cbor": cbor_map(envelope("sev-snp", snp), sort=False),
        "extra_key.cbor": cbor_map(envelope("gcp-cs", token) + [("x", 0)]),
        "missing_key.cbor": cbor_map(envelope("tdx", quote)[:5]),
        "nitro_inside.cbor": cbor_map(envelope("tdx", nitro)),
    }
    for name, data in seeds.items():
        (out / name).write_bytes(data)
    digest = hashlib.sha256(b"".join(seeds[n] for n in sorted(seeds))).hexdigest()
    print(f"wrote {len(seeds)} seeds to {out} ({digest[:16]})")


if __name__ == "__main__":
    main()
