#!/usr/bin/python3
"""Opens a web presence page in headless Chromium and watches the open page
(no reload by this script: the page follows presence by itself) through
the DevTools protocol, for the gateway's tests and the doc's screenshots.

  browser_watch.py --url URL --expect SHOW[:TEXT] [--expect ...]
                   [--ready FILE] [--screenshot-dir DIR] [--resolve HOST]
                   [--timeout S]

Waits for each expected state in order: the page's show (data-show of its
presence line: online, away, ...) and, with :TEXT, TEXT in its status
line. Prints one JSON object per state seen ({"t": seconds since the page
first loaded, "show": ..., "status": ...}) and, when an expected state is
reached, {"reached": SHOW, "t": ...}; with --screenshot-dir, saves
DIR/SHOW.png then. After the first expected state, creates FILE (--ready):
the test then changes the user's presence. --resolve HOST maps HOST to
127.0.0.1 (Prosody routes HTTP by Host). Exit status 0 once every state
was reached, 1 otherwise (timeout: 60 s in all); Chromium is always
stopped.
"""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket  # python3-websocket

READ_STATE = """(() => {
  const p = document.querySelector('[data-show]');
  const s = document.querySelector('.status');
  return JSON.stringify({show: p ? p.getAttribute('data-show') : null,
                         status: s ? s.textContent : null});
})()"""


class Browser:
    def __init__(self, args, profile):
        cmd = [args.chromium, "--headless", "--no-sandbox", "--disable-gpu",
               "--no-first-run", "--disable-background-networking",
               "--disable-extensions", "--disable-sync",
               "--remote-debugging-address=127.0.0.1",
               "--remote-debugging-port=0", "--window-size=480,200",
               f"--user-data-dir={profile}", "about:blank"]
        if args.resolve:
            cmd.insert(1, f"--host-resolver-rules=MAP {args.resolve} 127.0.0.1")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromium did not start its DevTools port")
            time.sleep(0.1)
        port = int(open(port_file).read().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            pages = [t for t in json.load(r) if t.get("type") == "page"]
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=10)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def state(self):
        r = self.call("Runtime.evaluate", expression=READ_STATE, returnByValue=True)
        value = r.get("result", {}).get("value")
        return json.loads(value) if value else {"show": None, "status": None}

    def screenshot(self, path):
        r = self.call("Page.captureScreenshot", format="png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--expect", action="append", required=True, metavar="SHOW[:TEXT]")
    p.add_argument("--ready", metavar="FILE")
    p.add_argument("--screenshot-dir", metavar="DIR")
    p.add_argument("--resolve", metavar="HOST")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--chromium", default="chromium")
    args = p.parse_args()
    wanted = [(e.split(":", 1) + [None])[:2] for e in args.expect]
    profile = tempfile.mkdtemp(prefix="browser_watch.")
    browser = None
    ok = False
    try:
        browser = Browser(args, profile)
        browser.call("Page.enable")
        # The size of an embedding <iframe>, for the screenshots.
        browser.call("Emulation.setDeviceMetricsOverride", width=480, height=110,
                     deviceScaleFactor=1, mobile=False)
        browser.call("Page.navigate", url=args.url)
        start = time.monotonic()
        deadline = start + args.timeout
        last = None
        while wanted and time.monotonic() < deadline:
            try:
                state = browser.state()
            except RuntimeError:
                state = {"show": None, "status": None}  # between two loads
            if state != last and state["show"] is not None:
                print(json.dumps({"t": round(time.monotonic() - start, 2), **state}), flush=True)
                last = state
            show, text = wanted[0]
            if state["show"] == show and (text is None or text in (state["status"] or "")):
                print(json.dumps({"reached": show, "t": round(time.monotonic() - start, 2)}),
                      flush=True)
                if args.screenshot_dir:
                    browser.screenshot(os.path.join(args.screenshot_dir, show + ".png"))
                wanted.pop(0)
                if args.ready and not os.path.exists(args.ready):
                    open(args.ready, "w").close()
                continue
            time.sleep(0.2)
        ok = not wanted
        if not ok:
            print(json.dumps({"error": f"not seen within {args.timeout} s: {wanted[0][0]}"}),
                  flush=True)
    except Exception as e:
        print(json.dumps({"error": str(e)}), flush=True)
    finally:
        if browser:
            browser.close()
        shutil.rmtree(profile, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
