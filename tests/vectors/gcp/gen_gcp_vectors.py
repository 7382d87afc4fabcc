#!/usr/bin/env python3
"""Generates the local GCP Confidential Space test vectors in this folder.

Independent of the C++ code under test (Python `cryptography` signs and builds certificates):
  oidc_key.pkcs8.hex   RSA-2048 TEST private key (PKCS#8 DER, hex) that C++ tests sign with
  jwks.json            JWKS: the test key (kid "eml-test-key-1"), a second RSA key
                       ("eml-test-key-2"), an EC key and an RSA encryption key (both skipped)
  oidc_valid.jwt       OIDC-type token signed by eml-test-key-1 (RS256, no x5c)
  oidc_wrong_key.jwt   the same claims, header kid eml-test-key-1, signed by eml-test-key-2
  forged_root.pem      an attacker's self-made "Confidential Space Root CA" (RSA-2048)
  pki_forged_with_root.jwt  PKI-type token: x5c [leaf, intermediate, forged root], all made by
                            the attacker, signature valid under the attacker's leaf
  pki_forged_no_root.jwt    the same without the root copy in x5c
Claims copy the shape of a real production token (vectors/gcp/oak/ctf_sha2-sample.jwt) at
iat 1760000000 (2025-10-09T08:53:20Z), exp +1 h, aud https://relying-party.example.
Keys are random: rerunning changes every file (tests read the files, not fixed bytes).
Run: /usr/bin/python3 tests/vectors/gcp/gen_gcp_vectors.py
"""
import base64
import datetime
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
IAT = 1760000000


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint_bytes(value):
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def rsa_jwk(key, kid):
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
            "n": b64url(uint_bytes(numbers.n)), "e": b64url(uint_bytes(numbers.e))}


def claims():
    return {
        "aud": "https://relying-party.example",
        "exp": IAT + 3600, "iat": IAT, "nbf": IAT,
        "iss": "https://confidentialcomputing.googleapis.com",
        "sub": "https://www.googleapis.com/compute/v1/projects/p/zones/z/instances/i",
        "eat_nonce": ["00112233445566778899aabbccddeeff", "second-nonce-value"],
        "eat_profile": "https://cloud.google.com/confidential-computing/confidential-space/docs/"
                       "reference/token-claims",
        "secboot": True, "oemid": 11129, "hwmodel": "GCP_INTEL_TDX",
        "swname": "CONFIDENTIAL_SPACE", "swversion": ["250800"],
        "attester_tcb": ["INTEL"], "dbgstat": "disabled-since-boot",
        "submods": {"container": {
            "image_reference": "europe-docker.pkg.dev/p/r/app@sha256:" + "ab" * 32,
            "image_digest": "sha256:" + "ab" * 32, "restart_policy": "Never"}},
        "tdx": {"gcp_attester_tcb_status": "UpToDate"},
    }


def sign(header, payload, key):
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    p = b64url(json.dumps(payload, separators=(",", ":")).encode())
    signing_input = (h + "." + p).encode()
    sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return h + "." + p + "." + b64url(sig)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Google LLC"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def cert(subject_key, subject_cn, issuer_key, issuer_cn, is_ca, issuer_pub=None):
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(name(subject_cn)).issuer_name(name(issuer_cn))
               .public_key(subject_key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()),
                              critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   (issuer_pub or issuer_key.public_key())), critical=False))
    if is_ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def der_b64(c):
    return base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()


def write(name_, text):
    with open(os.path.join(HERE, name_), "w") as f:
        f.write(text)


def main():
    key1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs8 = key1.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())
    write("oidc_key.pkcs8.hex", pkcs8.hex() + "\n")
    ec_pub = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    enc_key = rsa_jwk(key2, "eml-test-encryption-key")
    enc_key["use"] = "enc"
    jwks = {"keys": [
        rsa_jwk(key1, "eml-test-key-1"), rsa_jwk(key2, "eml-test-key-2"),
        {"kty": "EC", "crv": "P-256", "kid": "eml-test-ec", "use": "sig", "alg": "ES256",
         "x": b64url(ec_pub.x.to_bytes(32, "big")), "y": b64url(ec_pub.y.to_bytes(32, "big"))},
        enc_key]}
    write("jwks.json", json.dumps(jwks, indent=1) + "\n")
    header = {"alg": "RS256", "kid": "eml-test-key-1", "typ": "JWT"}
    write("oidc_valid.jwt", sign(header, claims(), key1))
    write("oidc_wrong_key.jwt", sign(header, claims(), key2))

    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    inter_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = cert(root_key, "Confidential Space Root CA", root_key, "Confidential Space Root CA",
                True)
    inter = cert(inter_key, "Confidential Space Intermediate CA", root_key,
                 "Confidential Space Root CA", True)
    leaf = cert(leaf_key, "Confidential Space Leaf Certificate", inter_key,
                "Confidential Space Intermediate CA", False)
    write("forged_root.pem", root.public_bytes(serialization.Encoding.PEM).decode())
    chain = [der_b64(leaf), der_b64(inter), der_b64(root)]
    write("pki_forged_with_root.jwt",
          sign({"alg": "RS256", "kid": "forged", "typ": "JWT", "x5c": chain}, claims(), leaf_key))
    write("pki_forged_no_root.jwt",
          sign({"alg": "RS256", "kid": "forged", "typ": "JWT", "x5c": chain[:2]}, claims(),
               leaf_key))


if __name__ == "__main__":
    main()
