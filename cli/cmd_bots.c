/*
 * xmppbots echo | jumper | load: the options shared by every bot command
 * (server, accounts, TLS, pacing, logging) and each command's own, read
 * from a config file and the command line, then handed to the farm.
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
    O_SEED,
    O_LOG_LEVEL,
    O_XML_TRACE,
    O_STATS,
    O_STATS_INTERVAL,
    O_NO_PROGRESS,
    O_CONFIG,
    O_MUC,
    O_ROOMS,
    O_ROOM_PREFIX,
    O_NICK,
    O_PHRASES,
    O_INTERVAL,
    O_PHRASES_FILE,
    O_TO,
    O_MESSAGES,
    O_WINDOW,
    O_BODY_BYTES,
    O_MESSAGE_TIMEOUT
};

static const struct option options[] = {
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
    {"seed", required_argument, NULL, O_SEED},
    {"log-level", required_argument, NULL, O_LOG_LEVEL},
    {"xml-trace", required_argument, NULL, O_XML_TRACE},
    {"stats", required_argument, NULL, O_STATS},
    {"stats-interval", required_argument, NULL, O_STATS_INTERVAL},
    {"no-progress", no_argument, NULL, O_NO_PROGRESS},
    {"config", required_argument, NULL, O_CONFIG},
    {"muc", required_argument, NULL, O_MUC},
    {"rooms", required_argument, NULL, O_ROOMS},
    {"room-prefix", required_argument, NULL, O_ROOM_PREFIX},
    {"nick", required_argument, NULL, O_NICK},
    {"phrases", required_argument, NULL, O_PHRASES},
    {"interval", required_argument, NULL, O_INTERVAL},
    {"phrases-file", required_argument, NULL, O_PHRASES_FILE},
    {"to", required_argument, NULL, O_TO},
    {"messages", required_argument, NULL, O_MESSAGES},
    {"window", required_argument, NULL, O_WINDOW},
    {"body-bytes", required_argument, NULL, O_BODY_BYTES},
    {"message-timeout", required_argument, NULL, O_MESSAGE_TIMEOUT},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

static void usage(FILE *f, const char *cmd)
{
    fprintf(f, "Usage: xmppbots %s [OPTIONS]\n", cmd);
    if (!strcmp(cmd, "echo"))
        fprintf(f, "Run echo bots: each answers chat messages with the same "
                   "body.\n");
    else if (!strcmp(cmd, "jumper"))
        fprintf(f, "Run jumper bots: each joins a random MUC room, says a "
                   "few phrases, leaves and\njumps to another room.\n");
    else
        fprintf(f, "Load test: each user sends --messages chat messages to "
                   "the echo bot --to and\nreports round-trip times.\n");
    fprintf(f,
            "\nAccounts and server:\n"
            "  -j, --jid JID           account, or a pattern with %%d for "
            "--count (user_%%d@host)\n"
            "  -n, --count N           number of bots (default 1)\n"
            "      --first N           first number for the pattern "
            "(default 0)\n"
            "  -p, --password PW       password (or --password-file FILE, "
            "first line)\n"
            "      --host HOST         server to connect to (default: DNS "
            "SRV, then the JID's domain)\n"
            "      --port N            port (default: SRV, else 5222)\n"
            "      --tls MODE          required (default: STARTTLS or fail) "
            "or none\n"
            "      --cafile FILE       trust this CA (default: the system "
            "store)\n"
            "      --insecure          do not verify the server certificate\n"
            "      --allow-plain       allow SASL PLAIN without TLS\n"
            "\nRunning:\n"
            "      --connect-rate N    logins started per second (default "
            "100)\n"
            "      --duration S        stop after S seconds (default: run "
            "until SIGINT/SIGTERM)\n"
            "      --retries N         consecutive failures before a bot "
            "gives up (default 10)\n"
            "      --connect-timeout S, --login-timeout S  (default 10, 30)\n"
            "      --keepalive S       ping the server after S idle seconds "
            "(default 60; 0 off)\n"
            "      --seed N            random seed, for reproducible runs "
            "(default 1)\n"
            "      --log-level L       error, warn (default), info or debug "
            "(-v: info, -q: error)\n"
            "      --xml-trace FILE    append every stanza sent and "
            "received ('-': stderr)\n"
            "      --stats FILE        write JSON stats there every "
            "--stats-interval S (default 5)\n"
            "      --no-progress       no live progress line on a terminal\n"
            "      --config FILE       read options from FILE: one "
            "'option = value' per line\n");
    if (!strcmp(cmd, "jumper"))
        fprintf(f, "\nJumper:\n"
                   "      --muc SERVICE       MUC service (default: "
                   "conference.<domain>)\n"
                   "      --rooms N           rooms bot_room_0 .. N-1 (default "
                   "10)\n"
                   "      --room-prefix P     room name prefix (default "
                   "bot_room_)\n"
                   "      --nick NICK         nickname (default: the JID's "
                   "localpart)\n"
                   "      --phrases A-B       phrases per room visit (default "
                   "5-9)\n"
                   "      --interval A-B      seconds between phrases (default "
                   "5-15; decimals allowed)\n"
                   "      --phrases-file F    one phrase per line (default: a "
                   "built-in list)\n");
    if (!strcmp(cmd, "load"))
        fprintf(f, "\nLoad:\n"
                   "      --to JID            the echo bot (required)\n"
                   "      --messages M        messages per user (default 100)\n"
                   "      --window W          messages in flight per user "
                   "(default 1)\n"
                   "      --body-bytes B      body size (default 64, at most "
                   "4096)\n"
                   "      --message-timeout S an echo later than this is lost "
                   "(default 10)\n");
    fprintf(f, "\nExit status: 0 every bot got online (load: every message "
               "echoed), 1 failure,\n2 usage, 3 authentication failed, 4 "
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
    *out = (uint32_t)(v * 1000);
    return 0;
}

/* "A-B" or "A" for a range of numbers (seconds when scale is 1000). */
static int range_arg(const char *cmd, const char *opt, const char *arg,
                     double scale, double maxv, uint32_t *lo, uint32_t *hi)
{
    char *end;
    double a, b;

    errno = 0;
    a = strtod(arg, &end);
    b = a;
    if (!errno && *end == '-' && end != arg)
        b = strtod(end + 1, &end);
    if (errno || *end || a < 0 || b < a || b > maxv)
        return bad(cmd, opt, arg, "a range like 5-15");
    *lo = (uint32_t)(a * scale);
    *hi = (uint32_t)(b * scale);
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
    unsigned i;

    if (read_lines(path, &raw)) {
        xb_cli_error("cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    args->v = calloc(raw.n + 1, sizeof *args->v);
    if (!args->v && raw.n) {
        free_lines(&raw);
        return -1;
    }
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

static int run(const char *cmd, enum farm_role role, int argc, char **argv)
{
    struct farm_config cfg = {0};
    struct lines phrases = {0}, conf = {0};
    char **av = NULL, *password = NULL, *muc = NULL;
    const char *phrases_file = NULL, *password_file = NULL;
    uint32_t lo, hi;
    int i, ac = 0, opt, status = XB_EXIT_USAGE, verbosity = 0;
    unsigned u;

    cfg.role = role;
    cfg.count = 1;
    cfg.tls = XB_TLS_REQUIRED;
    cfg.connect_rate = 100;
    cfg.log_level = XB_LOG_WARN;
    cfg.stats_interval = 5;
    cfg.seed = 1;
    cfg.connect_timeout_ms = 10000;
    cfg.login_timeout_ms = 30000;
    cfg.keepalive_ms = 60000;
    cfg.retries = 10;
    cfg.backoff_min_ms = 1000;
    cfg.backoff_max_ms = 60000;
    cfg.messages = 100;
    cfg.window = 1;
    cfg.body_bytes = 64;
    cfg.message_timeout_ms = 10000;

    /* A config file comes first so that the command line overrides it. */
    for (i = 1; i < argc; i++) {
        const char *path = NULL;

        if (!strncmp(argv[i], "--config=", 9))
            path = argv[i] + 9;
        else if (!strcmp(argv[i], "--config") && i + 1 < argc)
            path = argv[i + 1];
        if (path && config_args(path, &conf))
            goto out;
    }
    av = calloc((size_t)argc + conf.n + 1, sizeof *av);
    if (!av)
        goto out;
    av[ac++] = argv[0];
    for (u = 0; u < conf.n; u++)
        av[ac++] = conf.v[u];
    for (i = 1; i < argc; i++)
        av[ac++] = argv[i];

    optind = 1;
    while ((opt = getopt_long(ac, av, "j:n:p:qvh", options, NULL)) != -1) {
        int rc = 0;

        switch (opt) {
        case O_HOST:
            cfg.host = optarg;
            break;
        case O_PORT:
            rc = uint_arg(cmd, "--port", optarg, 1, 65535, &cfg.port);
            break;
        case 'j':
            cfg.jid = optarg;
            break;
        case 'n':
            rc = uint_arg(cmd, "--count", optarg, 1, 1000000, &cfg.count);
            break;
        case O_FIRST:
            rc = uint_arg(cmd, "--first", optarg, 0, UINT_MAX / 2, &cfg.first);
            break;
        case 'p':
            cfg.password = optarg;
            break;
        case O_PASSWORD_FILE:
            password_file = optarg;
            break;
        case O_TLS:
            if (!strcmp(optarg, "required") || !strcmp(optarg, "starttls"))
                cfg.tls = XB_TLS_REQUIRED;
            else if (!strcmp(optarg, "none"))
                cfg.tls = XB_TLS_NONE;
            else
                rc = bad(cmd, "--tls", optarg, "'required' or 'none'");
            break;
        case O_CAFILE:
            cfg.cafile = optarg;
            break;
        case O_INSECURE:
            cfg.insecure = 1;
            break;
        case O_ALLOW_PLAIN:
            cfg.allow_plain = 1;
            break;
        case O_CONNECT_RATE:
            rc = secs_arg(cmd, "--connect-rate", optarg, &cfg.connect_rate);
            if (!rc && cfg.connect_rate <= 0)
                rc = bad(cmd, "--connect-rate", optarg, "a positive rate");
            break;
        case O_DURATION:
            rc = secs_arg(cmd, "--duration", optarg, &cfg.duration);
            break;
        case O_RETRIES:
            rc = uint_arg(cmd, "--retries", optarg, 0, 1000000, &cfg.retries);
            break;
        case O_CONNECT_TIMEOUT:
            rc = ms_arg(cmd, "--connect-timeout", optarg,
                        &cfg.connect_timeout_ms);
            break;
        case O_LOGIN_TIMEOUT:
            rc = ms_arg(cmd, "--login-timeout", optarg, &cfg.login_timeout_ms);
            break;
        case O_KEEPALIVE:
            rc = ms_arg(cmd, "--keepalive", optarg, &cfg.keepalive_ms);
            break;
        case O_SEED:
            rc = uint_arg(cmd, "--seed", optarg, 0, UINT_MAX, &u);
            cfg.seed = u;
            break;
        case O_LOG_LEVEL:
            if (!strcmp(optarg, "error"))
                cfg.log_level = XB_LOG_ERROR;
            else if (!strcmp(optarg, "warn"))
                cfg.log_level = XB_LOG_WARN;
            else if (!strcmp(optarg, "info"))
                cfg.log_level = XB_LOG_INFO;
            else if (!strcmp(optarg, "debug"))
                cfg.log_level = XB_LOG_DEBUG;
            else
                rc = bad(cmd, "--log-level", optarg,
                         "error, warn, info or debug");
            break;
        case 'v':
            verbosity++;
            break;
        case 'q':
            verbosity--;
            break;
        case O_XML_TRACE:
            cfg.trace_path = optarg;
            break;
        case O_STATS:
            cfg.stats_path = optarg;
            break;
        case O_STATS_INTERVAL:
            rc = secs_arg(cmd, "--stats-interval", optarg, &cfg.stats_interval);
            if (!rc && cfg.stats_interval < 0.1)
                rc = bad(cmd, "--stats-interval", optarg, "at least 0.1");
            break;
        case O_NO_PROGRESS:
            cfg.quiet = 1;
            break;
        case O_CONFIG:
            break; /* read above */
        case O_MUC:
            cfg.jumper.muc_service = optarg;
            break;
        case O_ROOMS:
            rc = uint_arg(cmd, "--rooms", optarg, 1, 10000000,
                          &cfg.jumper.rooms);
            break;
        case O_ROOM_PREFIX:
            cfg.jumper.room_prefix = optarg;
            break;
        case O_NICK:
            cfg.jumper.nick = optarg;
            break;
        case O_PHRASES:
            rc = range_arg(cmd, "--phrases", optarg, 1, 100000, &lo, &hi);
            if (!rc && lo == 0)
                rc = bad(cmd, "--phrases", optarg, "at least 1 phrase");
            cfg.jumper.min_phrases = lo;
            cfg.jumper.max_phrases = hi;
            break;
        case O_INTERVAL:
            rc = range_arg(cmd, "--interval", optarg, 1000, 86400,
                           &cfg.jumper.min_interval_ms,
                           &cfg.jumper.max_interval_ms);
            if (!rc && cfg.jumper.max_interval_ms == 0)
                rc = bad(cmd, "--interval", optarg, "a non-zero interval");
            break;
        case O_PHRASES_FILE:
            phrases_file = optarg;
            break;
        case O_TO:
            cfg.target = optarg;
            break;
        case O_MESSAGES:
            rc = uint_arg(cmd, "--messages", optarg, 1, 100000000,
                          &cfg.messages);
            break;
        case O_WINDOW:
            rc = uint_arg(cmd, "--window", optarg, 1, 1000, &cfg.window);
            break;
        case O_BODY_BYTES:
            rc =
                uint_arg(cmd, "--body-bytes", optarg, 1, 4096, &cfg.body_bytes);
            break;
        case O_MESSAGE_TIMEOUT:
            rc = ms_arg(cmd, "--message-timeout", optarg,
                        &cfg.message_timeout_ms);
            break;
        case 'h':
            usage(stdout, cmd);
            status = XB_EXIT_OK;
            goto out;
        default:
            xb_cli_error("%s: see 'xmppbots %s --help'", cmd, cmd);
            goto out;
        }
        if (rc)
            goto out;
    }
    if (optind < ac) {
        xb_cli_error("%s: unexpected argument '%s'", cmd, av[optind]);
        goto out;
    }
    if (verbosity > 0)
        cfg.log_level = verbosity > 1 ? XB_LOG_DEBUG : XB_LOG_INFO;
    else if (verbosity < 0)
        cfg.log_level = XB_LOG_ERROR;
    if (!cfg.jid) {
        xb_cli_error("%s: --jid is required", cmd);
        goto out;
    }
    {
        const char *pct = strchr(cfg.jid, '%');

        if (pct && (pct[1] != 'd' || strchr(pct + 2, '%'))) {
            xb_cli_error("%s: the JID pattern takes one %%d", cmd);
            goto out;
        }
        if (!pct && cfg.count > 1) {
            xb_cli_error("%s: --count %u needs a JID pattern with %%d", cmd,
                         cfg.count);
            goto out;
        }
    }
    if (password_file) {
        password = first_line(password_file);
        if (!password) {
            xb_cli_error("%s: cannot read %s: %s", cmd, password_file,
                         strerror(errno));
            status = XB_EXIT_INPUT;
            goto out;
        }
        cfg.password = password;
    }
    if (!cfg.password) {
        xb_cli_error("%s: --password or --password-file is required", cmd);
        goto out;
    }
    if (role == FARM_JUMPER) {
        if (!cfg.jumper.muc_service) {
            const char *at = strchr(cfg.jid, '@');
            const char *domain = at ? at + 1 : cfg.jid;
            size_t n = strcspn(domain, "/");

            muc = malloc(n + 12);
            if (!muc)
                goto out;
            snprintf(muc, n + 12, "conference.%.*s", (int)n, domain);
            cfg.jumper.muc_service = muc;
        }
        if (phrases_file) {
            if (read_lines(phrases_file, &phrases) || phrases.n == 0) {
                xb_cli_error("%s: %s has no phrases", cmd, phrases_file);
                status = XB_EXIT_INPUT;
                goto out;
            }
            cfg.jumper.phrases = (const char *const *)phrases.v;
            cfg.jumper.nphrases = phrases.n;
        }
    }
    if (role == FARM_LOAD && !cfg.target) {
        xb_cli_error("%s: --to (the echo bot's JID) is required", cmd);
        goto out;
    }
    status = farm_run(&cfg);
out:
    free(av);
    free(password);
    free(muc);
    free_lines(&phrases);
    free_lines(&conf);
    return status;
}

int xb_cmd_echo(int argc, char **argv)
{
    return run("echo", FARM_ECHO, argc, argv);
}

int xb_cmd_jumper(int argc, char **argv)
{
    return run("jumper", FARM_JUMPER, argc, argv);
}

int xb_cmd_load(int argc, char **argv)
{
    return run("load", FARM_LOAD, argc, argv);
}
