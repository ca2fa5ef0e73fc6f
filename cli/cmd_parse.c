/*
 * xmppbots parse: feeds a recorded stream through the core parser in small
 * chunks and prints one line per event, each stanza re-serialized by the
 * core serializer. A refused stream ends with its condition on stderr.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "error.h"
#include "parser.h"
#include "serialize.h"

struct parse_ctx {
    struct xb_buf line;
    const char *content_ns; /* the stream's default namespace */
    char ns[256];
    int failed; /* out of memory while printing */
};

static void print_attr(struct xb_buf *b, const char *name, const char *value)
{
    if (!value)
        return;
    xb_buf_puts(b, " ");
    xb_buf_puts(b, name);
    xb_buf_puts(b, "='");
    xb_serialize_escape(b, value, strlen(value));
    xb_buf_puts(b, "'");
}

static void on_open(void *ud, const struct xb_stream_header *h)
{
    struct parse_ctx *c = ud;

    xb_buf_reset(&c->line);
    xb_buf_puts(&c->line, "stream-open");
    print_attr(&c->line, "from", h->from);
    print_attr(&c->line, "to", h->to);
    print_attr(&c->line, "id", h->id);
    print_attr(&c->line, "version", h->version);
    print_attr(&c->line, "xml:lang", h->lang);
    print_attr(&c->line, "xmlns", h->content_ns);
    printf("%s\n", c->line.data ? c->line.data : "");
    snprintf(c->ns, sizeof c->ns, "%s", h->content_ns ? h->content_ns : "");
    c->content_ns = c->ns;
}

static void on_stanza(void *ud, struct xb_stanza *st)
{
    struct parse_ctx *c = ud;

    xb_buf_reset(&c->line);
    if (xb_serialize(&c->line, st, c->content_ns) == 0)
        printf("%s\n", c->line.data);
    else
        c->failed = 1;
    xb_stanza_free(st);
}

static void on_close(void *ud)
{
    (void)ud;
    printf("stream-close\n");
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: xmppbots parse [OPTIONS] [FILE]\n"
            "Parse an XMPP stream (from FILE, or stdin) and print one line "
            "per event.\n\n"
            "  --max-stanza-bytes N  refuse a stanza larger than N bytes "
            "(k/m suffixes; default 1m)\n"
            "  --max-depth N         refuse elements nested deeper than N "
            "(default %u)\n"
            "  --max-attrs N         refuse more than N attributes on one "
            "element (default %u)\n"
            "  --chunk N             feed N bytes at a time (default 512)\n"
            "  -h, --help            show this help\n\n"
            "Exit status: 0 stream parsed, 1 stream refused or unreadable, "
            "2 usage error.\n",
            XB_PARSER_DEFAULT_MAX_DEPTH, XB_PARSER_DEFAULT_MAX_ATTRS);
}

static int number_opt(const char *opt, const char *arg, unsigned long long max,
                      unsigned long long *out)
{
    if (xb_cli_parse_size(arg, out) || *out > max) {
        xb_cli_error("parse: %s needs a number from 1 to %llu, not '%s'", opt,
                     max, arg);
        return -1;
    }
    return 0;
}

int xb_cmd_parse(int argc, char **argv)
{
    static const struct option opts[] = {
        {"max-stanza-bytes", required_argument, NULL, 's'},
        {"max-depth", required_argument, NULL, 'd'},
        {"max-attrs", required_argument, NULL, 'a'},
        {"chunk", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    static const struct xb_parser_hooks hooks = {on_open, on_stanza, on_close};
    struct xb_parser_limits lim = {0};
    struct parse_ctx ctx = {0};
    struct xb_parser *p;
    unsigned long long v, chunk = 512;
    const char *path = "-";
    char buf[65536];
    FILE *in = stdin;
    size_t n;
    int opt, rc = 0, status = XB_EXIT_OK;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            if (number_opt("--max-stanza-bytes", optarg, SIZE_MAX, &v))
                return XB_EXIT_USAGE;
            lim.max_stanza_bytes = (size_t)v;
            break;
        case 'd':
            if (number_opt("--max-depth", optarg, UINT_MAX, &v))
                return XB_EXIT_USAGE;
            lim.max_depth = (unsigned)v;
            break;
        case 'a':
            if (number_opt("--max-attrs", optarg, UINT_MAX, &v))
                return XB_EXIT_USAGE;
            lim.max_attrs = (unsigned)v;
            break;
        case 'c':
            if (number_opt("--chunk", optarg, sizeof buf, &chunk))
                return XB_EXIT_USAGE;
            break;
        case 'h':
            usage(stdout);
            return XB_EXIT_OK;
        default:
            usage(stderr);
            return XB_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        xb_cli_error("parse: one FILE at most");
        return XB_EXIT_USAGE;
    }
    if (optind < argc && strcmp(argv[optind], "-") != 0) {
        path = argv[optind];
        in = fopen(path, "rb");
        if (!in) {
            xb_cli_error("parse: cannot open %s: %s", path, strerror(errno));
            return XB_EXIT_INPUT;
        }
    }
    xb_buf_init(&ctx.line);
    p = xb_parser_new(&hooks, &ctx, &lim, 0);
    if (!p) {
        xb_cli_error("parse: out of memory");
        status = XB_EXIT_INPUT;
        goto out;
    }
    while (rc == 0 && (n = fread(buf, 1, (size_t)chunk, in)) > 0)
        rc = xb_parser_feed(p, buf, n);
    if (rc && rc != XB_ESTATE) {
        xb_cli_error("parse: %s: %s", xb_cond_name(xb_parser_condition(p)),
                     xb_parser_message(p));
        status = XB_EXIT_INPUT;
    } else if (rc == XB_ESTATE) {
        xb_cli_error("parse: bytes after the end of the stream");
        status = XB_EXIT_INPUT;
    } else if (ferror(in)) {
        xb_cli_error("parse: cannot read %s: %s", path, strerror(errno));
        status = XB_EXIT_INPUT;
    } else if (ctx.failed) {
        xb_cli_error("parse: out of memory");
        status = XB_EXIT_INPUT;
    }
    fflush(stdout);
out:
    xb_parser_free(p);
    xb_buf_free(&ctx.line);
    if (in != stdin)
        fclose(in);
    return status;
}
