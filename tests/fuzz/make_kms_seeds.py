#!/usr/bin/env python3
"""Writes the seed corpora of keys_kms_cms and keys_kms_response with the system openssl.

CMS seeds: EnvelopedData as KMS sends CiphertextForRecipient (RSAES-OAEP-SHA-256, AES-256-CBC),
in DER and in indefinite-length BER, plus one refused variant per algorithm rule. Response
seeds: KMS JSON bodies for each operation and an error body.
"""
import os
import pathlib
import subprocess
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
OAEP = ["-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256",
        "-keyopt", "rsa_mgf1_md:sha256"]
CMS_CASES = {
    "oaep_sha256_aes256.der": OAEP + ["-aes256"],
    "oaep_sha256_aes256_stream.ber": OAEP + ["-aes256", "-stream"],
    "oaep_sha256_keyid.der": OAEP + ["-aes256", "-keyid"],
    "pkcs1v15.der": ["-aes256"],
    "oaep_sha1.der": ["-keyopt", "rsa_padding_mode:oaep", "-aes256"],
    "aes128.der": OAEP + ["-aes128"],
}
RESPONSES = {
    "generate_data_key.json": b'{"CiphertextBlob":"AQIDBA==","KeyId":"arn:aws:kms:us-east-1:'
                              b'111122223333:key/k","Plaintext":"AAECAwQFBgcICQoLDA0ODxAREhMU'
                              b'FRYXGBkaGxwdHh8="}',
    "decrypt.json": b'{"KeyId":"k","Plaintext":"aGk=","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}',
    "decrypt_recipient.json": b'{"KeyId":"k","CiphertextForRecipient":"MIAGCSqGSIb3DQEHA6CA"}',
    "encrypt.json": b'{"CiphertextBlob":"AQIDBA==","KeyId":"k"}',
    "create_key.json": b'{"KeyMetadata":{"KeyId":"k","Arn":"arn:aws:kms:us-east-1:1:key/k"}}',
    "error.json": b'{"__type":"NotFoundException","message":"Key does not exist"}',
}


def main() -> None:
    cms_dir = HERE / "corpus" / "keys_kms_cms"
    cms_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        key, cert, plain = (os.path.join(tmp, n) for n in ("k.pem", "c.pem", "p.bin"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", cert, "-subj", "/CN=seed", "-days", "1"],
                       check=True, capture_output=True)
        pathlib.Path(plain).write_bytes(bytes(range(32)))
        for name, options in CMS_CASES.items():
            subprocess.run(["openssl", "cms", "-encrypt", "-binary", "-in", plain, "-outform",
                            "DER", "-out", str(cms_dir / name), "-recip", cert] + options,
                           check=True, capture_output=True)
    json_dir = HERE / "corpus" / "keys_kms_response"
    json_dir.mkdir(parents=True, exist_ok=True)
    for name, body in RESPONSES.items():
        (json_dir / name).write_bytes(body)


if __name__ == "__main__":
    main()
