"""Time the Python reference implementations of exh-task's codecs.

The baseline half of `benches/codecs.rs` (run by `make bench`): the same
inputs, measured in the same run, with `timeit`.

Input (stdin), written by the bench so both sides work on identical data:
    {"budget_s": 1.0,
     "oauth1_sign": {"method": "GET", "url": "https://.../users/v1/?select(id,email)",
                "consumer_key", "consumer_secret", "token", "token_secret"},
     "hexonet_encode": {"command": {...}, "login", "password",
                        "expected": "<exh-task's POST body>"},
     "hexonet_parse_1k": {"text": "[RESPONSE]...", "records": 1000,
                          "command": {...}, "url": "https://..."},
     "hexonet_parse_20k": {...}, "hexonet_parse_100k": {...}}
Output (stdout): {name: {"ns": <median ns per operation>, "baseline": "..."}}

Each operation is what the reference does per request:
- oauth1_sign: `oauthlib.oauth1.Client.sign` (nonce, timestamp, base string,
  HMAC-SHA1, header), the signer `requests_oauthlib.OAuth1Session` uses.
- hexonet_encode: `APIClient.request` up to the network: flatten the command,
  the IDN check, `getPOSTData(cmd)` and `getPOSTData(cmd, True)`. The body is
  checked against exh-task's, byte for byte, before it is timed.
- hexonet_parse_*: `Response(text, cmd, cfg)` and `getListHash()`: the hash
  and the list view, as a caller reads a list.
"""

import json
import statistics
import sys
import timeit

import oauthlib
import oauthlib.oauth1
from importlib.metadata import version
from hexonet.apiconnector.apiclient import APIClient
from hexonet.apiconnector.response import Response

REPEATS = 5


def ns_per_op(fn, budget_s):
    """Median over REPEATS runs of a loop sized to take budget_s / REPEATS."""
    timer = timeit.Timer(fn)
    number, elapsed = timer.autorange()
    per_run = budget_s / REPEATS
    number = max(1, int(number * per_run / max(elapsed, 1e-9)))
    runs = timer.repeat(repeat=REPEATS, number=number)
    return statistics.median(runs) / number * 1e9


def oauth1_sign(case):
    client = oauthlib.oauth1.Client(
        case["consumer_key"],
        client_secret=case["consumer_secret"],
        resource_owner_key=case["token"],
        resource_owner_secret=case["token_secret"],
    )
    method, url = case["method"], case["url"]
    _, headers, _ = client.sign(url, http_method=method)
    assert headers["Authorization"].startswith("OAuth ")
    return lambda: client.sign(url, http_method=method)


def hexonet_encode(case):
    client = APIClient()
    client.useOTESystem()
    client.setCredentials(case["login"], case["password"])
    flatten = client._APIClient__flattenCommand
    idn = client._APIClient__autoIDNConvert
    command = case["command"]

    def encode():
        cmd = idn(flatten(command))
        return client.getPOSTData(cmd), client.getPOSTData(cmd, True)

    body, _ = encode()
    if body != case["expected"]:
        sys.exit("the SDK's POST body differs from exh-task's:\n%s\n%s" % (body, case["expected"]))
    return encode


def hexonet_parse(case):
    text, command, cfg = case["text"], case["command"], {"CONNECTION_URL": case["url"]}

    def parse():
        return Response(text, dict(command), cfg).getListHash()

    listed = parse()
    if len(listed["LIST"]) != case["records"]:
        sys.exit("the SDK read %d records, not %d" % (len(listed["LIST"]), case["records"]))
    return parse


def main():
    cases = json.load(sys.stdin)
    budget = float(cases.get("budget_s", 1.0))
    python = "Python %d.%d" % sys.version_info[:2]
    baselines = {
        "oauth1_sign": (oauth1_sign, "oauthlib %s Client.sign (%s)" % (oauthlib.__version__, python)),
        "hexonet_encode": (
            hexonet_encode,
            "hexonet.apiconnector %s getPOSTData (%s)" % (version("hexonet.apiconnector"), python),
        ),
    }
    for name in cases:
        if name.startswith("hexonet_parse"):
            baselines[name] = (
                hexonet_parse,
                "hexonet.apiconnector %s Response + getListHash (%s)"
                % (version("hexonet.apiconnector"), python),
            )
    out = {}
    for name, (prepare, baseline) in baselines.items():
        if name in cases:
            out[name] = {"ns": ns_per_op(prepare(cases[name]), budget), "baseline": baseline}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
