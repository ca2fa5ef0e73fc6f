/*
 * xmppbots <kind>: one command per bot kind of the registry. The options
 * every command shares (server, accounts, TLS, pacing, logging) are
 * written here; each kind's own come from its option table, as do their
 * help lines and checks. Read from a config file and the command line,
 * then handed to the farm.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "farm.h"
#include "http.h"

enum {
    O_HOST = 256,
    O_PORT,
    O_FIRST,
    O_PASSWORD_FILE,
    O_TLS,
    O_CAFILE,
    O_INSECURE,
    O_ALLOW_PLAIN,
    O_CONNECT_RATE,
    O_DURATION,
    O_RETRIES,
    O_CONNECT_TIMEOUT,
    O_LOGIN_TIMEOUT,
    O_KEEPALIVE,
    O_SM,
    O_SM_QUEUE,
    O_SM_RESUME,
    O_COMPONENT,
    O_SECRET,
    O_SECRET_FILE,
    O_CONNECTIONS,
    O_HTTP,
    O_HTTP_URL,
    O_DB,
    O_SEED,
    O_LOG_LEVEL,
    O_XML_TRACE,
    O_STATS,
    O_STATS_INTERVAL,
    O_NO_PROGRESS,
    O_CONFIG,
    O_KIND /* the kind's options: O_KIND + their index */
};

static const struct option common_options[] = {
    {"host", required_argument, NULL, O_HOST},
    {"port", required_argument, NULL, O_PORT},
    {"jid", required_argument, NULL, 'j'},
    {"count", required_argument, NULL, 'n'},
    {"first", required_argument, NULL, O_FIRST},
    {"password", required_argument, NULL, 'p'},
    {"password-file", required_argument, NULL, O_PASSWORD_FILE},
    {"tls", required_argument, NULL, O_TLS},
    {"cafile", required_argument, NULL, O_CAFILE},
    {"insecure", no_argument, NULL, O_INSECURE},
    {"allow-plain", no_argument, NULL, O_ALLOW_PLAIN},
    {"connect-rate", required_argument, NULL, O_CONNECT_RATE},
    {"duration", required_argument, NULL, O_DURATION},
    {"retries", required_argument, NULL, O_RETRIES},
    {"connect-timeout", required_argument, NULL, O_CONNECT_TIMEOUT},
    {"login-timeout", required_argument, NULL, O_LOGIN_TIMEOUT},
    {"keepalive", required_argument, NULL, O_KEEPALIVE},
    {"sm", required_argument, NULL, O_SM},
    {"sm-queue", required_argument, NULL, O_SM_QUEUE},
    {"sm-resume", required_argument, NULL, O_SM_RESUME},
    {"component", required_argument, NULL, O_COMPONENT},
    {"secret", required_argument, NULL, O_SECRET},
    {"secret-file", required_argument, NULL, O_SECRET_FILE},
    {"connections", required_argument, NULL, O_CONNECTIONS},
    {"http", required_argument, NULL, O_HTTP},
    {"http-url", required_argument, NULL, O_HTTP_URL},
    {"db", required_argument, NULL, O_DB},
    {"seed", required_argument, NULL, O_SEED},
    {"log-level", required_argument, NULL, O_LOG_LEVEL},
    {"xml-trace", required_argument, NULL, O_XML_TRACE},
    {"stats", required_argument, NULL, O_STATS},
    {"stats-interval", required_argument, NULL, O_STATS_INTERVAL},
    {"no-progress", no_argument, NULL, O_NO_PROGRESS},
    {"config", required_argument, NULL, O_CONFIG},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
};
#define NCOMMON (sizeof common_options / sizeof common_options[0])

/* The kind's option name as a command line spells it: "room_prefix" is
 * "--room-prefix". */
static void dashed(const char *name, char *buf, size_t size)
{
    size_t i;

    for (i = 0; name[i] && i + 1 < size; i++)
        buf[i] = name[i] == '_' ? '-' : name[i];
    buf[i] = '\0';
}

/* The help's parts that depend on what the kind is (a service, with web
 * pages), and the storage any component bot may use. */
static void usage_extras(FILE *f, const struct xb_bot_kind *k)
{
    if (k->flags & XB_KIND_SERVICE)
        fprintf(f,
                "\n%s bots are a service at a domain: --component is "
                "required, and\nthe bot is the component's domain unless "
                "--jid says otherwise.\n",
                k->name);
    if (k->http)
        fprintf(f, "\nWeb pages (HTTP/1.1, served by this process):\n"
                   "      --http ADDR:PORT    serve the bots' pages there (an "
                   "IPv4 address, or an\n"
                   "                          IPv6 one in brackets): one bot's "
                   "at /, several bots'\n"
                   "                          each under /BARE-JID/ "
                   "(required)\n"
                   "      --http-url URL      the pages' public address, as "
                   "users reach them (through\n"
                   "                          a proxy; default "
                   "http://ADDR:PORT/)\n");
    fprintf(f, "\nStorage (component bots of kinds that keep data across "
               "restarts):\n"
               "      --db FILE           keep it in this SQLite database, "
               "created if missing\n"
               "                          (default: in memory only)\n");
}

/* The help; the common defaults are printed from d (set_defaults()), so
 * that each is written once. */
static void usage(FILE *f, const struct xb_bot_kind *k,
                  const struct farm_config *d)
{
    const struct xb_bot_option *o;
    char name[64], left[96], def[64];

    fprintf(f, "Usage: xmppbots %s [OPTIONS]\nRun %s bots: each %s.\n", k->name,
            k->name, k->summary);
    fprintf(f,
            "\nAccounts and server:\n"
            "  -j, --jid JID           account, or a pattern with %%d for "
            "--count (user_%%d@host)\n"
            "  -n, --count N           number of bots (default %u)\n"
            "      --first N           first number for the pattern "
            "(default %u)\n"
            "  -p, --password PW       password (or --password-file FILE, "
            "first line)\n"
            "      --host HOST[:PORT][,HOST[:PORT]...]\n"
            "                          server (default: the JID's domain, "
            "found through DNS\n"
            "                          SRV: _xmpps-client and _xmpp-client "
            "records by\n"
            "                          priority and weight, each tried in "
            "turn); several\n"
            "                          (a cluster's nodes): bot k starts at "
            "the (k mod n)th\n"
            "                          and tries the others in turn if it "
            "fails\n"
            "      --port N            port (default: SRV, else 5222; 5223 "
            "with --tls\n"
            "                          direct); with no --host, skips SRV\n"
            "      --tls MODE          required (default: direct TLS or "
            "STARTTLS, as SRV\n"
            "                          says), starttls, direct (TLS from the "
            "connect,\n"
            "                          XEP-0368) or none\n"
            "      --cafile FILE       trust this CA (default: the system "
            "store)\n"
            "      --insecure          do not verify the server certificate\n"
            "      --allow-plain       allow SASL PLAIN without TLS\n",
            d->count, d->first);
    fprintf(f,
            "\nRunning:\n"
            "      --connect-rate N    logins started per second (default "
            "%g)\n"
            "      --duration S        stop after S seconds (default: run "
            "until SIGINT/SIGTERM)\n"
            "      --retries N         consecutive failures before a bot "
            "gives up (default %u)\n"
            "      --connect-timeout S, --login-timeout S  (default %g, %g)\n"
            "      --keepalive S       ping the server after S idle seconds; "
            "no answer in S more:\n"
            "                          the connection is dead (default %g; "
            "0 off)\n"
            "      --seed N            random seed, for reproducible runs "
            "(default %llu)\n"
            "      --log-level L       error, warn, info or debug (default "
            "%s; -v: info, -q: error)\n"
            "      --xml-trace FILE    append every stanza sent and "
            "received ('-': stderr)\n"
            "      --stats FILE        write JSON stats there every "
            "--stats-interval S (default %g)\n"
            "      --no-progress       no live progress line on a terminal\n"
            "      --config FILE       read options from FILE: one "
            "'option = value' per line\n",
            d->connect_rate, d->retries, d->connect_timeout_ms / 1000.0,
            d->login_timeout_ms / 1000.0, d->keepalive_ms / 1000.0,
            (unsigned long long)d->seed, xb_log_level_name(d->log_level),
            d->stats_interval);
    fprintf(f,
            "\nComponent bots (XEP-0114): virtual users behind one "
            "component connection\n"
            "      --component DOMAIN  run the bots as users of this "
            "component domain (their\n"
            "                          JIDs: name@DOMAIN[/res]) over the "
            "server's component\n"
            "                          port (--host, default localhost; "
            "--port, default 5347);\n"
            "                          no accounts, no passwords, no TLS\n"
            "      --secret S          the component's shared secret (or "
            "--secret-file FILE)\n"
            "      --connections K     spread the bots over K streams "
            "(default %u; Prosody\n"
            "                          takes one per component, ejabberd "
            "several); with\n"
            "                          several --host servers, stream k "
            "starts at the\n"
            "                          (k mod n)th and moves on to the next "
            "when it fails\n"
            "\nStream management (XEP-0198, when the server offers it):\n"
            "      --sm MODE           resume: acks, and after a dropped "
            "connection the\n"
            "                          stream resumes and what the server "
            "missed is sent\n"
            "                          again, once; ack: acks only (after "
            "a drop, what was not\n"
            "                          acknowledged is counted lost, chat "
            "messages sent again);\n"
            "                          off (default %s)\n"
            "      --sm-queue N        unacknowledged stanzas kept per bot; "
            "when full, the bot\n"
            "                          cannot send until acks arrive "
            "(default %u)\n"
            "      --sm-resume S       ask the server to keep a cut stream S "
            "seconds\n"
            "                          (default: the server's choice)\n",
            d->connections, xb_sm_mode_name(d->sm), (unsigned)d->sm_queue);
    usage_extras(f, k);
    if (k->options[0].name)
        fprintf(f, "\nOptions of %s bots:\n", k->name);
    for (o = k->options; o->name; o++) {
        dashed(o->name, name, sizeof name);
        snprintf(left, sizeof left, "--%s %s", name, o->arg);
        xb_bot_option_default(o, def, sizeof def);
        fprintf(f, "      %-19s %s%s%s%s\n", left, o->help,
                def[0] ? " (default " : "", def, def[0] ? ")" : "");
        if (o->flags & XB_OPT_REQUIRED)
            fprintf(f, "      %-19s (required)\n", "");
    }
    fprintf(f, "\nExit status: 0 every bot got online and did all it was "
               "asked, 1 failure,\n2 usage, 3 authentication failed, 4 "
               "server unreachable, 5 TLS or certificate.\n");
}

static int bad(const char *cmd, const char *opt, const char *arg,
               const char *what)
{
    xb_cli_error("%s: %s needs %s, not '%s'", cmd, opt, what, arg);
    return -1;
}

static int uint_arg(const char *cmd, const char *opt, const char *arg,
                    unsigned min, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(arg, &end, 10);
    if (errno || *end || end == arg || arg[0] == '-' || v < min || v > max) {
        char what[64];

        snprintf(what, sizeof what, "a whole number from %u to %u", min, max);
        return bad(cmd, opt, arg, what);
    }
    *out = (unsigned)v;
    return 0;
}

static int secs_arg(const char *cmd, const char *opt, const char *arg,
                    double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(arg, &end);
    if (errno || *end || end == arg || v < 0 || v > 1e7)
        return bad(cmd, opt, arg, "a number of seconds");
    *out = v;
    return 0;
}

static int ms_arg(const char *cmd, const char *opt, const char *arg,
                  uint32_t *out)
{
    double v;

    if (secs_arg(cmd, opt, arg, &v))
        return -1;
    if (v > UINT32_MAX / 1000.0)
        return bad(cmd, opt, arg, "at most 4294967 seconds");
    *out = (uint32_t)(v * 1000);
    return 0;
}

static int http_arg(const char *cmd, const char *arg)
{
    struct sockaddr_storage addr;

    if (http_parse_addr(arg, &addr))
        return bad(cmd, "--http", arg,
                   "ADDR:PORT (an IPv4 address, or an IPv6 one in brackets, "
                   "and a port from 1 to 65535)");
    return 0;
}

/* An http:// or https:// address, as users will see it in messages:
 * printable ASCII with no spaces. */
static int url_arg(const char *cmd, const char *arg)
{
    size_t skip = !strncmp(arg, "http://", 7)    ? 7
                  : !strncmp(arg, "https://", 8) ? 8
                                                 : 0;
    const char *p = arg + skip;

    while (skip && *p > ' ' && *p < 0x7f)
        p++;
    if (!skip || *p || p == arg + skip)
        return bad(cmd, "--http-url", arg,
                   "an http:// or https:// address with no spaces");
    return 0;
}

/* Reads the first line of path into a new string. */
static char *first_line(const char *path)
{
    FILE *in = fopen(path, "r");
    char buf[1024];
    size_t n;

    if (!in)
        return NULL;
    if (!fgets(buf, sizeof buf, in))
        buf[0] = '\0';
    fclose(in);
    n = strcspn(buf, "\r\n");
    buf[n] = '\0';
    return strdup(buf);
}

struct lines {
    char **v;
    unsigned n;
};

static void free_lines(struct lines *l)
{
    unsigned i;

    for (i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Non-empty lines of a file not starting with '#'. 0 or -1 (errno). */
static int read_lines(const char *path, struct lines *out)
{
    FILE *in = fopen(path, "r");
    char buf[4096];
    char **v;

    if (!in)
        return -1;
    while (fgets(buf, sizeof buf, in)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        if (!buf[0] || buf[0] == '#')
            continue;
        v = realloc(out->v, (out->n + 1) * sizeof *v);
        if (!v || !(v[out->n] = strdup(buf))) {
            if (v)
                out->v = v;
            fclose(in);
            errno = ENOMEM;
            return -1;
        }
        out->v = v;
        out->n++;
    }
    fclose(in);
    return 0;
}

/* Turns "key = value" lines of a config file into "--key=value"
 * arguments placed before the command line's, which thus win. */
static int config_args(const char *path, struct lines *args)
{
    struct lines raw = {0};
    char **grown;
    unsigned i;

    if (read_lines(path, &raw)) {
        xb_cli_error("cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    /* Several --config files add up, in order. */
    grown = realloc(args->v, (args->n + raw.n + 1) * sizeof *args->v);
    if (!grown) {
        free_lines(&raw);
        return -1;
    }
    args->v = grown;
    for (i = 0; i < raw.n; i++) {
        char *k = raw.v[i], *eq = strchr(k, '='), *v, *e;
        size_t n;

        if (!eq) {
            xb_cli_error("%s: line '%s' is not 'option = value'", path, k);
            free_lines(&raw);
            return -1;
        }
        for (e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
            ;
        for (v = eq + 1; *v == ' ' || *v == '\t'; v++)
            ;
        n = (size_t)(e - k) + strlen(v) + 4;
        args->v[args->n] = malloc(n);
        if (!args->v[args->n]) {
            free_lines(&raw);
            return -1;
        }
        if (*v)
            snprintf(args->v[args->n], n, "--%.*s=%s", (int)(e - k), k, v);
        else
            snprintf(args->v[args->n], n, "--%.*s", (int)(e - k), k);
        args->n++;
    }
    free_lines(&raw);
    return 0;
}

/* What the command line gathers besides the farm's config. */
struct args {
    const char *cmd;
    const char *password_file;
    const char *secret_file;
    int verbosity;
    int help;
};

/* One of the options every command shares. 0, or -1 (said). */
static int common_option(struct args *a, struct farm_config *cfg, int opt,
                         const char *arg)
{
    const char *cmd = a->cmd;
    unsigned u;
    int rc = 0;

    switch (opt) {
    case O_HOST: {
        char err[400];

        if (farm_parse_servers(cfg, arg, err, sizeof err)) {
            xb_cli_error("%s: --host: %s", cmd, err);
            rc = -1;
        }
        break;
    }
    case O_PORT:
        rc = uint_arg(cmd, "--port", arg, 1, 65535, &cfg->port);
        break;
    case 'j':
        cfg->jid = arg;
        break;
    case 'n':
        rc = uint_arg(cmd, "--count", arg, 1, 1000000, &cfg->count);
        break;
    case O_FIRST:
        rc = uint_arg(cmd, "--first", arg, 0, UINT_MAX / 2, &cfg->first);
        break;
    case 'p':
        cfg->password = arg;
        break;
    case O_PASSWORD_FILE:
        a->password_file = arg;
        break;
    case O_TLS:
        if (!strcmp(arg, "required"))
            cfg->tls = FARM_TLS_REQUIRED;
        else if (!strcmp(arg, "starttls"))
            cfg->tls = FARM_TLS_STARTTLS;
        else if (!strcmp(arg, "direct"))
            cfg->tls = FARM_TLS_DIRECT;
        else if (!strcmp(arg, "none"))
            cfg->tls = FARM_TLS_NONE;
        else
            rc = bad(cmd, "--tls", arg,
                     "'required', 'starttls', 'direct' or 'none'");
        break;
    case O_CAFILE:
        cfg->cafile = arg;
        break;
    case O_INSECURE:
        cfg->insecure = 1;
        break;
    case O_ALLOW_PLAIN:
        cfg->allow_plain = 1;
        break;
    case O_CONNECT_RATE:
        rc = secs_arg(cmd, "--connect-rate", arg, &cfg->connect_rate);
        if (!rc && cfg->connect_rate <= 0)
            rc = bad(cmd, "--connect-rate", arg, "a positive rate");
        break;
    case O_DURATION:
        rc = secs_arg(cmd, "--duration", arg, &cfg->duration);
        break;
    case O_RETRIES:
        rc = uint_arg(cmd, "--retries", arg, 0, 1000000, &cfg->retries);
        break;
    case O_CONNECT_TIMEOUT:
        rc = ms_arg(cmd, "--connect-timeout", arg, &cfg->connect_timeout_ms);
        break;
    case O_LOGIN_TIMEOUT:
        rc = ms_arg(cmd, "--login-timeout", arg, &cfg->login_timeout_ms);
        break;
    case O_KEEPALIVE:
        rc = ms_arg(cmd, "--keepalive", arg, &cfg->keepalive_ms);
        break;
    case O_SM:
        if (xb_sm_mode_parse(arg, &cfg->sm))
            rc = bad(cmd, "--sm", arg, "resume, ack or off");
        break;
    case O_SM_QUEUE:
        rc = uint_arg(cmd, "--sm-queue", arg, 1, 1000000, &u);
        cfg->sm_queue = u;
        break;
    case O_SM_RESUME:
        rc = uint_arg(cmd, "--sm-resume", arg, 1, 86400, &u);
        cfg->sm_resume_s = u;
        break;
    case O_COMPONENT:
        cfg->component = arg;
        break;
    case O_SECRET:
        cfg->secret = arg;
        break;
    case O_SECRET_FILE:
        a->secret_file = arg;
        break;
    case O_CONNECTIONS:
        rc = uint_arg(cmd, "--connections", arg, 1, 1000, &cfg->connections);
        break;
    case O_HTTP:
        rc = http_arg(cmd, arg);
        cfg->http = arg;
        break;
    case O_HTTP_URL:
        rc = url_arg(cmd, arg);
        cfg->http_url = arg;
        break;
    case O_DB:
        cfg->db = arg;
        break;
    case O_SEED:
        rc = uint_arg(cmd, "--seed", arg, 0, UINT_MAX, &u);
        cfg->seed = u;
        break;
    case O_LOG_LEVEL:
        if (xb_log_level_parse(arg, &cfg->log_level))
            rc = bad(cmd, "--log-level", arg, "error, warn, info or debug");
        break;
    case 'v':
        a->verbosity++;
        break;
    case 'q':
        a->verbosity--;
        break;
    case O_XML_TRACE:
        cfg->trace_path = arg;
        break;
    case O_STATS:
        cfg->stats_path = arg;
        break;
    case O_STATS_INTERVAL:
        rc = secs_arg(cmd, "--stats-interval", arg, &cfg->stats_interval);
        if (!rc && cfg->stats_interval < 0.1)
            rc = bad(cmd, "--stats-interval", arg, "at least 0.1");
        break;
    case O_NO_PROGRESS:
        cfg->quiet = 1;
        break;
    case O_CONFIG:
        break; /* read before the command line */
    case 'h':
        a->help = 1;
        break;
    default:
        xb_cli_error("%s: see 'xmppbots %s --help'", cmd, cmd);
        return -1;
    }
    return rc;
}

/* The kind's option o from the command line: its text form, or for a
 * list the file naming its items. 0, or an exit status (said). */
static int kind_option(const char *cmd, struct xb_bot_config *bc,
                       const struct xb_bot_option *o, const char *arg)
{
    struct lines items = {0};
    char name[64], err[300];
    int rc;

    dashed(o->name, name, sizeof name);
    if (o->type == XB_OPT_LIST) {
        if (read_lines(arg, &items) || items.n == 0) {
            xb_cli_error("%s: --%s: %s has no lines to read", cmd, name, arg);
            free_lines(&items);
            return XB_EXIT_INPUT;
        }
        rc = xb_bot_config_set_list(bc, o->name, (const char *const *)items.v,
                                    items.n, err, sizeof err);
        free_lines(&items);
    } else {
        rc = xb_bot_config_set(bc, o->name, arg, err, sizeof err);
    }
    if (rc) {
        xb_cli_error("%s: --%s needs %s, not '%s'", cmd, name, err, arg);
        return XB_EXIT_USAGE;
    }
    return 0;
}

/* getopt's table: the common options, then the kind's (their names are
 * stored in names, one slot of size each). NULL on OOM. */
static struct option *build_options(const struct xb_bot_kind *k, char **names)
{
    const struct xb_bot_option *o;
    struct option *opts;
    size_t n = 0, i;

    while (k->options[n].name)
        n++;
    opts = calloc(NCOMMON + n + 1, sizeof *opts);
    *names = calloc(n + 1, 64);
    if (!opts || !*names) {
        free(opts);
        free(*names);
        return NULL;
    }
    memcpy(opts, common_options, sizeof common_options);
    for (o = k->options, i = 0; o->name; o++, i++) {
        dashed(o->name, *names + i * 64, 64);
        opts[NCOMMON + i].name = *names + i * 64;
        opts[NCOMMON + i].has_arg = required_argument;
        opts[NCOMMON + i].val = O_KIND + (int)i;
    }
    return opts;
}

/* The account settings that need each other. 0, or an exit status. */
static int check_accounts(struct args *a, struct farm_config *cfg,
                          char **password, char **secret)
{
    const char *cmd = a->cmd, *pct;

    if (!cfg->jid) {
        xb_cli_error("%s: --jid is required", cmd);
        return XB_EXIT_USAGE;
    }
    pct = strchr(cfg->jid, '%');
    if (pct && (pct[1] != 'd' || strchr(pct + 2, '%'))) {
        xb_cli_error("%s: the JID pattern takes one %%d", cmd);
        return XB_EXIT_USAGE;
    }
    if (!pct && cfg->count > 1) {
        xb_cli_error("%s: --count %u needs a JID pattern with %%d", cmd,
                     cfg->count);
        return XB_EXIT_USAGE;
    }
    if (cfg->component || cfg->secret || a->secret_file) {
        if (!cfg->component) {
            xb_cli_error("%s: --secret needs --component", cmd);
            return XB_EXIT_USAGE;
        }
        if (a->secret_file) {
            *secret = first_line(a->secret_file);
            if (!*secret) {
                xb_cli_error("%s: cannot read %s: %s", cmd, a->secret_file,
                             strerror(errno));
                return XB_EXIT_INPUT;
            }
            cfg->secret = *secret;
        }
        if (!cfg->secret) {
            xb_cli_error("%s: --component needs --secret or --secret-file",
                         cmd);
            return XB_EXIT_USAGE;
        }
        return 0; /* virtual users: no accounts, no passwords */
    }
    if (a->password_file) {
        *password = first_line(a->password_file);
        if (!*password) {
            xb_cli_error("%s: cannot read %s: %s", cmd, a->password_file,
                         strerror(errno));
            return XB_EXIT_INPUT;
        }
        cfg->password = *password;
    }
    if (!cfg->password) {
        xb_cli_error("%s: --password or --password-file is required", cmd);
        return XB_EXIT_USAGE;
    }
    return 0;
}

/* What the kind's flags and hooks ask of the command line: a service
 * needs its domain (and is the domain, by default), pages need a web
 * server and a web server needs pages. 0, or an exit status (said). */
static int check_kind(const struct xb_bot_kind *k, struct farm_config *cfg)
{
    const char *cmd = k->name;

    if ((k->flags & XB_KIND_SERVICE) && !cfg->component) {
        xb_cli_error("%s: %s bots are a service at a domain: they need "
                     "--component DOMAIN (and --secret)",
                     cmd, cmd);
        return XB_EXIT_USAGE;
    }
    if ((k->flags & XB_KIND_SERVICE) && !cfg->jid)
        cfg->jid = cfg->component;
    if (cfg->http && !k->http) {
        xb_cli_error("%s: --http: %s bots have no web pages", cmd, cmd);
        return XB_EXIT_USAGE;
    }
    if (k->http && !cfg->http) {
        xb_cli_error("%s: --http ADDR:PORT is required: %s bots serve web "
                     "pages",
                     cmd, cmd);
        return XB_EXIT_USAGE;
    }
    if (cfg->http_url && !cfg->http) {
        xb_cli_error("%s: --http-url needs --http", cmd);
        return XB_EXIT_USAGE;
    }
    if ((cfg->http || cfg->db) && !cfg->component) {
        xb_cli_error("%s: --%s is for component bots (--component)", cmd,
                     cfg->http ? "http" : "db");
        return XB_EXIT_USAGE;
    }
    return 0;
}

static void set_defaults(struct farm_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->count = 1;
    cfg->tls = FARM_TLS_REQUIRED;
    cfg->connect_rate = 100;
    cfg->log_level = XB_LOG_WARN;
    cfg->stats_interval = 5;
    cfg->seed = 1;
    cfg->connect_timeout_ms = 10000;
    cfg->login_timeout_ms = 30000;
    cfg->keepalive_ms = 60000;
    cfg->sm = XB_SM_RESUME;
    cfg->sm_queue = XB_SM_QUEUE_DEFAULT;
    cfg->retries = 10;
    cfg->connections = 1;
    cfg->backoff_min_ms = 1000;
    cfg->backoff_max_ms = 60000;
}

/* argv with a config file's options first, so that the command line
 * overrides them. NULL on failure (said). */
static char **with_config(int argc, char **argv, struct lines *conf, int *ac)
{
    char **av;
    unsigned u;
    int i;

    for (i = 1; i < argc; i++) {
        const char *path = NULL;

        if (!strncmp(argv[i], "--config=", 9))
            path = argv[i] + 9;
        else if (!strcmp(argv[i], "--config") && i + 1 < argc)
            path = argv[i + 1];
        if (path && config_args(path, conf))
            return NULL;
    }
    av = calloc((size_t)argc + conf->n + 1, sizeof *av);
    if (!av) {
        xb_cli_error("out of memory");
        return NULL;
    }
    *ac = 0;
    av[(*ac)++] = argv[0];
    for (u = 0; u < conf->n; u++)
        av[(*ac)++] = conf->v[u];
    for (i = 1; i < argc; i++)
        av[(*ac)++] = argv[i];
    return av;
}

/* A JSON string. */
static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_field(const char *name, const char *value, const char *sep)
{
    json_str(name);
    fputs(": ", stdout);
    json_str(value);
    fputs(sep, stdout);
}

/* One kind as JSON: its name, summary, options and counters. */
static void kind_json(const struct xb_bot_kind *k)
{
    const struct xb_bot_option *o;
    unsigned i, n = xb_bot_ncounters(k);
    char def[64];

    printf("  {");
    json_field("kind", k->name, ", ");
    json_field("summary", k->summary, ", ");
    printf("\"service\": %s, \"pages\": %s, ",
           k->flags & XB_KIND_SERVICE ? "true" : "false",
           k->http ? "true" : "false");
    printf("\"options\": [");
    for (o = k->options; o->name; o++) {
        printf("%s\n    {", o == k->options ? "" : ",");
        json_field("name", o->name, ", ");
        json_field("arg", o->arg, ", ");
        json_field("type", xb_bot_option_type_name(o->type), ", ");
        xb_bot_option_default(o, def, sizeof def);
        json_field("default", def, ", ");
        printf("\"required\": %s, ",
               o->flags & XB_OPT_REQUIRED ? "true" : "false");
        json_field("help", o->help, "}");
    }
    printf("],\n   \"counters\": [");
    for (i = 0; i < n; i++) {
        const struct xb_bot_counter *c = xb_bot_counter_at(k, i);

        printf("%s\n    {", i ? "," : "");
        json_field("name", c->name, ", ");
        json_field("label", c->label, ", ");
        json_field("help", c->help, "}");
    }
    printf("]}");
}

int xb_cmd_kinds(int argc, char **argv)
{
    unsigned i;

    if (argc > 1) {
        fprintf(stderr, "Usage: xmppbots kinds\nPrints the bot kinds, their "
                        "options and counters, as JSON.\n");
        return argc == 2 && !strcmp(argv[1], "--help") ? XB_EXIT_OK
                                                       : XB_EXIT_USAGE;
    }
    printf("{\"kinds\": [\n");
    for (i = 0; xb_bot_kinds[i]; i++) {
        kind_json(xb_bot_kinds[i]);
        printf("%s\n", xb_bot_kinds[i + 1] ? "," : "");
    }
    printf("]}\n");
    return XB_EXIT_OK;
}

int xb_cmd_bots(const struct xb_bot_kind *k, int argc, char **argv)
{
    struct farm_config cfg;
    struct args a = {k->name, NULL, NULL, 0, 0};
    struct lines conf = {0};
    struct xb_bot_config *bc = xb_bot_config_new(k);
    struct option *opts = NULL;
    char **av = NULL, *password = NULL, *secret = NULL, *names = NULL,
         err[300];
    int ac = 0, opt, status = XB_EXIT_USAGE;

    set_defaults(&cfg);
    cfg.bot = bc;
    if (!bc || !(opts = build_options(k, &names))) {
        xb_cli_error("%s: out of memory", k->name);
        goto out;
    }
    if (!(av = with_config(argc, argv, &conf, &ac)))
        goto out;
    optind = 1;
    while ((opt = getopt_long(ac, av, "j:n:p:qvh", opts, NULL)) != -1) {
        if (opt >= O_KIND)
            status =
                kind_option(k->name, bc, &k->options[opt - O_KIND], optarg);
        else
            status = common_option(&a, &cfg, opt, optarg) ? XB_EXIT_USAGE : 0;
        if (status)
            goto out;
        if (a.help) {
            set_defaults(&cfg);
            usage(stdout, k, &cfg);
            goto out; /* status 0 */
        }
    }
    status = XB_EXIT_USAGE;
    if (optind < ac) {
        xb_cli_error("%s: unexpected argument '%s'", k->name, av[optind]);
        goto out;
    }
    if (a.verbosity > 0)
        cfg.log_level = a.verbosity > 1 ? XB_LOG_DEBUG : XB_LOG_INFO;
    else if (a.verbosity < 0)
        cfg.log_level = XB_LOG_ERROR;
    if ((status = check_kind(k, &cfg)) ||
        (status = check_accounts(&a, &cfg, &password, &secret)))
        goto out;
    if (xb_bot_config_check(bc, err, sizeof err)) {
        xb_cli_error("%s: %s (see 'xmppbots %s --help')", k->name, err,
                     k->name);
        status = XB_EXIT_USAGE;
        goto out;
    }
    status = farm_run(&cfg);
out:
    free(av);
    free(opts);
    free(names);
    free(password);
    if (secret) {
        memset(secret, 0, strlen(secret));
        free(secret);
    }
    free_lines(&conf);
    xb_bot_config_free(bc);
    return status;
}
