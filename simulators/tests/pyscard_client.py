#!/usr/bin/env python3
"""Raw-APDU client for interop_pyscard.rs: an independent PC/SC client (pyscard).

Usage: pyscard_client.py READER STEP...
  STEP is LABEL=HEXAPDU (transmit the APDU) or "reset" (warm reset: SCardReconnect with
  SCARD_RESET_CARD, so the card drops its volatile state).

Prints one JSON object per line, flushed:
  {"readers": [...]}                                                  first
  {"step": LABEL, "command": HEX, "data": HEX, "sw": "9000"}          per APDU
  {"step": "reset"}                                                   per reset
  {"end": true}                                                       last
Expectations live in the Rust test; this script only reports what the card answered.
"""

import json
import sys

from smartcard.scard import SCARD_RESET_CARD
from smartcard.System import readers


def say(obj):
    print(json.dumps(obj), flush=True)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    wanted, steps = argv[1], argv[2:]
    found = readers()
    say({"readers": [str(r) for r in found]})
    reader = next((r for r in found if str(r) == wanted), None)
    if reader is None:
        print(f"reader {wanted!r} not found among {[str(r) for r in found]}", file=sys.stderr)
        return 1
    connection = reader.createConnection()
    connection.connect()
    try:
        for step in steps:
            if step == "reset":
                connection.reconnect(disposition=SCARD_RESET_CARD)
                say({"step": "reset"})
                continue
            label, _, apdu_hex = step.partition("=")
            apdu = list(bytes.fromhex(apdu_hex))
            data, sw1, sw2 = connection.transmit(apdu)
            say(
                {
                    "step": label,
                    "command": bytes(apdu).hex().upper(),
                    "data": bytes(data).hex().upper(),
                    "sw": f"{sw1:02X}{sw2:02X}",
                }
            )
    finally:
        connection.disconnect()
    say({"end": True})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
