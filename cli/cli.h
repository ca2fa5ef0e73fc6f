/*
 * The xmppbots command-line program: one binary, one subcommand per job.
 * Each subcommand takes its own argv (argv[0] is the subcommand name) and
 * returns the process exit status.
 */
#ifndef XB_CLI_H
#define XB_CLI_H

/* Exit statuses shared by all subcommands. */
enum {
    XB_EXIT_OK = 0,
    XB_EXIT_INPUT = 1, /* the input or the peer was refused */
    XB_EXIT_USAGE = 2  /* bad command line */
};

/* xmppbots parse [options] [FILE] */
int xb_cmd_parse(int argc, char **argv);

struct xb_bot_kind;

/* xmppbots <kind> [options]: runs bots of kind k (cmd_bots.c). */
int xb_cmd_bots(const struct xb_bot_kind *k, int argc, char **argv);

/* xmppbots kinds: the kinds, their options and counters, as JSON. */
int xb_cmd_kinds(int argc, char **argv);

/* Prints "xmppbots: <message>" on stderr, printf-style. */
void xb_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a positive size with an optional k/K or m/M suffix (KiB, MiB).
 * Returns 0 and stores the value, or -1 if s is not such a number. */
int xb_cli_parse_size(const char *s, unsigned long long *out);

#endif
