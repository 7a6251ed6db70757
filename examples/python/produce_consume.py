#!/usr/bin/env python3
"""Weir from Python with the standard library only: create a topic and a subscription,
produce a few messages, then receive and acknowledge them.

    WEIR_URL=http://127.0.0.1:8787 WEIR_TOKEN=weir-local-admin-token python3 produce_consume.py

Any HTTP client works the same way: the API is JSON over HTTP (docs/api.md).
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

URL = os.environ.get("WEIR_URL", "http://127.0.0.1:8787").rstrip("/")
TOKEN = os.environ.get("WEIR_TOKEN", "weir-local-admin-token")


class WeirError(Exception):
    def __init__(self, status, code, message, retry_after=None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.retry_after = status, code, retry_after


def call(method, path, body=None):
    """One request; the parsed JSON answer, or WeirError with the server's error code."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(URL + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {TOKEN}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=90) as response:
            text = response.read().decode()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        error = json.loads(e.read().decode() or "{}").get("error", {})
        raise WeirError(e.code, error.get("code"), error.get("message"), e.headers.get("Retry-After")) from None


def main():
    topic = os.environ.get("WEIR_TOPIC", f"python-example-{int(time.time())}")
    call("PUT", f"/v1/topics/{topic}", {"partitions": 2})
    call("PUT", f"/v1/topics/{topic}/subscriptions/workers", {"start_position": "earliest"})

    orders = [{"id": f"order-{n}", "key": f"customer-{n % 2}", "body": {"order": n, "total": 10 * n}} for n in range(1, 4)]
    results = call("POST", f"/v1/topics/{topic}/messages", {"messages": orders})["results"]
    for r in results:
        print(f"produced {r['id']} to partition {r['partition']} at offset {r['offset']}")

    done, receipts = 0, []
    while done < len(orders):
        # A long poll that also acknowledges the previous batch.
        answer = call(
            "POST",
            f"/v1/topics/{topic}/subscriptions/workers/receive",
            {"max_messages": 10, "wait_seconds": 5, "ack": receipts},
        )
        receipts = []
        if not answer["messages"]:
            raise SystemExit("no messages came within 5 seconds")
        for message in answer["messages"]:
            print(f"received {message['id']} (attempt {message['attempt']}): {json.dumps(message['body'])}")
            receipts.append(message["receipt"])
            done += 1
    acked = call("POST", f"/v1/topics/{topic}/subscriptions/workers/ack", {"receipts": receipts})["results"]
    if not all(r["ok"] for r in acked):
        raise SystemExit(f"ack refused: {acked}")

    stats = call("GET", f"/v1/topics/{topic}/stats")["subscriptions"][0]
    print(f"done: {done} messages, {stats['ready']} ready, {stats['in_flight']} in flight")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except WeirError as e:
        print(f"weir: {e}", file=sys.stderr)
        sys.exit(1)
