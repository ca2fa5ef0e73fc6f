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

#include "cli.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"echo", xb_cmd_echo, "run echo bots that answer chat messages"},
    {"jumper", xb_cmd_jumper,
     "run jumper bots that hop between MUC rooms saying phrases"},
    {"load", xb_cmd_load,
     "send messages to an echo bot and report round-trip times"},
    {"parse", xb_cmd_parse,
     "parse an XMPP stream and print its events (stdin or FILE)"},
};

static void usage(FILE *f)
{
    size_t i;

    fprintf(f, "Usage: xmppbots COMMAND [OPTIONS] [ARGS]\n"
               "       xmppbots --help | --version\n\nCommands:\n");
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
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
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    xb_cli_error("unknown command '%s' (see xmppbots --help)", argv[1]);
    return XB_EXIT_USAGE;
}
