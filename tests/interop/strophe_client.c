/* A libstrophe client for the interoperability tests.
 *
 * usage: strophe_client JID PASSWORD HOST PORT starttls|directtls [options]
 *   --cafile FILE     verify the server certificate against FILE (default: trust any)
 *   --send TO BODY    after login, send a chat message (repeatable, sent in order)
 *   --expect N        wait for N chat messages before logging out
 *   --echo            answer each received message with "echo: BODY"
 *   --timeout SECS    give up after SECS seconds (default 20)
 *
 * libstrophe 0.12 offers no way to choose the SASL mechanism: it takes the strongest the
 * server offers (SCRAM-SHA-512 > -256 > -1 > PLAIN). The tests choose it on the server.
 *
 * Prints one machine-readable line per event on stdout:
 *   CONNECTED, SECURED, BOUND <jid>, READY, SENT <to>, RECEIVED <from> <body>,
 *   ERROR <from> <stanza>, CERTFAIL <reason>, STREAM_ERROR <type> <text>,
 *   FAILED <errno>, DISCONNECTED, TIMEOUT
 * Exit codes: 0 done, 1 usage, 2 could not log in, 3 timeout, 4 connection lost
 * while busy, 5 an error stanza arrived.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strophe.h>

enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_LOGIN = 2, EXIT_TIMEOUT = 3, EXIT_LOST = 4,
       EXIT_ERROR_STANZA = 5 };

#define MAX_SENDS 16

struct client {
  xmpp_ctx_t *ctx;
  xmpp_conn_t *conn;
  const char *send_to[MAX_SENDS];
  const char *send_body[MAX_SENDS];
  int sends;
  int expect;
  int received;
  int echo;
  int logged_in;   /* the session was established */
  int finishing;   /* we asked to log out: a disconnect is expected now */
  int exit_code;
};

static void finish(struct client *c, int code) {
  if (c->exit_code == EXIT_OK) c->exit_code = code;
  if (c->finishing) return;
  c->finishing = 1;
  /* A clean logout: </stream:stream> goes out after everything queued before it. */
  xmpp_disconnect(c->conn);
}

static void maybe_done(struct client *c) {
  if (c->received >= c->expect) finish(c, EXIT_OK);
}

static void send_chat(struct client *c, const char *to, const char *body) {
  xmpp_stanza_t *msg = xmpp_message_new(c->ctx, "chat", to, NULL);
  xmpp_message_set_body(msg, body);
  xmpp_send(c->conn, msg);
  xmpp_stanza_release(msg);
  printf("SENT %s\n", to);
}

static int on_message(xmpp_conn_t *conn, xmpp_stanza_t *stanza, void *userdata) {
  (void)conn;
  struct client *c = userdata;
  const char *from = xmpp_stanza_get_from(stanza);
  const char *type = xmpp_stanza_get_type(stanza);
  if (type && strcmp(type, "error") == 0) {
    char *text = NULL;
    size_t len = 0;
    xmpp_stanza_to_text(stanza, &text, &len);
    printf("ERROR %s %s\n", from ? from : "-", text ? text : "");
    if (text) xmpp_free(c->ctx, text);
    finish(c, EXIT_ERROR_STANZA);
    return 1;
  }
  char *body = xmpp_message_get_body(stanza);
  if (!body) return 1;  /* not a chat message (e.g. a chat state): not counted */
  printf("RECEIVED %s %s\n", from ? from : "-", body);
  if (c->echo && from) {
    size_t n = strlen(body) + sizeof "echo: ";
    char *reply = malloc(n);
    snprintf(reply, n, "echo: %s", body);
    send_chat(c, from, reply);
    free(reply);
  }
  xmpp_free(c->ctx, body);
  c->received++;
  maybe_done(c);
  return 1;
}

/* The server answers the legacy <session/> itself. Its reply proves the presence sent
 * before it was processed, so a peer may now write to our bare JID. */
static int on_barrier(xmpp_conn_t *conn, xmpp_stanza_t *stanza, void *userdata) {
  (void)conn;
  struct client *c = userdata;
  const char *type = xmpp_stanza_get_type(stanza);
  if (!type || strcmp(type, "result") != 0) {
    printf("ERROR - session iq answered with type %s\n", type ? type : "(none)");
    finish(c, EXIT_ERROR_STANZA);
    return 0;
  }
  printf("READY\n");
  for (int i = 0; i < c->sends; ++i) send_chat(c, c->send_to[i], c->send_body[i]);
  maybe_done(c);
  return 0;
}

static void on_connection(xmpp_conn_t *conn, xmpp_conn_event_t event, int error,
                          xmpp_stream_error_t *stream_error, void *userdata) {
  struct client *c = userdata;
  if (event == XMPP_CONN_CONNECT) {
    c->logged_in = 1;
    printf("CONNECTED\n");
    if (xmpp_conn_is_secured(conn)) printf("SECURED\n");
    printf("BOUND %s\n", xmpp_conn_get_bound_jid(conn));
    xmpp_handler_add(conn, on_message, NULL, "message", NULL, c);

    xmpp_stanza_t *presence = xmpp_presence_new(c->ctx);
    xmpp_send(conn, presence);
    xmpp_stanza_release(presence);

    xmpp_stanza_t *iq = xmpp_iq_new(c->ctx, "set", "barrier");
    xmpp_stanza_t *session = xmpp_stanza_new(c->ctx);
    xmpp_stanza_set_name(session, "session");
    xmpp_stanza_set_ns(session, "urn:ietf:params:xml:ns:xmpp-session");
    xmpp_stanza_add_child(iq, session);
    xmpp_stanza_release(session);
    xmpp_id_handler_add(conn, on_barrier, "barrier", c);
    xmpp_send(conn, iq);
    xmpp_stanza_release(iq);
    return;
  }
  /* XMPP_CONN_DISCONNECT or XMPP_CONN_FAIL: the connection is over either way. */
  if (stream_error)
    printf("STREAM_ERROR %d %s\n", (int)stream_error->type,
           stream_error->text ? stream_error->text : "");
  if (!c->logged_in) {
    printf("FAILED %d\n", error);
    if (c->exit_code == EXIT_OK) c->exit_code = EXIT_LOGIN;
  } else {
    printf("DISCONNECTED\n");
    if (!c->finishing && c->exit_code == EXIT_OK) c->exit_code = EXIT_LOST;
  }
  xmpp_stop(c->ctx);
}

static int on_timeout(xmpp_ctx_t *ctx, void *userdata) {
  struct client *c = userdata;
  printf("TIMEOUT\n");
  c->exit_code = EXIT_TIMEOUT;
  xmpp_stop(ctx);
  return 0;
}

static int on_certfail(const xmpp_tlscert_t *cert, const char *const errormsg) {
  (void)cert;
  printf("CERTFAIL %s\n", errormsg ? errormsg : "");
  return 0; /* refuse: the tests expect the generated certificate to verify */
}

static int usage(void) {
  fprintf(stderr,
          "usage: strophe_client JID PASSWORD HOST PORT starttls|directtls [--cafile FILE]\n"
          "       [--send TO BODY]... [--expect N] [--echo] [--timeout SECS]\n");
  return EXIT_USAGE;
}

int main(int argc, char **argv) {
  if (argc < 6) return usage();
  const char *jid = argv[1], *password = argv[2], *host = argv[3], *mode = argv[5];
  int port = atoi(argv[4]);
  long flags;
  if (strcmp(mode, "starttls") == 0) flags = XMPP_CONN_FLAG_MANDATORY_TLS;
  else if (strcmp(mode, "directtls") == 0) flags = XMPP_CONN_FLAG_LEGACY_SSL;  /* XEP-0368 */
  else return usage();
  if (port <= 0 || port > 65535) return usage();

  struct client c = {0};
  const char *cafile = NULL;
  unsigned long timeout_ms = 20000;
  for (int i = 6; i < argc; ++i) {
    if (strcmp(argv[i], "--cafile") == 0 && i + 1 < argc) {
      cafile = argv[++i];
    } else if (strcmp(argv[i], "--send") == 0 && i + 2 < argc && c.sends < MAX_SENDS) {
      c.send_to[c.sends] = argv[++i];
      c.send_body[c.sends++] = argv[++i];
    } else if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc) {
      c.expect = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--echo") == 0) {
      c.echo = 1;
    } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
      timeout_ms = strtoul(argv[++i], NULL, 10) * 1000;
    } else {
      return usage();
    }
  }
  setvbuf(stdout, NULL, _IOLBF, 0);  /* the test reads lines as they happen */
  signal(SIGPIPE, SIG_IGN);  /* a server that hangs up must not kill us mid-write */

  xmpp_initialize();
  xmpp_log_t *log = getenv("STROPHE_DEBUG") ? xmpp_get_default_logger(XMPP_LEVEL_DEBUG) : NULL;
  c.ctx = xmpp_ctx_new(NULL, log);
  c.conn = xmpp_conn_new(c.ctx);
  if (cafile) {
    xmpp_conn_set_cafile(c.conn, cafile);
    xmpp_conn_set_certfail_handler(c.conn, on_certfail);
  } else {
    flags |= XMPP_CONN_FLAG_TRUST_TLS;
  }
  xmpp_conn_set_flags(c.conn, flags);
  xmpp_conn_set_jid(c.conn, jid);
  xmpp_conn_set_pass(c.conn, password);
  xmpp_global_timed_handler_add(c.ctx, on_timeout, timeout_ms, &c);

  /* HOST/PORT override DNS; the certificate is still checked against the JID's domain. */
  if (xmpp_connect_client(c.conn, host, (unsigned short)port, on_connection, &c) != XMPP_EOK) {
    printf("FAILED connect\n");
    c.exit_code = EXIT_LOGIN;
  } else {
    xmpp_run(c.ctx);
  }

  xmpp_conn_release(c.conn);
  xmpp_ctx_free(c.ctx);
  xmpp_shutdown();
  return c.exit_code;
}
