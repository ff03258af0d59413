"""A real SMTP server for the benchmarks: accepts every message and records when it arrived.

Run as ``python -m benchmarks.smtp_sink --port PORT --out FILE``. Each message appends one line
``<epoch seconds>\\t<Message-ID>`` to FILE as soon as its DATA is complete (a duplicate is a
second line), and the process prints ``ready`` once it is listening. It runs in a process of
its own so that receiving mail never competes for the benchmark's interpreter lock.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
import time

from aiosmtpd.controller import Controller

MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)


class RecordingHandler:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        arrived = time.time()
        content = envelope.original_content or envelope.content
        headers = content.split(b"\r\n\r\n", 1)[0]
        match = MESSAGE_ID.search(headers)
        message_id = match.group(1).decode("ascii", "replace") if match else "-"
        self.out.write(f"{arrived:.6f}\t{message_id}\n")
        self.out.flush()
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with open(args.out, "a", encoding="ascii") as out:
        # A fixed server name: otherwise aiosmtpd looks up the host's FQDN for every greeting.
        controller = Controller(RecordingHandler(out), hostname=args.host, port=args.port,
                                server_hostname="sink.benchmark.invalid")
        controller.start()
        print("ready", flush=True)
        try:
            stop.wait()
        finally:
            controller.stop()


if __name__ == "__main__":
    sys.exit(main())
