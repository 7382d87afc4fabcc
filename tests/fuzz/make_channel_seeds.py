#!/usr/bin/python3
"""Seed corpora for the channel_frame and channel_hello fuzz targets, cut from the channel
known-answer vectors (tests/vectors/channel/kat.json). Run from anywhere; rewrites
corpus/channel_frame/ and corpus/channel_hello/ beside this script."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
KAT = os.path.join(HERE, "..", "vectors", "channel", "kat.json")


def write(folder, name, data):
    path = os.path.join(HERE, "corpus", folder)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


def main():
    kat = json.load(open(KAT))
    hs = kat["handshake"]
    frames = {"initiator_hello": hs["initiator_hello_frame"],
              "responder_hello": hs["responder_hello_frame"],
              "confirmation": hs["confirmation_frame"]}
    for i, rec in enumerate(kat["records"]):
        frames["record_%d_%s" % (i, rec["direction"])] = rec["frame"]
    for name, hx in frames.items():
        frame = bytes.fromhex(hx)
        write("channel_frame", name, frame)
        write("channel_hello", name + "_payload", frame[13:])
    for case in kat["frame_headers"]:
        header = bytes.fromhex(case["encoded"])
        if case["payload_len"] < 64:
            write("channel_frame", "header_%d" % case["msg_type"],
                  header + bytes(case["payload_len"]))
    write("channel_frame", "empty_data", struct.pack(">HBBBII", 0xCF4D, 4, 2, 1, 0, 0))
    write("channel_hello", "initiator_doc", bytes.fromhex(hs["initiator_doc"]))
    write("channel_hello", "responder_doc", bytes.fromhex(hs["responder_doc"]))
    write("channel_hello", "empty_mock_doc", b"MOCK_ATT_V1\x00" + bytes(12))


if __name__ == "__main__":
    main()
