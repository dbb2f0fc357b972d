"""Ask oauthlib whether requests carry valid OAuth1 HMAC-SHA1 signatures.

An independent second opinion for the sandbox's verifier and for any Rust
client: oauthlib.oauth1.SignatureOnlyEndpoint checks each request against the
credentials below; any nonce and any timestamp are accepted, plain http too.

Credentials: API_OAUTH_CONSUMER_KEY, API_OAUTH_CONSUMER_SECRET, API_OAUTH_TOKEN,
API_OAUTH_TOKEN_SECRET from the environment, defaulting to the sandbox's.

Input (stdin): a JSON list of requests, each
    {"method": "GET",
     "url": "http://127.0.0.1:PORT/users/v1/?select(id)",   scheme, Host header and
                                                             the raw request target
     "headers": {"Authorization": "OAuth ...", "Content-Type": "..."},
     "body": "..."}                                          text; "" when none
Output (stdout): a JSON list, one object per request, in order:
    {"valid": true} or {"valid": false, "error": "why, when oauthlib said"}
"""

import json
import os
import sys

from oauthlib.oauth1 import RequestValidator, SignatureOnlyEndpoint

CONSUMER_KEY = os.environ.get("API_OAUTH_CONSUMER_KEY", "sandbox-consumer-key")
CONSUMER_SECRET = os.environ.get("API_OAUTH_CONSUMER_SECRET", "sandbox-consumer-secret")
TOKEN = os.environ.get("API_OAUTH_TOKEN", "sandbox-token")
TOKEN_SECRET = os.environ.get("API_OAUTH_TOKEN_SECRET", "sandbox-token-secret")
DUMMY = "dummy"


class Validator(RequestValidator):
    """Knows one consumer and one token; accepts any nonce and timestamp."""

    enforce_ssl = False
    timestamp_lifetime = 10**12
    dummy_client = DUMMY
    dummy_access_token = DUMMY

    def check_client_key(self, client_key):
        return True

    def check_access_token(self, request_token):
        return True

    def check_nonce(self, nonce):
        return True

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, **kwargs):
        return True

    def validate_client_key(self, client_key, request):
        return client_key == CONSUMER_KEY

    def get_client_secret(self, client_key, request):
        return CONSUMER_SECRET if client_key == CONSUMER_KEY else DUMMY

    def get_access_token_secret(self, client_key, token, request):
        return TOKEN_SECRET if (client_key, token) == (CONSUMER_KEY, TOKEN) else DUMMY


def verify(endpoint, request):
    try:
        valid, _ = endpoint.validate_request(
            request["url"], request["method"], request.get("body") or "", request.get("headers") or {}
        )
    except Exception as error:  # oauthlib raises ValueError on some garbled input
        return {"valid": False, "error": f"{type(error).__name__}: {error}"}
    return {"valid": bool(valid)}


def main():
    endpoint = SignatureOnlyEndpoint(Validator())
    json.dump([verify(endpoint, request) for request in json.load(sys.stdin)], sys.stdout)


if __name__ == "__main__":
    main()
