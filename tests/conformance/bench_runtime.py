"""The baseline of `benches/process.rs`: the seed's Python handler as a
Lambda function, spoken to over the Lambda Runtime API like exh-task's
`bootstrap`, so that cold start, warm invocations and memory are measured
the same way for both.

`handler` is the Python task example of Extra Horizon (shared/seeds/002),
unchanged but for the host, which comes from `API_HOST` (the sandbox). The
loop below it is what a Python Lambda runtime does: poll `/next`, call the
handler, post its return value to `/response` (or the exception to
`/error`), over one kept-alive connection, in pure Python (AWS's own
`awslambdaric` does the same through a C++ client).

With `--package-size` it prints instead, as JSON, the bytes of the
packages a deployment of the handler ships (requests-oauthlib and
everything it requires; the interpreter is the Lambda runtime's).
"""

import sys

if "--package-size" in sys.argv:
    import json
    import re
    from importlib.metadata import distribution

    def requirements(name, seen):
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            return
        dist = distribution(name)
        seen[key] = dist
        for requirement in dist.requires or []:
            if "extra ==" in requirement:
                continue
            requirements(re.split(r"[ ;<>=!~\[(]", requirement, 1)[0], seen)

    seen = {}
    requirements("requests-oauthlib", seen)
    size = sum(
        file.locate().stat().st_size
        for dist in seen.values()
        for file in dist.files or []
        if "__pycache__" not in file.parts and file.locate().exists()
    )
    json.dump({"bytes": size, "packages": sorted(seen)}, sys.stdout)
    sys.exit(0)


# ---- the seed's handler -------------------------------------------------

from requests_oauthlib import OAuth1Session
import os


def handler(event, context):
    exhConsumerKey = os.environ['API_OAUTH_CONSUMER_KEY']
    exhConsumerSecret = os.environ['API_OAUTH_CONSUMER_SECRET']
    exhAccessToken = os.environ['API_OAUTH_TOKEN']
    exhTokenSecret = os.environ['API_OAUTH_TOKEN_SECRET']

    oauth = OAuth1Session(client_key=exhConsumerKey,
                          client_secret=exhConsumerSecret,
                          resource_owner_key=exhAccessToken,
                          resource_owner_secret=exhTokenSecret)

    result = oauth.get(os.environ['API_HOST'] + '/users/v1/me')

    print(result.content)


# ---- a minimal Lambda runtime --------------------------------------------

import http.client
import json

PREFIX = "/2018-06-01/runtime/invocation/"


def main():
    runtime = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"])
    while True:
        runtime.request("GET", PREFIX + "next")
        answer = runtime.getresponse()
        event = json.loads(answer.read())
        request_id = answer.getheader("Lambda-Runtime-Aws-Request-Id")
        try:
            body, path = json.dumps(handler(event, None)), "/response"
        except Exception as error:  # reported to Lambda, as the runtime does
            body = json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)})
            path = "/error"
        runtime.request("POST", PREFIX + request_id + path, body.encode(),
                        {"Content-Type": "application/json"})
        runtime.getresponse().read()


if __name__ == "__main__":
    main()
