"""Drive the sandbox's HEXONET emulation with the real Python SDK, unchanged.

Reads one JSON document on stdin:
    {"url": "http://127.0.0.1:PORT/api/call.cgi", "login", "password",
     "role", "role_password", "subuser"}
and writes one JSON document on stdout: per scenario, what the SDK
(hexonet.apiconnector) reports: codes, descriptions, record counts and
paging figures. tests/sandbox_hexonet.rs asserts on it.
"""

import json
import sys

from hexonet.apiconnector.apiclient import APIClient


def client(cfg, login=None, password=None, live=False):
    cl = APIClient()
    if live:
        cl.useLIVESystem()
    else:
        cl.useOTESystem()
    # After use*System, which sets the real endpoints.
    cl.setURL(cfg["url"])
    cl.setCredentials(login or cfg["login"], password or cfg["password"])
    return cl


def outcome(r):
    """What the SDK says about one response."""
    if r is None:
        return None
    return {
        "code": r.getCode(),
        "description": r.getDescription(),
        "success": r.isSuccess(),
        "records": r.getRecordsCount(),
        "pagination": r.getPagination(),
        "columns": r.getColumnKeys(),
        "hash": r.getHash().get("PROPERTY", {}),
    }


def main():
    cfg = json.load(sys.stdin)
    out = {}
    cl = client(cfg)

    out["status_account"] = outcome(cl.request({"COMMAND": "StatusAccount"}))
    out["check_free"] = outcome(cl.request({"COMMAND": "CheckDomain", "DOMAIN": "sdk-free-name.com"}))
    out["check_taken"] = outcome(cl.request({"COMMAND": "CheckDomain", "DOMAIN": "blue-river-0.com"}))
    # The SDK converts the IDN itself, with a ConvertIDN call to the sandbox.
    out["check_idn"] = outcome(cl.request({"COMMAND": "CheckDomain", "DOMAIN": "grün-river-4.de"}))
    out["check_domains"] = outcome(cl.request(
        {"COMMAND": "CheckDomains", "DOMAIN": ["sdk-free-name.com", "blue-river-0.com", "bad_name.com"]}))
    out["check_missing"] = outcome(cl.request({"COMMAND": "CheckDomain"}))
    out["convert_idn"] = outcome(cl.request({"COMMAND": "ConvertIDN", "DOMAIN": ["münchen.de", "a.com"]}))
    out["unknown_command"] = outcome(cl.request({"COMMAND": "MakeCoffee"}))

    first = cl.request({"COMMAND": "QueryDomainList", "LIMIT": 1000})
    out["list_first"] = outcome(first)
    second = cl.requestNextResponsePage(first)
    out["list_second"] = outcome(second)
    out["list_third"] = outcome(cl.requestNextResponsePage(second))
    pages = cl.requestAllResponsePages({"COMMAND": "QueryDomainList", "LIMIT": 1000})
    domains = [d for page in pages for d in (page.getColumn("DOMAIN").getData() if page.getColumn("DOMAIN") else [])]
    out["list_all"] = {
        "pages": len(pages),
        "codes": [page.getCode() for page in pages],
        "domains": len(domains),
        "unique": len(set(domains)),
        "last_has_next": pages[-1].hasNextPage(),
    }
    out["list_wide"] = outcome(cl.request(
        {"COMMAND": "QueryDomainList", "WIDE": 1, "LIMIT": 3, "ORDERBY": "CREATEDDATEDESC", "DOMAIN": "*river*"}))
    out["list_bad_order"] = outcome(cl.request({"COMMAND": "QueryDomainList", "ORDERBY": "PRICE"}))

    out["add"] = outcome(cl.request(
        {"COMMAND": "AddDomain", "DOMAIN": "sdk-made.com", "PERIOD": "2Y", "NAMESERVER": ["ns1.example.net", "ns2.example.net"]}))
    out["add_again"] = outcome(cl.request({"COMMAND": "AddDomain", "DOMAIN": "sdk-made.com"}))
    out["status_domain"] = outcome(cl.request({"COMMAND": "StatusDomain", "DOMAIN": "sdk-made.com"}))
    out["delete"] = outcome(cl.request({"COMMAND": "DeleteDomain", "DOMAIN": "sdk-made.com"}))
    out["status_deleted"] = outcome(cl.request({"COMMAND": "StatusDomain", "DOMAIN": "sdk-made.com"}))

    out["wrong_password"] = outcome(client(cfg, password="not-the-password").request({"COMMAND": "StatusAccount"}))
    out["live_entity"] = outcome(client(cfg, live=True).request({"COMMAND": "StatusAccount"}))

    role = APIClient()
    role.useOTESystem()
    role.setURL(cfg["url"])
    role.setRoleCredentials(cfg["login"], cfg["role"], cfg["role_password"])
    out["role_status"] = outcome(role.request({"COMMAND": "StatusAccount"}))
    out["role_add"] = outcome(role.request({"COMMAND": "AddDomain", "DOMAIN": "sdk-role.com"}))

    view = client(cfg)
    view.setUserView(cfg["subuser"])
    out["subuser_list"] = outcome(view.request({"COMMAND": "QueryDomainList", "LIMIT": 50}))
    out["subuser_all"] = len(view.requestAllResponsePages({"COMMAND": "QueryDomainList", "LIMIT": 50}))
    view.setUserView("nobody-here")
    out["unknown_subuser"] = outcome(view.request({"COMMAND": "StatusAccount"}))
    view.resetUserView()
    out["view_reset"] = outcome(view.request({"COMMAND": "QueryDomainList", "LIMIT": 1}))

    sess = client(cfg)
    out["login"] = outcome(sess.login())
    session = sess.getSession()
    out["session_length"] = len(session or "")
    out["session_request"] = outcome(sess.request({"COMMAND": "StatusAccount"}))
    out["logout"] = outcome(sess.logout())
    out["session_after_logout"] = sess.getSession()
    reuse = APIClient()
    reuse.useOTESystem()
    reuse.setURL(cfg["url"])
    reuse.setSession(session)
    out["ended_session"] = outcome(reuse.request({"COMMAND": "StatusAccount"}))

    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
