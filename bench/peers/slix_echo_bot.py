# Reference peer for bench/compare, not part of xmppbots.
# A slixmpp echo bot: answers every chat or normal message that has a body
# with the same body (and id) to the sender, like `xmppbots echo`.
#   /usr/bin/python3 slix_echo_bot.py JID PASSWORD HOST PORT   (plain TCP)
import signal
import sys

import slixmpp


class EchoBot(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.echo)
        self.add_event_handler("disconnected", lambda _: self.loop.stop())

    def start(self, _event):
        self.send_presence()
        print("online", flush=True)

    def echo(self, msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            reply = self.make_message(mto=msg["from"], mbody=msg["body"],
                                      mtype=msg["type"])
            reply["id"] = msg["id"]
            reply.send()


def main():
    jid, password, host, port = sys.argv[1:5]
    bot = EchoBot(jid, password)
    bot["feature_mechanisms"].unencrypted_plain = True
    bot.connect((host, int(port)), disable_starttls=True)
    bot.loop.add_signal_handler(signal.SIGTERM, bot.loop.stop)
    bot.loop.add_signal_handler(signal.SIGINT, bot.loop.stop)
    bot.loop.run_forever()


if __name__ == "__main__":
    main()
