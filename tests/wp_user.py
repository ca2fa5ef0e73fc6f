#!/usr/bin/python3
"""A user of the web presence gateway, for the tests of both of its hosts
(tests/webpresence_cli.sh, tests/webpresence_prosody.sh): slixmpp, as an
independent client, runs the STEPs given on the command line in order and
prints one JSON object per step on stdout. Exit status 0 only if every step
did what it should; a failed step prints {"step":..., "error":...} and ends
the run.

Steps:
  register[:S[:J]]   disco#info on the gateway (identity component/presence,
                     feature jabber:iq:register), the registration form
                     (FORM_TYPE, the booleans show_status_msg and
                     show_full_jid), a submitted form with S and J (0 or 1;
                     default 1 and 0), then the form again: prints the page
                     address from its instructions ("url"), "fresh" (was not
                     registered before), and for a fresh registration checks
                     that the address also came in a message
  form               the form as it is now: "registered", "values", "url"
  bad-forms          submits forms the gateway must refuse (unknown field,
                     a boolean that is not one, a 10 kB value, no FORM_TYPE,
                     a form of another type, two forms): prints the error
                     condition of each ("errors"); fails if one is accepted
  presence:SHOW[:TEXT]  available presence; SHOW is online, chat, away, dnd
                     or xa; TEXT the status text
  unavailable        unavailable presence
  unregister         <remove/>: prints "ok"
  wait:FILE          waits until FILE exists
  sleep:SECONDS      waits
The whole run is bounded by --timeout (default 60 s).
"""

import asyncio
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout

import slixcommon

NS_REGISTER = "jabber:iq:register"
NS_DATA = "jabber:x:data"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
BOOLEANS = ("show_status_msg", "show_full_jid")
SHOWS = ("online", "chat", "away", "dnd", "xa")
URL = re.compile(r"https?://\S+")


class StepFailed(Exception):
    pass


def q(tag, ns=NS_REGISTER):
    return f"{{{ns}}}{tag}"


def field(var, *values, ftype=None):
    f = ET.Element(q("field", NS_DATA), var=var)
    if ftype:
        f.set("type", ftype)
    for v in values:
        ET.SubElement(f, q("value", NS_DATA)).text = v
    return f


def submit_form(fields, form_type="submit"):
    x = ET.Element(q("x", NS_DATA), type=form_type)
    for f in fields:
        x.append(f)
    return x


class User(slixcommon.Client):
    def __init__(self, args):
        super().__init__(args, plugins=("xep_0030",))
        self.gateway = args.gateway
        self.messages = asyncio.Queue()
        self.add_event_handler("message", self.on_message)

    def on_message(self, msg):
        if msg["from"].bare == self.gateway:
            self.messages.put_nowait(msg["body"])

    def out(self, obj):
        print(json.dumps(obj), flush=True)

    async def register_iq(self, itype, payload):
        iq = self.make_iq(ifrom=None, ito=self.gateway, itype=itype)
        query = ET.Element(q("query"))
        for p in payload:
            query.append(p)
        iq.append(query)
        return await iq.send(timeout=15)

    async def form(self):
        """The registration form: (registered, values, url, form types)."""
        res = await self.register_iq("get", [])
        query = res.xml.find(q("query"))
        if query is None:
            raise StepFailed("register get: no query in the answer")
        x = query.find(q("x", NS_DATA))
        if x is None or x.get("type") != "form":
            raise StepFailed("register get: no data form")
        fields = {f.get("var"): f for f in x.findall(q("field", NS_DATA))}
        ft = fields.get("FORM_TYPE")
        if ft is None or ft.get("type") != "hidden" or \
                ft.findtext(q("value", NS_DATA)) != NS_REGISTER:
            raise StepFailed("register get: no hidden FORM_TYPE jabber:iq:register")
        values = {}
        for var in BOOLEANS:
            f = fields.get(var)
            if f is None or f.get("type") != "boolean" or not f.get("label"):
                raise StepFailed(f"register get: no labelled boolean {var}")
            values[var] = f.findtext(q("value", NS_DATA)) in ("1", "true")
        text = query.findtext(q("instructions")) or ""
        m = URL.search(text)
        registered = query.find(q("registered")) is not None
        if registered and not m:
            raise StepFailed("register get: registered, but no address in the instructions")
        return registered, values, m.group(0) if m else None

    async def disco(self):
        info = await self["xep_0030"].get_info(jid=self.gateway, timeout=15)
        d = info["disco_info"]
        ids = [(i[0], i[1]) for i in d["identities"]]
        if ("component", "presence") not in ids:
            raise StepFailed(f"disco#info: no component/presence identity: {ids}")
        if NS_REGISTER not in d["features"]:
            raise StepFailed("disco#info: no jabber:iq:register feature")
        return {"identities": [list(i) for i in d["identities"]],
                "features": list(d["features"])}

    async def step_register(self, opts):
        s = opts[0] if len(opts) > 0 else "1"
        j = opts[1] if len(opts) > 1 else "0"
        disco = await self.disco()
        before, _, _ = await self.form()
        await self.register_iq("set", [submit_form([
            field("FORM_TYPE", NS_REGISTER, ftype="hidden"),
            field("show_status_msg", s), field("show_full_jid", j)])])
        registered, values, url = await self.form()
        if not registered:
            raise StepFailed("registered, but the form says not")
        if values != {"show_status_msg": s == "1", "show_full_jid": j == "1"}:
            raise StepFailed(f"the form shows {values} after submitting {s} {j}")
        if not before:
            body = await asyncio.wait_for(self.messages.get(), 15)
            if url not in body:
                raise StepFailed(f"address message {body!r} lacks {url}")
        return {"url": url, "fresh": not before, "values": values,
                "disco": disco}

    async def step_form(self, _opts):
        registered, values, url = await self.form()
        return {"registered": registered, "values": values, "url": url}

    async def step_bad_forms(self, _opts):
        ft = field("FORM_TYPE", NS_REGISTER, ftype="hidden")
        cases = {
            "unknown_field": [submit_form([ft, field("colour", "blue")])],
            "not_boolean": [submit_form([ft, field("show_status_msg", "maybe")])],
            "huge_value": [submit_form([ft, field("show_full_jid", "1" * 10240)])],
            "no_form_type": [submit_form([field("show_status_msg", "1")])],
            "form_type_other": [submit_form([
                field("FORM_TYPE", "urn:example:other", ftype="hidden"),
                field("show_status_msg", "1")])],
            "two_values": [submit_form([ft, field("show_status_msg", "1", "0")])],
            "two_forms": [submit_form([ft]), submit_form([ft])],
            "cancel_form": [submit_form([ft], form_type="cancel")],
        }
        errors = {}
        for name, payload in cases.items():
            try:
                await self.register_iq("set", payload)
            except IqError as e:
                errors[name] = e.iq["error"]["condition"]
                continue
            raise StepFailed(f"bad form {name} was accepted")
        return {"errors": errors}

    async def step_presence(self, opts):
        show = opts[0] if opts else "online"
        if show not in SHOWS:
            raise StepFailed(f"presence: unknown show {show}")
        status = ":".join(opts[1:]) if len(opts) > 1 else None
        self.send_presence(pshow=None if show == "online" else show,
                           pstatus=status)
        return {"show": show, "status": status}

    async def step_unavailable(self, _opts):
        self.send_presence(ptype="unavailable")
        return {}

    async def step_unregister(self, _opts):
        await self.register_iq("set", [ET.Element(q("remove"))])
        registered, _, _ = await self.form()
        if registered:
            raise StepFailed("unregistered, but the form says registered")
        return {"ok": True}

    async def step_wait(self, opts):
        path = ":".join(opts)
        while not os.path.exists(path):
            await asyncio.sleep(0.1)
        return {"file": path}

    async def step_sleep(self, opts):
        await asyncio.sleep(float(opts[0]))
        return {}

    async def run_checks(self):
        for spec in self.args.steps:
            name, *opts = spec.split(":")
            fn = getattr(self, "step_" + name.replace("-", "_"), None)
            if fn is None:
                raise StepFailed(f"unknown step {name}")
            try:
                result = await fn(opts)
            except IqError as e:
                self.out({"step": name, "error": "IQ error " +
                          e.iq["error"]["condition"]})
                self.results.append(False)
                return
            except (StepFailed, IqTimeout, asyncio.TimeoutError) as e:
                self.out({"step": name, "error": str(e) or type(e).__name__})
                self.results.append(False)
                return
            self.out({"step": name, **result})
            self.results.append(True)


def main():
    p = slixcommon.parser(__doc__, tls_required=False)
    p.add_argument("--gateway", required=True, help="the gateway's domain")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("steps", nargs="+", metavar="STEP")
    args = slixcommon.parse_args(p)
    user = User(args)
    try:
        ok = user.run_for(args.timeout)
    except asyncio.TimeoutError:
        print(json.dumps({"error": f"not done within {args.timeout} s"}), flush=True)
        return 1
    except Exception as e:
        print(json.dumps({"error": str(e)}), flush=True)
        return 1
    return 0 if ok and len(user.results) == len(args.steps) else 1


if __name__ == "__main__":
    sys.exit(main())
