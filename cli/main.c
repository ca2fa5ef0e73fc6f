/*
 * Entry point of the xmppbots program: global options and the dispatch to
 * subcommands.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot.h"
#include "cli.h"

static void usage(FILE *f)
{
    size_t i;

    fprintf(f, "Usage: xmppbots COMMAND [OPTIONS] [ARGS]\n"
               "       xmppbots --help | --version\n\n"
               "Bot kinds (each a command that runs bots of that kind):\n");
    for (i = 0; xb_bot_kinds[i]; i++)
        fprintf(f, "  %-10s %s\n", xb_bot_kinds[i]->name,
                xb_bot_kinds[i]->summary);
    fprintf(f, "\nOther commands:\n  %-10s %s\n  %-10s %s\n", "kinds",
            "list the bot kinds, their options and counters (JSON)", "parse",
            "parse an XMPP stream and print its events (stdin or FILE)");
    fprintf(f, "\nBots of kinds with web pages serve them over HTTP (--http "
               "ADDR:PORT, --http-url\nURL); --db FILE keeps component bots' "
               "data in an SQLite database across\nrestarts.\n");
    fprintf(f, "\nRun 'xmppbots COMMAND --help' for a command's options.\n");
}

void xb_cli_error(const char *fmt, ...)
{
    va_list ap;

    fputs("xmppbots: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int xb_cli_parse_size(const char *s, unsigned long long *out)
{
    char *end;
    unsigned long long v, mul = 1;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    if (*end == 'k' || *end == 'K')
        mul = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1024 * 1024, end++;
    if (*end || v == 0 || v > ~0ULL / mul)
        return -1;
    *out = v * mul;
    return 0;
}

int main(int argc, char **argv)
{
    size_t i;

    /* A peer that resets its connection must cost a write error on that
     * connection, not the whole process. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return XB_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return XB_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("xmppbots %s\n", PACKAGE_VERSION);
        return XB_EXIT_OK;
    }
    for (i = 0; xb_bot_kinds[i]; i++)
        if (!strcmp(argv[1], xb_bot_kinds[i]->name))
            return xb_cmd_bots(xb_bot_kinds[i], argc - 1, argv + 1);
    if (!strcmp(argv[1], "kinds"))
        return xb_cmd_kinds(argc - 1, argv + 1);
    if (!strcmp(argv[1], "parse"))
        return xb_cmd_parse(argc - 1, argv + 1);
    xb_cli_error("unknown command '%s' (see xmppbots --help)", argv[1]);
    return XB_EXIT_USAGE;
}
