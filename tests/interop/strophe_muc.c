/* A libstrophe multi-user chat (XEP-0045) client for the interoperability tests.
 *
 * usage: strophe_muc JID PASSWORD HOST PORT ROOM NICK [options]
 *   --cafile FILE     verify the server certificate against FILE
 *   --create          the room is expected to be new: accept the default configuration
 *                     (an instant room) when the service says 201
 *   --history N       ask for at most N messages of history (maxstanzas)
 *   --say BODY        once joined, send a groupchat message (repeatable, in order)
 *   --expect N        leave after N live groupchat messages (own reflections included)
 *   --timeout SECS    give up after SECS seconds (default 20)
 *
 * Prints one line per event on stdout:
 *   READY, PRESENCE <from> <type> <role> <affiliation> <codes>, JOINED <codes>,
 *   CONFIGURED, HISTORY <from> <body>, SUBJECT <from> <subject>, SAID <body>,
 *   GROUPCHAT <from> <body>, LEFT, ERROR <stanza>, DISCONNECTED, TIMEOUT, FAILED
 * Exit codes: 0 done, 1 usage, 2 could not log in, 3 timeout, 4 connection lost,
 * 5 an error stanza arrived.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strophe.h>

#define NS_MUC "http://jabber.org/protocol/muc"
#define NS_MUC_USER NS_MUC "#user"
#define NS_MUC_OWNER NS_MUC "#owner"
#define MAX_SAYS 16

struct client {
  xmpp_ctx_t *ctx;
  xmpp_conn_t *conn;
  const char *room, *nick;
  char occupant[1024];  /* room/nick */
  int create, history, expect, received, says;
  const char *say[MAX_SAYS];
  int joined, configured, subject_seen, spoke, leaving, logged_in, finishing, exit_code;
};

static void finish(struct client *c, int code) {
  if (c->exit_code == 0) c->exit_code = code;
  if (c->finishing) return;
  c->finishing = 1;
  xmpp_disconnect(c->conn);
}

static xmpp_stanza_t *child(xmpp_stanza_t *parent, const char *name, const char *ns) {
  return parent ? xmpp_stanza_get_child_by_name_and_ns(parent, name, ns) : NULL;
}

static void print_error(struct client *c, xmpp_stanza_t *stanza) {
  char *text = NULL;
  size_t len = 0;
  xmpp_stanza_to_text(stanza, &text, &len);
  printf("ERROR %s\n", text ? text : "");
  if (text) xmpp_free(c->ctx, text);
  finish(c, 5);
}

static void send_presence(struct client *c, const char *type, int with_join) {
  xmpp_stanza_t *p = xmpp_presence_new(c->ctx);
  xmpp_stanza_set_to(p, c->occupant);
  if (type) xmpp_stanza_set_type(p, type);
  if (with_join) {
    xmpp_stanza_t *x = xmpp_stanza_new(c->ctx);
    xmpp_stanza_set_name(x, "x");
    xmpp_stanza_set_ns(x, NS_MUC);
    if (c->history >= 0) {
      char n[16];
      snprintf(n, sizeof n, "%d", c->history);
      xmpp_stanza_t *h = xmpp_stanza_new(c->ctx);
      xmpp_stanza_set_name(h, "history");
      xmpp_stanza_set_attribute(h, "maxstanzas", n);
      xmpp_stanza_add_child(x, h);
      xmpp_stanza_release(h);
    }
    xmpp_stanza_add_child(p, x);
    xmpp_stanza_release(x);
  }
  xmpp_send(c->conn, p);
  xmpp_stanza_release(p);
}

/* Speaks once joined, the subject seen, and (for a new room) the room configured. */
static void maybe_speak(struct client *c) {
  if (c->spoke || !c->joined || !c->subject_seen || (c->create && !c->configured)) return;
  c->spoke = 1;
  for (int i = 0; i < c->says; ++i) {
    xmpp_stanza_t *m = xmpp_message_new(c->ctx, "groupchat", c->room, NULL);
    xmpp_message_set_body(m, c->say[i]);
    xmpp_send(c->conn, m);
    xmpp_stanza_release(m);
    printf("SAID %s\n", c->say[i]);
  }
  if (c->expect == 0) {
    c->leaving = 1;
    send_presence(c, "unavailable", 0);
  }
}

static int on_configured(xmpp_conn_t *conn, xmpp_stanza_t *stanza, void *userdata) {
  (void)conn;
  struct client *c = userdata;
  const char *type = xmpp_stanza_get_type(stanza);
  if (!type || strcmp(type, "result") != 0) {
    print_error(c, stanza);
    return 0;
  }
  c->configured = 1;
  printf("CONFIGURED\n");
  maybe_speak(c);
  return 0;
}

/* §10.1.2: an empty submitted form accepts the default configuration. */
static void accept_default_configuration(struct client *c) {
  xmpp_stanza_t *iq = xmpp_iq_new(c->ctx, "set", "configure");
  xmpp_stanza_set_to(iq, c->room);
  xmpp_stanza_t *query = xmpp_stanza_new(c->ctx);
  xmpp_stanza_set_name(query, "query");
  xmpp_stanza_set_ns(query, NS_MUC_OWNER);
  xmpp_stanza_t *x = xmpp_stanza_new(c->ctx);
  xmpp_stanza_set_name(x, "x");
  xmpp_stanza_set_ns(x, "jabber:x:data");
  xmpp_stanza_set_type(x, "submit");
  xmpp_stanza_add_child(query, x);
  xmpp_stanza_add_child(iq, query);
  xmpp_stanza_release(x);
  xmpp_stanza_release(query);
  xmpp_id_handler_add(c->conn, on_configured, "configure", c);
  xmpp_send(c->conn, iq);
  xmpp_stanza_release(iq);
}

static int on_presence(xmpp_conn_t *conn, xmpp_stanza_t *stanza, void *userdata) {
  (void)conn;
  struct client *c = userdata;
  const char *from = xmpp_stanza_get_from(stanza);
  const char *type = xmpp_stanza_get_type(stanza);
  if (!from || strncmp(from, c->room, strlen(c->room)) != 0) return 1;
  if (type && strcmp(type, "error") == 0) {
    print_error(c, stanza);
    return 1;
  }
  xmpp_stanza_t *x = child(stanza, "x", NS_MUC_USER);
  xmpp_stanza_t *item = child(x, "item", NS_MUC_USER);
  char codes[128] = "";
  int self = 0, created = 0;
  for (xmpp_stanza_t *s = x ? xmpp_stanza_get_children(x) : NULL; s; s = xmpp_stanza_get_next(s)) {
    const char *name = xmpp_stanza_get_name(s);
    const char *code = xmpp_stanza_get_attribute(s, "code");
    if (!name || strcmp(name, "status") != 0 || !code) continue;
    if (codes[0]) strncat(codes, ",", sizeof codes - strlen(codes) - 1);
    strncat(codes, code, sizeof codes - strlen(codes) - 1);
    self |= strcmp(code, "110") == 0;
    created |= strcmp(code, "201") == 0;
  }
  const char *role = item ? xmpp_stanza_get_attribute(item, "role") : NULL;
  const char *affiliation = item ? xmpp_stanza_get_attribute(item, "affiliation") : NULL;
  printf("PRESENCE %s %s %s %s %s\n", from, type ? type : "available", role ? role : "-",
         affiliation ? affiliation : "-", codes[0] ? codes : "-");
  if (!self) return 1;
  if (type && strcmp(type, "unavailable") == 0) {
    if (c->leaving) {
      printf("LEFT\n");
      finish(c, 0);
    }
    return 1;
  }
  if (!c->joined) {
    c->joined = 1;
    printf("JOINED %s\n", codes);
    if (c->create && !created) {
      printf("ERROR the room already existed\n");
      finish(c, 5);
      return 1;
    }
    if (created) accept_default_configuration(c);
  }
  maybe_speak(c);
  return 1;
}

static int on_message(xmpp_conn_t *conn, xmpp_stanza_t *stanza, void *userdata) {
  (void)conn;
  struct client *c = userdata;
  const char *from = xmpp_stanza_get_from(stanza);
  const char *type = xmpp_stanza_get_type(stanza);
  if (type && strcmp(type, "error") == 0) {
    print_error(c, stanza);
    return 1;
  }
  if (!type || strcmp(type, "groupchat") != 0 || !from) return 1;
  char *body = xmpp_message_get_body(stanza);
  xmpp_stanza_t *subject = child(stanza, "subject", XMPP_NS_CLIENT);
  if (!body && subject) {
    char *text = xmpp_stanza_get_text(subject);
    printf("SUBJECT %s %s\n", from, text ? text : "");
    if (text) xmpp_free(c->ctx, text);
    c->subject_seen = 1;
    maybe_speak(c);
    return 1;
  }
  if (!body) return 1;
  if (child(stanza, "delay", "urn:xmpp:delay")) {
    printf("HISTORY %s %s\n", from, body);
  } else {
    printf("GROUPCHAT %s %s\n", from, body);
    if (++c->received == c->expect && !c->leaving) {
      c->leaving = 1;
      send_presence(c, "unavailable", 0);
    }
  }
  xmpp_free(c->ctx, body);
  return 1;
}

static int on_ready(xmpp_conn_t *conn, xmpp_stanza_t *stanza, void *userdata) {
  (void)conn;
  (void)stanza;
  struct client *c = userdata;
  printf("READY\n");
  send_presence(c, NULL, 1);
  return 0;
}

static void on_connection(xmpp_conn_t *conn, xmpp_conn_event_t event, int error,
                          xmpp_stream_error_t *stream_error, void *userdata) {
  (void)stream_error;
  struct client *c = userdata;
  if (event == XMPP_CONN_CONNECT) {
    c->logged_in = 1;
    xmpp_handler_add(conn, on_presence, NULL, "presence", NULL, c);
    xmpp_handler_add(conn, on_message, NULL, "message", NULL, c);
    xmpp_stanza_t *presence = xmpp_presence_new(c->ctx);
    xmpp_send(conn, presence);
    xmpp_stanza_release(presence);
    /* A round trip first (the legacy <session/>, answered by the server itself), so the
     * initial presence is processed before the join. */
    xmpp_stanza_t *iq = xmpp_iq_new(c->ctx, "set", "ready");
    xmpp_stanza_t *session = xmpp_stanza_new(c->ctx);
    xmpp_stanza_set_name(session, "session");
    xmpp_stanza_set_ns(session, "urn:ietf:params:xml:ns:xmpp-session");
    xmpp_stanza_add_child(iq, session);
    xmpp_stanza_release(session);
    xmpp_id_handler_add(conn, on_ready, "ready", c);
    xmpp_send(conn, iq);
    xmpp_stanza_release(iq);
    return;
  }
  if (!c->logged_in) {
    printf("FAILED %d\n", error);
    if (c->exit_code == 0) c->exit_code = 2;
  } else {
    printf("DISCONNECTED\n");
    if (!c->finishing && c->exit_code == 0) c->exit_code = 4;
  }
  xmpp_stop(c->ctx);
}

static int on_timeout(xmpp_ctx_t *ctx, void *userdata) {
  struct client *c = userdata;
  printf("TIMEOUT\n");
  c->exit_code = 3;
  xmpp_stop(ctx);
  return 0;
}

static int usage(void) {
  fprintf(stderr, "usage: strophe_muc JID PASSWORD HOST PORT ROOM NICK [--cafile FILE] [--create]\n"
                  "       [--history N] [--say BODY]... [--expect N] [--timeout SECS]\n");
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 7) return usage();
  struct client c = {0};
  const char *jid = argv[1], *password = argv[2], *host = argv[3];
  int port = atoi(argv[4]);
  c.room = argv[5];
  c.nick = argv[6];
  c.history = -1;
  if (port <= 0 || port > 65535) return usage();
  snprintf(c.occupant, sizeof c.occupant, "%s/%s", c.room, c.nick);
  const char *cafile = NULL;
  unsigned long timeout_ms = 20000;
  for (int i = 7; i < argc; ++i) {
    if (strcmp(argv[i], "--cafile") == 0 && i + 1 < argc) cafile = argv[++i];
    else if (strcmp(argv[i], "--create") == 0) c.create = 1;
    else if (strcmp(argv[i], "--history") == 0 && i + 1 < argc) c.history = atoi(argv[++i]);
    else if (strcmp(argv[i], "--say") == 0 && i + 1 < argc && c.says < MAX_SAYS) c.say[c.says++] = argv[++i];
    else if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc) c.expect = atoi(argv[++i]);
    else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) timeout_ms = strtoul(argv[++i], NULL, 10) * 1000;
    else return usage();
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);

  xmpp_initialize();
  xmpp_log_t *log = getenv("STROPHE_DEBUG") ? xmpp_get_default_logger(XMPP_LEVEL_DEBUG) : NULL;
  c.ctx = xmpp_ctx_new(NULL, log);
  c.conn = xmpp_conn_new(c.ctx);
  long flags = XMPP_CONN_FLAG_MANDATORY_TLS;
  if (cafile) xmpp_conn_set_cafile(c.conn, cafile);
  else flags |= XMPP_CONN_FLAG_TRUST_TLS;
  xmpp_conn_set_flags(c.conn, flags);
  xmpp_conn_set_jid(c.conn, jid);
  xmpp_conn_set_pass(c.conn, password);
  xmpp_global_timed_handler_add(c.ctx, on_timeout, timeout_ms, &c);
  if (xmpp_connect_client(c.conn, host, (unsigned short)port, on_connection, &c) != XMPP_EOK) {
    printf("FAILED connect\n");
    c.exit_code = 2;
  } else {
    xmpp_run(c.ctx);
  }
  xmpp_conn_release(c.conn);
  xmpp_ctx_free(c.ctx);
  xmpp_shutdown();
  return c.exit_code;
}
