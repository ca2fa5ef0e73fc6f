"""What the slixmpp test clients (tests/slix_*.py) share: their connection
options, a client that ends the run with a reason on any connection
failure, one line per check, and running the loop with a hard deadline.

The scripts import it from their own directory, which Python puts first on
sys.path, so they work from any working directory (make check runs them
from the build tree as $top_srcdir/tests/slix_X.py).
"""

import argparse
import asyncio
import logging

import slixmpp

# Events that end a run, and how the failure is reported.
FAILURES = (("failed_auth", "authentication failed"),
            ("ssl_invalid_chain", "certificate verification failed"),
            ("connection_failed", "connection failed"),
            ("disconnected", "disconnected"))


def parser(doc, tls_required=True):
    """An argument parser with the connection options: --host, --port,
    --jid, --password, --cafile (STARTTLS verified against it; without it,
    unless tls_required, plain TCP) and -v."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5222)
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    if tls_required:
        p.add_argument("--cafile", required=True,
                       help="CA (or self-signed) certificate to verify the server")
    else:
        p.add_argument("--cafile",
                       help="use STARTTLS, verifying the server with this CA")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def parse_args(p):
    """Parses the command line; -v shows slixmpp's debug log."""
    args = p.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.CRITICAL,
                        format="%(levelname)-8s %(message)s")
    return args


class Client(slixmpp.ClientXMPP):
    """A test client: self.done is resolved when the run is over, with the
    result or with the failure that ended it; report() prints one check.
    Subclasses define run_checks(), run once the session has started, or
    replace on_start()."""

    def __init__(self, args, plugins=()):
        super().__init__(args.jid, args.password)
        self.args = args
        if args.cafile:
            self.ca_certs = args.cafile
        else:
            self["feature_mechanisms"].unencrypted_plain = True
        for plugin in plugins:
            self.register_plugin(plugin)
        self.done = asyncio.get_event_loop().create_future()
        self.results = []
        self.add_event_handler("session_start", self.on_start)
        for event, what in FAILURES:
            self.add_event_handler(event, self.on_fail(what))

    def on_fail(self, what):
        def handler(event):
            if not self.done.done():
                detail = f": {event}" if event not in (None, "") else ""
                self.done.set_exception(RuntimeError(what + detail))
        return handler

    def report(self, name, ok, detail=""):
        self.results.append(ok)
        line = f"{'ok' if ok else 'FAIL'} - {name}"
        if detail:
            line += f": {detail}"
        print(line, flush=True)

    async def run_checks(self):
        raise NotImplementedError

    async def on_start(self, _event):
        try:
            self.send_presence()
            await self.run_checks()
            if not self.done.done():
                self.done.set_result(all(self.results))
        except Exception as e:  # report, never hang
            if not self.done.done():
                self.done.set_exception(e)

    def is_secure(self):
        transport = self.transport
        return transport is not None and \
            transport.get_extra_info("ssl_object") is not None

    def connect_to_server(self):
        """Connects: STARTTLS required with --cafile, else plain TCP."""
        if self.args.cafile:
            self.connect((self.args.host, self.args.port), force_starttls=True)
        else:
            self.connect((self.args.host, self.args.port), force_starttls=False,
                         disable_starttls=True)

    def run_for(self, seconds):
        """Connects and runs the loop until self.done is resolved, for at
        most SECONDS, then disconnects (waiting 3 s at most). Returns the
        result; raises asyncio.TimeoutError when the time is up, or the
        failure that ended the run."""
        self.connect_to_server()
        try:
            return self.loop.run_until_complete(
                asyncio.wait_for(asyncio.shield(self.done), seconds))
        finally:
            if not self.done.done():
                self.done.cancel()
            try:
                self.loop.run_until_complete(
                    asyncio.wait_for(self.disconnect(wait=1), 3))
            except Exception:
                pass

    def run_checks_for(self, seconds, summary):
        """run_for() for a client whose run is a list of checks: a failed run
        is one more FAIL line, and the last line is SUMMARY, a str.format()
        template with {passed} and {n}. Returns the exit status: 0 only if
        the run ended with every check passed."""
        try:
            ok = self.run_for(seconds)
        except asyncio.TimeoutError:
            print(f"FAIL - run did not finish within {seconds} s", flush=True)
            ok = False
        except Exception as e:
            print(f"FAIL - {e}", flush=True)
            ok = False
        n = len(self.results)
        passed = sum(1 for r in self.results if r)
        print(summary.format(passed=passed, n=n), flush=True)
        return 0 if ok and n and passed == n else 1
