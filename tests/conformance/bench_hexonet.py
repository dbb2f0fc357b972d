"""Time the HEXONET Python SDK on the calls `benches/process.rs` times exh-task on.

Input (stdin), written by the bench so both sides ask the same server the same:
    {"url": "http://127.0.0.1:PORT/api/call.cgi", "login", "password",
     "command": {"COMMAND": "QueryDomainList", ...}, "runs": 10,
     "all_pages": false, "records": 20000}
Output (stdout): {"seconds": [<one per run>], "records": <read in the last run>,
                  "baseline": "..."}

A run is what a caller of the SDK does for the answer as a list:
- `all_pages` false: `APIClient.request(command)`, then `getListHash()`;
- `all_pages` true: `requestAllResponsePages(command)` (one request after the
  other, as the SDK pages), then each page's `getListHash()`.
The client is made once, as a warm function would keep it; the SDK opens a
new connection per request (urllib), which is part of what it costs.
"""

import json
import sys
import time
from importlib.metadata import version

from hexonet.apiconnector.apiclient import APIClient


def main():
    case = json.load(sys.stdin)
    client = APIClient()
    client.useOTESystem()
    # After useOTESystem, which sets the real endpoint.
    client.setURL(case["url"])
    client.setCredentials(case["login"], case["password"])
    command = case["command"]

    def run():
        if case.get("all_pages"):
            pages = client.requestAllResponsePages(dict(command))
            return pages[-1], sum(len(page.getListHash()["LIST"]) for page in pages)
        response = client.request(dict(command))
        return response, len(response.getListHash()["LIST"])

    seconds, records = [], 0
    for _ in range(int(case.get("runs", 5))):
        start = time.perf_counter()
        response, records = run()
        seconds.append(time.perf_counter() - start)
        if records != case["records"]:
            sys.exit(
                "the SDK read %d records, not %d: %s %s"
                % (records, case["records"], response.getCode(), response.getDescription())
            )
    call = "requestAllResponsePages" if case.get("all_pages") else "request"
    json.dump(
        {
            "seconds": seconds,
            "records": records,
            "baseline": "hexonet.apiconnector %s %s + getListHash (Python %d.%d)"
            % (version("hexonet.apiconnector"), call, *sys.version_info[:2]),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
