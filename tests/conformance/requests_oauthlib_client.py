"""Call the sandbox the way the documented Python task does: requests_oauthlib.

Credentials and host come from the environment, exactly as in the Extra Horizon
Python example: API_HOST, API_OAUTH_CONSUMER_KEY, API_OAUTH_CONSUMER_SECRET,
API_OAUTH_TOKEN, API_OAUTH_TOKEN_SECRET.

Input (stdin): a JSON list of cases, each
    {"name": "...", "method": "GET", "path": "/users/v1/?select(id)",
     "base": "http://localhost:PORT",        optional, instead of API_HOST
     "params": [["key", "value"], ...],      optional, encoded by requests
     "json": <any>,                          optional, a JSON body
     "data": [["key", "value"], ...],        optional, a form body (signed)
     "session": {"client_secret": "..."},    optional, OAuth1Session overrides
     "send_twice": true}                     optional, replay the same signed request
A path may contain "{last_id}": the "id" of the last JSON object answered.

Output (stdout): a JSON list, one object per case, in order:
    {"name": "...", "status": 200, "body": <JSON or text>, "first_status": <int, with send_twice>}
"""

import json
import os
import sys

import requests
from requests_oauthlib import OAuth1Session


def session(overrides):
    arguments = dict(
        client_key=os.environ["API_OAUTH_CONSUMER_KEY"],
        client_secret=os.environ["API_OAUTH_CONSUMER_SECRET"],
        resource_owner_key=os.environ["API_OAUTH_TOKEN"],
        resource_owner_secret=os.environ["API_OAUTH_TOKEN_SECRET"],
    )
    arguments.update(overrides or {})
    return OAuth1Session(**arguments)


def body_of(response):
    try:
        return response.json()
    except ValueError:
        return response.text


def run(case, last_id):
    oauth = session(case.get("session"))
    url = case.get("base", os.environ["API_HOST"]) + case["path"].replace("{last_id}", last_id or "")
    request = requests.Request(
        case.get("method", "GET"),
        url,
        params=case.get("params"),
        json=case.get("json"),
        data=case.get("data"),
    )
    prepared = oauth.prepare_request(request)
    result = {"name": case["name"]}
    if case.get("send_twice"):
        result["first_status"] = oauth.send(prepared, timeout=10).status_code
    response = oauth.send(prepared, timeout=10)
    result.update(status=response.status_code, body=body_of(response))
    return result


def main():
    results, last_id = [], None
    for case in json.load(sys.stdin):
        result = run(case, last_id)
        if isinstance(result["body"], dict) and isinstance(result["body"].get("id"), str):
            last_id = result["body"]["id"]
        results.append(result)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
