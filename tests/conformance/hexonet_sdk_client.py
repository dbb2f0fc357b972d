"""Drive the sandbox's HEXONET emulation with the real Python SDK, unchanged:
HEXONET's (hexonet.apiconnector) or, in CentralNic Reseller's dialect,
CentralNic's (centralnicreseller.apiconnector), the same family of SDKs.

Reads one JSON document on stdin:
    {"dialect": "hexonet" | "centralnic",
     "url": "http://127.0.0.1:PORT/api/call.cgi", "login", "password",
     "role", "role_password", "subuser"}
and writes one JSON document on stdout: per scenario, what the SDK reports:
codes, descriptions, record counts and paging figures.
sandbox/tests/hexonet.rs asserts on it.

Both SDKs run the same scenarios but two: only HEXONET has a LIVE entity
to refuse, and each SDK keeps a session its own way.
"""

import importlib
import json
import sys

SDKS = {
    "hexonet": "hexonet.apiconnector.apiclient",
    "centralnic": "centralnicreseller.apiconnector.apiclient",
}


def main():
    cfg = json.load(sys.stdin)
    dialect = cfg["dialect"]
    APIClient = importlib.import_module(SDKS[dialect]).APIClient

    def client(login=None, password=None, live=False, credentials=True):
        cl = APIClient()
        if live:
            cl.useLIVESystem()
        else:
            cl.useOTESystem()
        # After use*System, which sets the real endpoints.
        cl.setURL(cfg["url"])
        if credentials:
            cl.setCredentials(login or cfg["login"], password or cfg["password"])
        return cl

    out = {}
    cl = client()

    out["status_account"] = outcome(cl.request({"COMMAND": "StatusAccount"}))
    out["check_free"] = outcome(cl.request({"COMMAND": "CheckDomain", "DOMAIN": "sdk-free-name.com"}))
    out["check_taken"] = outcome(cl.request({"COMMAND": "CheckDomain", "DOMAIN": "blue-river-0.com"}))
    # The SDK converts the IDN itself: HEXONET's with a ConvertIDN call to
    # the sandbox, CentralNic's locally.
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

    out["wrong_password"] = outcome(client(password="not-the-password").request({"COMMAND": "StatusAccount"}))
    if dialect == "hexonet":
        out["live_entity"] = outcome(client(live=True).request({"COMMAND": "StatusAccount"}))

    role = client(credentials=False)
    role.setRoleCredentials(cfg["login"], cfg["role"], cfg["role_password"])
    out["role_status"] = outcome(role.request({"COMMAND": "StatusAccount"}))
    out["role_add"] = outcome(role.request({"COMMAND": "AddDomain", "DOMAIN": "sdk-role.com"}))

    view = client()
    view.setUserView(cfg["subuser"])
    out["subuser_list"] = outcome(view.request({"COMMAND": "QueryDomainList", "LIMIT": 50}))
    out["subuser_all"] = len(view.requestAllResponsePages({"COMMAND": "QueryDomainList", "LIMIT": 50}))
    view.setUserView("nobody-here")
    out["unknown_subuser"] = outcome(view.request({"COMMAND": "StatusAccount"}))
    view.resetUserView()
    out["view_reset"] = outcome(view.request({"COMMAND": "QueryDomainList", "LIMIT": 1}))

    sess = client()
    out["login"] = outcome(sess.login())
    if dialect == "hexonet":
        session = sess.getSession()
        out["session_length"] = len(session or "")
    else:
        session = {}
        sess.saveSession(session)
        out["session_length"] = len(session.get("socketcfg", {}).get("session") or "")
    out["session_request"] = outcome(sess.request({"COMMAND": "StatusAccount"}))
    out["logout"] = outcome(sess.logout())
    # A second client on the saved, now ended, session.
    reuse = client(credentials=False)
    if dialect == "hexonet":
        out["session_after_logout"] = sess.getSession()
        reuse.setSession(session)
    else:
        # s_login + s_sessionid.
        reuse.reuseSession(session)
    out["ended_session"] = outcome(reuse.request({"COMMAND": "StatusAccount"}))

    json.dump(out, sys.stdout)


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


if __name__ == "__main__":
    main()
