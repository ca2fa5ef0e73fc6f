/* Reference peer for bench/compare, not part of xmppbots.
 * A libstrophe echo bot: answers every chat or normal message that has a
 * body with the same body (and id) to the sender, like `xmppbots echo`.
 *   strophe_echo JID PASSWORD HOST PORT    (plain TCP; SIGTERM stops it) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>

static xmpp_ctx_t *ctx;

static int on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    const char *type = xmpp_stanza_get_type(st);
    const char *from = xmpp_stanza_get_from(st);
    char *body;
    xmpp_stanza_t *reply;

    (void)ud;
    if (type && strcmp(type, "chat") != 0 && strcmp(type, "normal") != 0)
        return 1;
    if (!from || !(body = xmpp_message_get_body(st)))
        return 1;
    reply = xmpp_message_new(ctx, type ? type : "normal", from,
                             xmpp_stanza_get_id(st));
    xmpp_message_set_body(reply, body);
    xmpp_send(conn, reply);
    xmpp_stanza_release(reply);
    xmpp_free(ctx, body);
    return 1;
}

static void on_conn(xmpp_conn_t *conn, xmpp_conn_event_t ev, int err,
                    xmpp_stream_error_t *serr, void *ud)
{
    (void)err, (void)serr, (void)ud;
    if (ev == XMPP_CONN_CONNECT) {
        xmpp_stanza_t *pres = xmpp_presence_new(ctx);

        xmpp_handler_add(conn, on_message, NULL, "message", NULL, NULL);
        xmpp_send(conn, pres);
        xmpp_stanza_release(pres);
        printf("online\n");
        fflush(stdout);
    } else {
        fprintf(stderr, "strophe_echo: disconnected\n");
        xmpp_stop(ctx);
    }
}

static void on_term(int sig)
{
    (void)sig;
    xmpp_stop(ctx);
}

int main(int argc, char **argv)
{
    xmpp_conn_t *conn;

    if (argc != 5) {
        fprintf(stderr, "usage: strophe_echo JID PASSWORD HOST PORT\n");
        return 2;
    }
    xmpp_initialize();
    ctx = xmpp_ctx_new(NULL, NULL);
    conn = xmpp_conn_new(ctx);
    xmpp_conn_set_flags(conn, XMPP_CONN_FLAG_DISABLE_TLS);
    xmpp_conn_set_jid(conn, argv[1]);
    xmpp_conn_set_pass(conn, argv[2]);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    if (xmpp_connect_client(conn, argv[3], (unsigned short)atoi(argv[4]),
                            on_conn, NULL) != XMPP_EOK)
        return 1;
    xmpp_run(ctx);
    xmpp_conn_release(conn);
    xmpp_ctx_free(ctx);
    xmpp_shutdown();
    return 0;
}
