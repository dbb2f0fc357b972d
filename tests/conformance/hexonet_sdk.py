"""Answer a batch of call.cgi conformance cases with a real Python SDK.

Reads one JSON document on stdin:
    {"backend": "hexonet" | "centralnic",
     "commands": [{"command": {...}, "config": {...}}, ...],
     "responses": [{"text": "...", "bytes": false, "url": null}, ...]}
and writes one JSON document on stdout with, per case, what the backend's
SDK (hexonet.apiconnector or centralnicreseller.apiconnector) does: the
POST body and its masked twin for each command, the hash and list view for
each response, and its templates.

HEXONET: `ConvertIDN` is answered locally with the `idna` package (UTS 46),
so the SDK's own `__autoIDNConvert` decides what to convert. CentralNic
Reseller converts IDNs itself, locally. A config with "persistent" sends the
CentralNic session login (`setPersistent`, then a request without command).
Booleans are sent as 1/0 (exh-task's contract; the SDKs would send
"True"/"False").
"""

import importlib
import json
import sys
import warnings
from urllib.parse import unquote

import idna

# idna 3.20 warns that CentralNic's "transitional" processing is ignored.
warnings.simplefilter("ignore", DeprecationWarning)

PACKAGES = {"hexonet": "hexonet.apiconnector", "centralnic": "centralnicreseller.apiconnector"}


def sdk(backend, module):
    return importlib.import_module("%s.%s" % (PACKAGES[backend], module))


def plain(code, description, lines=()):
    body = "".join("\r\n" + line for line in lines)
    return "[RESPONSE]\r\nCODE=%s\r\nDESCRIPTION=%s%s\r\nEOF\r\n" % (code, description, body)


class FakeHTTP:
    """Stands in for urlopen: records every body, answers ConvertIDN."""

    def __init__(self):
        self.bodies = []
        self.idn_failed = False

    def __call__(self, req, timeout=None):
        data = req.data.decode("utf-8")
        self.bodies.append(data)
        if "s_command=" not in data:
            return Answer(plain(200, "ok").encode("utf-8"))
        lines = unquote(data.split("s_command=", 1)[1]).split("\n")
        params = dict(line.split("=", 1) for line in lines)
        domains = sorted(k for k in params if k.startswith("DOMAIN"))
        text = plain(200, "ok")
        if params.get("COMMAND") == "ConvertIDN":
            try:
                aces = [idna.encode(params["DOMAIN%d" % i], uts46=True).decode("ascii")
                        for i in range(len(domains))]
                text = plain(200, "ok", ["PROPERTY[ACE][%d]=%s" % (i, a) for i, a in enumerate(aces)])
            except idna.IDNAError:
                self.idn_failed = True
                text = plain(505, "Invalid attribute value syntax")
        return Answer(text.encode("utf-8"))


class Answer:
    def __init__(self, body):
        self.body = body

    def read(self):
        return self.body


class Capture:
    """A custom logger keeping the masked POST body of the last call."""

    def __init__(self):
        self.posts = []

    def log(self, post, r, error):
        self.posts.append(post.decode("utf-8"))


def as_contract(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list):
        return [as_contract(v) for v in value]
    return value


def client(backend, config):
    cl = sdk(backend, "apiclient").APIClient()
    if config.get("ote"):
        cl.useOTESystem()
    if config.get("login"):
        cl.setRoleCredentials(config["login"], config.get("role", ""), config.get("password", ""))
    if config.get("otp"):
        cl.setOTP(config["otp"])
    if config.get("session"):
        if backend == "centralnic":  # its only way in: a saved session of a login
            cl.reuseSession({"socketcfg": {"login": config["login"], "session": config["session"]}})
        else:
            cl.setSession(config["session"])
    if config.get("remoteaddr"):
        cl.setRemoteIPAddress(config["remoteaddr"])
    if config.get("user"):
        cl.setUserView(config["user"])
    return cl


def command_case(backend, case):
    fake = FakeHTTP()
    sdk(backend, "apiclient").urlopen = fake
    cl = client(backend, case["config"])
    capture = Capture()
    cl.enableDebugMode().setCustomLogger(capture)
    cmd = {k: as_contract(v) for k, v in case["command"].items()}
    try:
        if case["config"].get("persistent"):
            cl.setPersistent()
            r = cl.request([], False)
        else:
            r = cl.request(cmd)
    except Exception as e:  # the SDK raised: nothing to compare
        return {"error": repr(e)}
    return {
        "body": fake.bodies[-1],
        "masked": capture.posts[-1],
        # Only the SDK's own ConvertIDN call (made before the command) counts.
        "idn_failed": len(fake.bodies) > 1 and fake.idn_failed,
    }


def field(f):
    try:
        return f()
    except Exception as e:
        return {"error": repr(e)}


def response_case(backend, case):
    raw = case["text"].encode("utf-8") if case.get("bytes") else case["text"]
    cfg = {"CONNECTION_URL": case["url"]} if case.get("url") else {}
    try:
        r = sdk(backend, "response").Response(raw, None, cfg)
    except Exception as e:
        return {"error": repr(e)}
    h = r.getHash()
    props = h.get("PROPERTY", {})
    if not isinstance(props, dict):
        return {"error": "PROPERTY is not a hash"}
    pg = field(r.getPagination)
    return {
        "plain": r.getPlain(),
        "code": field(r.getCode),
        "description": r.getDescription(),
        "runtime": field(r.getRuntime),
        "queuetime": field(r.getQueuetime),
        "success": field(r.isSuccess),
        "attributes": [[k, v] for k, v in h.items() if k != "PROPERTY"],
        "properties": [[k, v] for k, v in props.items()],
        "columns": r.getColumnKeys(),
        "records": [[[k, v] for k, v in rec.getData().items()] for rec in r.getRecords()],
        "pagination": pg if "error" in pg else {
            "first": pg["FIRST"], "last": pg["LAST"], "count": pg["COUNT"],
            "limit": pg["LIMIT"], "total": pg["TOTAL"], "pages": pg["PAGES"],
            "page": pg["CURRENTPAGE"],
        },
    }


def main():
    doc = json.load(sys.stdin)
    backend = doc["backend"]
    rtm = sdk(backend, "responsetemplatemanager").ResponseTemplateManager()
    templates = {k: [t.getCode(), t.getDescription()] for k, t in rtm.getTemplates().items()}
    missing = rtm.getTemplate("no such template")
    templates["notfound"] = [missing.getCode(), missing.getDescription()]
    out = {
        "commands": [command_case(backend, c) for c in doc["commands"]],
        "responses": [response_case(backend, c) for c in doc["responses"]],
        "templates": templates,
    }
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
