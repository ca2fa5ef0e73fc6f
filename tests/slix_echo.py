#!/usr/bin/python3
"""Checks an xmppbots echo bot from an independent client (slixmpp).

Connects with STARTTLS (the server certificate is verified against --cafile),
sends tricky message bodies to the echo bot and checks that each echo is
exact (body, id, thread, type), that groupchat, headline and body-less
chat-state messages are not answered, and that the bot answers a ping and
refuses an unknown IQ with service-unavailable. One line per case; exit 0
only if every case passed. Run it with Debian's /usr/bin/python3 (slixmpp).

  slix_echo.py --port 5222 --jid tester@localhost --password pw \\
      --cafile certs/localhost.crt --echo-jid echobot@localhost/bot
"""

import sys

import slixcommon

# (case name, message type or None for no type attribute, body)
ECHO_CASES = [
    ("ascii", "chat", "Hello, echo bot! 0123456789 ~!@#$%^*()_+-={}|[]\\:;,./?"),
    ("xml-specials", "chat", "< & ' \" ]]> &amp; <b>not a tag</b> &#x41;"),
    ("utf8-4byte", "chat", "emoji \U0001F600\U0001F389\U0001F44D\U0001F3FD "
     "\U0001F468\u200D\U0001F469\u200D\U0001F467 \U00010348 \U0001D11E"),
    ("scripts", "chat", "Ελληνικά Русский 中文 日本語 한국어 العربية עברית "
     "हिन्दी ไทย ქართული Ærøskøbing café naïve"),
    ("whitespace", "chat", "  \n\t leading and trailing whitespace \n\n\t  "),
    ("newlines", "chat", "line one\nline two\n\nline four after a blank\n"),
    ("big-100KiB", "chat", None),  # big_body(102400)
    ("type-normal", "normal", "a message of type normal"),
    ("no-type", None, "a message without a type attribute"),
]


class EchoTester(slixcommon.EchoTester):
    CASES = ECHO_CASES
    BIG = 102400


def main():
    p = slixcommon.parser(__doc__)
    p.add_argument("--echo-jid", default="echobot@localhost/bot",
                   help="the echo bot's full JID (messages go to its bare JID)")
    p.add_argument("--timeout", type=float, default=10,
                   help="seconds to wait for each echo or IQ answer")
    p.add_argument("--silence", type=float, default=2,
                   help="seconds to wait before concluding no answer came")
    p.add_argument("--total", type=float, default=60,
                   help="seconds for the whole run")
    p.add_argument("--quick", action="store_true",
                   help="only one echo (is the bot alive?)")
    args = slixcommon.parse_args(p)
    return EchoTester(args).run_checks_for(
        args.total, "slix_echo: {passed}/{n} cases passed")


if __name__ == "__main__":
    sys.exit(main())
