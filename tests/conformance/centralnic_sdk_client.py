"""Drive the sandbox's CentralNic Reseller dialect with the real Python SDK
(centralnicreseller.apiconnector), unchanged.

Reads {"url", "login", "password", "role", "role_password", "subuser"} as
JSON on stdin; writes what the SDK saw, per scenario, as JSON on stdout.
tests/sandbox_hexonet.rs asserts on it.
"""

import json
import sys

from centralnicreseller.apiconnector.apiclient import APIClient


def client(cfg):
    cl = APIClient()
    cl.useOTESystem()
    cl.setURL(cfg["url"])
    return cl


def outcome(r):
    if r is None:
        return None
    return {
        "code": r.getCode(),
        "description": r.getDescription(),
        "pagination": r.getPagination(),
        "hash": r.getHash().get("PROPERTY", {}),
    }


def main():
    cfg = json.load(sys.stdin)
    out = {}
    cl = client(cfg).setCredentials(cfg["login"], cfg["password"])
    out["status_account"] = outcome(cl.request({"COMMAND": "StatusAccount"}))
    out["check_idn"] = outcome(cl.request({"COMMAND": "CheckDomain", "DOMAIN": "grün-river-4.de"}))
    first = cl.request({"COMMAND": "QueryDomainList", "LIMIT": 1000})
    out["list_first"] = outcome(first)
    out["list_second"] = outcome(cl.requestNextResponsePage(first))
    out["list_pages"] = len(cl.requestAllResponsePages({"COMMAND": "QueryDomainList", "LIMIT": 1000}))
    out["wrong_password"] = outcome(
        client(cfg).setCredentials(cfg["login"], "nope").request({"COMMAND": "StatusAccount"}))

    role = client(cfg).setRoleCredentials(cfg["login"], cfg["role"], cfg["role_password"])
    out["role_status"] = outcome(role.request({"COMMAND": "StatusAccount"}))
    out["role_add"] = outcome(role.request({"COMMAND": "AddDomain", "DOMAIN": "cnr-role.com"}))

    view = client(cfg).setCredentials(cfg["login"], cfg["password"])
    view.setUserView(cfg["subuser"])
    out["subuser_list"] = outcome(view.request({"COMMAND": "QueryDomainList", "LIMIT": 10}))

    sess = client(cfg).setCredentials(cfg["login"], cfg["password"])
    out["login"] = outcome(sess.login())
    saved = {}
    sess.saveSession(saved)
    out["session_length"] = len(saved.get("socketcfg", {}).get("session") or "")
    out["session_request"] = outcome(sess.request({"COMMAND": "StatusAccount"}))
    out["logout"] = outcome(sess.logout())
    # A second client on the saved (now ended) session: s_login + s_sessionid.
    reuse = client(cfg)
    reuse.reuseSession(saved)
    out["ended_session"] = outcome(reuse.request({"COMMAND": "StatusAccount"}))

    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
