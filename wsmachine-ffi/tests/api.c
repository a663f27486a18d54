/*
 * The C API's error paths and a client/server session in memory, from C.
 * Built and run by .ci/run (also under valgrind):
 *
 *   cc -std=c11 -I wsmachine-ffi/include wsmachine-ffi/tests/api.c \
 *      -L target/release -lwsmachine_ffi -Wl,-rpath,target/release -o api_test
 *   ./api_test
 *
 * Each check prints what failed and exits with 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsmachine.h"

static int checks;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        checks++;                                                                     \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s (last error %d: %s)\n", __FILE__, \
                    __LINE__, #cond, wsm_last_error_code(), wsm_last_error_message());  \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

/* A call that must fail with `code`, leaving a message behind. */
#define FAILS(code, call)                                      \
    do {                                                       \
        int rc_ = (call);                                      \
        if (rc_ != (code)) {                                   \
            fprintf(stderr, "%s:%d: %s returned %d (%s), not %s\n", __FILE__, __LINE__, \
                    #call, rc_, wsm_last_error_message(), #code); \
            exit(1);                                           \
        }                                                      \
        CHECK(wsm_last_error_code() == (code));                \
        CHECK(strlen(wsm_last_error_message()) > 0);           \
    } while (0)

#define OK(call) CHECK((call) == WSM_OK)

static bool str_eq(wsm_str s, const char *want) {
    return s.ptr != NULL && s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0 &&
           s.ptr[s.len] == '\0';
}

static bool has_header(const wsm_header_view *headers, size_t count, const char *name,
                       const char *value) {
    for (size_t i = 0; i < count; i++) {
        if (str_eq(headers[i].name, name) && str_eq(headers[i].value, value)) {
            return true;
        }
    }
    return false;
}

/* Moves every pending output byte of `from` into `to`, in pieces of at most
 * `step` bytes, through the borrowed output and wsm_feed. */
static void pump(wsm_conn *from, wsm_conn *to, size_t step) {
    for (;;) {
        const uint8_t *data;
        size_t len, taken;
        OK(wsm_output(from, &data, &len));
        if (len == 0) {
            return;
        }
        if (len > step) {
            len = step;
        }
        OK(wsm_feed(to, data, len, &taken));
        CHECK(taken == len);
        OK(wsm_consume_output(from, taken));
    }
}

/* The same through the receiver's own buffer: wsm_read_buf + commit. */
static void pump_read_buf(wsm_conn *from, wsm_conn *to) {
    for (;;) {
        const uint8_t *data;
        size_t len;
        OK(wsm_output(from, &data, &len));
        if (len == 0) {
            return;
        }
        uint8_t *buf;
        size_t room;
        OK(wsm_read_buf(to, &buf, &room));
        CHECK(room > 0);
        size_t n = len < room ? len : room;
        memcpy(buf, data, n);
        OK(wsm_commit_read(to, n));
        OK(wsm_consume_output(from, n));
    }
}

static wsm_event next(wsm_conn *c) {
    wsm_event ev;
    OK(wsm_poll_event(c, &ev));
    return ev;
}

static void library_functions(void) {
    CHECK(strlen(wsm_version()) > 0);
    CHECK(strcmp(wsm_error_name(WSM_ERR_OUTPUT_FULL), "WSM_ERR_OUTPUT_FULL") == 0);
    CHECK(strcmp(wsm_error_name(WSM_OK), "WSM_OK") == 0);
    CHECK(wsm_error_name(12345) == NULL);
    CHECK(wsm_error_name(-1) == NULL);
}

static void configs(void) {
    wsm_config config;
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_config_default(NULL));
    OK(wsm_config_default(&config));
    CHECK(config.struct_size == sizeof config);
    CHECK(config.max_message_size == 16u << 20);
    CHECK(config.max_input_buffer == 64u << 10);
    CHECK(config.close_timeout_ns == 5000000000u);
    CHECK(config.keepalive_interval_ns == 0);
    CHECK(config.deflate && config.auto_pong);
    CHECK(config.deflate_memory == WSM_DEFLATE_MEMORY_SMALL);
    CHECK(config.deflate_server_max_window_bits == 0); /* from the preset */

    wsm_conn *c = (wsm_conn *)&config; /* must be overwritten with NULL */
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_server_new(NULL, NULL));
    wsm_config bad = config;
    bad.struct_size = 7;
    FAILS(WSM_ERR_CONFIG_VERSION, wsm_server_new(&bad, &c));
    CHECK(c == NULL);
    bad = config;
    bad.delivery = 42;
    FAILS(WSM_ERR_INVALID_ARGUMENT, wsm_server_new(&bad, &c));
    bad = config;
    bad.origin_policy = 42;
    FAILS(WSM_ERR_INVALID_ARGUMENT, wsm_server_new(&bad, &c));
    bad = config;
    bad.max_input_buffer = 0;
    FAILS(WSM_ERR_INVALID_ARGUMENT, wsm_server_new(&bad, &c));
    bad = config;
    bad.keepalive_interval_ns = 1000;
    bad.keepalive_timeout_ns = 0;
    FAILS(WSM_ERR_INVALID_ARGUMENT, wsm_server_new(&bad, &c));
    bad = config;
    bad.deflate_server_max_window_bits = 16;
    FAILS(WSM_ERR_INVALID_ARGUMENT, wsm_server_new(&bad, &c));
    bad = config;
    bad.deflate_memory = 9;
    FAILS(WSM_ERR_INVALID_ARGUMENT, wsm_server_new(&bad, &c));
    bad = config;
    bad.origin_policy = WSM_ORIGIN_ALLOW_LIST;
    bad.origin_allow_count = 2;
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_server_new(&bad, &c));
    const char *origins[] = {"https://ok.example", "\xff"};
    bad.origin_allow_list = origins;
    FAILS(WSM_ERR_NOT_UTF8, wsm_server_new(&bad, &c));
    CHECK(c == NULL);
    bad.origin_allow_count = 1;
    OK(wsm_server_new(&bad, &c));
    CHECK(c != NULL);
    wsm_conn_free(c);
    OK(wsm_server_new(NULL, &c));
    wsm_conn_free(c);
}

static void null_handles(void) {
    wsm_event ev;
    size_t n;
    const uint8_t *data;
    uint8_t *buf;
    wsm_slice slices[4];
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_feed(NULL, "x", 1, &n));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_read_buf(NULL, &buf, &n));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_commit_read(NULL, 0));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_feed_eof(NULL));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_transport_error(NULL));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_handle_timeout(NULL, 0));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_poll_event(NULL, &ev));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_output(NULL, &data, &n));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_output_vectored(NULL, slices, 4, &n));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_consume_output(NULL, 0));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_shrink_buffers(NULL));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_send(NULL, WSM_TEXT, "x", 1));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_send_uncompressed(NULL, WSM_TEXT, "x", 1));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_send_fragment(NULL, WSM_TEXT, "x", 1, true));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_ping(NULL, NULL, 0));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_pong(NULL, NULL, 0));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_close(NULL, 1000, NULL));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_fail(NULL, 1000, NULL));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_abort(NULL));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_accept(NULL, NULL, NULL, 0, 0));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_reject(NULL, 400, NULL, 0, NULL, 0));
    /* Getters answer what is safe for a driver loop. */
    CHECK(!wsm_wants_read(NULL));
    CHECK(!wsm_wants_write(NULL));
    CHECK(!wsm_wants_shutdown(NULL));
    CHECK(wsm_is_finished(NULL));
    CHECK(wsm_poll_timeout(NULL) == WSM_NO_DEADLINE);
    CHECK(wsm_conn_state(NULL) == WSM_STATE_CLOSED);
    CHECK(wsm_input_room(NULL) == 0);
    CHECK(wsm_output_len(NULL) == 0);
    CHECK(wsm_buffer_capacity(NULL) == 0);
    CHECK(wsm_last_error_code() == WSM_ERR_NULL_ARGUMENT);
    wsm_conn_free(NULL);
    wsm_conn_free(NULL);
}

static void bad_arguments(void) {
    wsm_conn *s;
    OK(wsm_server_new(NULL, &s));
    size_t n = 99;
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_feed(s, NULL, 5, &n));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_feed(s, "GET", 3, NULL));
    FAILS(WSM_ERR_INVALID_ARGUMENT, wsm_feed(s, "GET", SIZE_MAX, &n));
    OK(wsm_feed(s, NULL, 0, &n));
    CHECK(n == 0);
    wsm_event *no_event = NULL;
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_poll_event(s, no_event));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_output(s, NULL, &n));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_output_vectored(s, NULL, 3, &n));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_output_vectored(s, NULL, 0, NULL));
    OK(wsm_output_vectored(s, NULL, 0, &n));
    CHECK(n == 0);
    FAILS(WSM_ERR_INVALID_ARGUMENT, wsm_consume_output(s, 1));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_read_buf(s, NULL, &n));

    /* wsm_commit_read only right after wsm_read_buf, within its room. */
    FAILS(WSM_ERR_NO_READ_BUFFER, wsm_commit_read(s, 1));
    uint8_t *buf;
    size_t room;
    OK(wsm_read_buf(s, &buf, &room));
    CHECK(room >= 64u << 10);
    CHECK(wsm_wants_read(s)); /* getters leave the offer alone */
    FAILS(WSM_ERR_INVALID_ARGUMENT, wsm_commit_read(s, room + 1));
    FAILS(WSM_ERR_NO_READ_BUFFER, wsm_commit_read(s, 1)); /* the failed call used it */
    OK(wsm_read_buf(s, &buf, &room));
    OK(wsm_handle_timeout(s, 0));
    FAILS(WSM_ERR_NO_READ_BUFFER, wsm_commit_read(s, 1));
    OK(wsm_read_buf(s, &buf, &room));
    OK(wsm_commit_read(s, 0));

    /* Wrong states and invalid values. */
    FAILS(WSM_ERR_NOT_OPEN, wsm_send(s, WSM_TEXT, "hi", 2));
    FAILS(WSM_ERR_INVALID_ARGUMENT, wsm_send(s, 0, "hi", 2));
    FAILS(WSM_ERR_INVALID_ARGUMENT, wsm_send(s, 3, "hi", 2));
    FAILS(WSM_ERR_INVALID_ARGUMENT, wsm_send_fragment(s, 99, "hi", 2, false));
    FAILS(WSM_ERR_NOT_OPEN, wsm_ping(s, "p", 1));
    FAILS(WSM_ERR_NO_PENDING_REQUEST, wsm_accept(s, NULL, NULL, 0, 0));
    FAILS(WSM_ERR_NO_PENDING_REQUEST, wsm_reject(s, 403, NULL, 0, NULL, 0));
    FAILS(WSM_ERR_INVALID_CLOSE_CODE, wsm_close(s, 1005, NULL));
    FAILS(WSM_ERR_NOT_UTF8, wsm_close(s, 1000, "\xc3"));
    CHECK(wsm_conn_state(s) == WSM_STATE_CONNECTING);
    wsm_conn_free(s);
}

static void clients(void) {
    wsm_conn *c = NULL;
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_client_new(NULL, NULL, NULL, 0, NULL, 0, &c));
    FAILS(WSM_ERR_INVALID_URI, wsm_client_new(NULL, "http://x/", NULL, 0, NULL, 0, &c));
    FAILS(WSM_ERR_NOT_UTF8, wsm_client_new(NULL, "ws://\xff/", NULL, 0, NULL, 0, &c));
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_client_new(NULL, "ws://x/", NULL, 1, NULL, 0, &c));
    const char *bad_protocols[] = {"chat", "no spaces"};
    FAILS(WSM_ERR_INVALID_SUBPROTOCOL,
          wsm_client_new(NULL, "ws://x/", bad_protocols, 2, NULL, 0, &c));
    wsm_header managed[] = {{"Sec-WebSocket-Key", "x"}};
    FAILS(WSM_ERR_MANAGED_HEADER, wsm_client_new(NULL, "ws://x/", NULL, 0, managed, 1, &c));
    wsm_header injected[] = {{"X-Ok", "a\r\nEvil: 1"}};
    FAILS(WSM_ERR_INVALID_HEADER, wsm_client_new(NULL, "ws://x/", NULL, 0, injected, 1, &c));
    wsm_header null_value[] = {{"X-Ok", NULL}};
    FAILS(WSM_ERR_NULL_ARGUMENT, wsm_client_new(NULL, "ws://x/", NULL, 0, null_value, 1, &c));
    CHECK(c == NULL);

    FAILS(WSM_ERR_INVALID_SUBPROTOCOL, wsm_upgraded_server_new(NULL, "a b", NULL, &c));
    FAILS(WSM_ERR_INVALID_EXTENSIONS, wsm_upgraded_server_new(NULL, NULL, "x-unknown", &c));
    OK(wsm_upgraded_server_new(NULL, "chat", NULL, &c));
    CHECK(wsm_conn_state(c) == WSM_STATE_OPEN);
    wsm_event ev = next(c);
    CHECK(ev.kind == WSM_EVENT_NONE); /* no OPEN for a handshake done elsewhere */
    char long_ping[126] = {0};
    FAILS(WSM_ERR_CONTROL_PAYLOAD_TOO_LONG, wsm_ping(c, long_ping, sizeof long_ping));
    OK(wsm_ping(c, long_ping, 125));
    wsm_conn_free(c);
    OK(wsm_upgraded_client_new(NULL, NULL, NULL, &c));
    OK(wsm_send(c, WSM_BINARY, "\x01\x02", 2));
    CHECK(wsm_output_len(c) == 2 + 4 + 2); /* masked */
    wsm_conn_free(c);
}

/* A whole session: handshake, messages, fragments, control frames, the
 * closing handshake and the teardown, with the errors each state gives. */
static void session(void) {
    const char *offered[] = {"superchat", "chat"};
    wsm_header extra[] = {{"Origin", "https://ok.example"}, {"X-Trace", "7"}};
    wsm_conn *client, *server;
    OK(wsm_client_new(NULL, "ws://example.com/chat?room=7", offered, 2, extra, 2, &client));
    OK(wsm_server_new(NULL, &server));
    CHECK(wsm_wants_write(client));
    pump(client, server, 7); /* a slow handshake, 7 bytes at a time */

    wsm_event ev = next(server);
    CHECK(ev.kind == WSM_EVENT_REQUEST);
    CHECK(str_eq(ev.request.path, "/chat"));
    CHECK(str_eq(ev.request.query, "room=7"));
    CHECK(str_eq(ev.request.target, "/chat?room=7"));
    CHECK(str_eq(ev.request.host, "example.com"));
    CHECK(str_eq(ev.request.origin, "https://ok.example"));
    CHECK(ev.request.subprotocol_count == 2);
    CHECK(str_eq(ev.request.subprotocols[0], "superchat"));
    CHECK(has_header(ev.request.headers, ev.request.header_count, "X-Trace", "7"));
    CHECK(!wsm_wants_read(server)); /* waits for the decision */
    CHECK(next(server).kind == WSM_EVENT_NONE);

    FAILS(WSM_ERR_SUBPROTOCOL_NOT_OFFERED, wsm_accept(server, "other", NULL, 0, 0));
    FAILS(WSM_ERR_INVALID_ARGUMENT, wsm_accept(server, "chat", NULL, 0, 8));
    wsm_header cookie[] = {{"Set-Cookie", "id=1"}};
    wsm_header managed[] = {{"Upgrade", "h2c"}};
    FAILS(WSM_ERR_MANAGED_HEADER, wsm_accept(server, "chat", managed, 1, 0));
    FAILS(WSM_ERR_INVALID_STATUS, wsm_reject(server, 101, NULL, 0, NULL, 0));
    OK(wsm_accept(server, "chat", cookie, 1, 0));
    ev = next(server);
    CHECK(ev.kind == WSM_EVENT_OPEN);
    CHECK(str_eq(ev.open.subprotocol, "chat"));
    CHECK(ev.open.extensions.len >= 18 &&
          memcmp(ev.open.extensions.ptr, "permessage-deflate", 18) == 0);
    FAILS(WSM_ERR_NO_PENDING_REQUEST, wsm_accept(server, NULL, NULL, 0, 0));

    pump_read_buf(server, client);
    ev = next(client);
    CHECK(ev.kind == WSM_EVENT_OPEN);
    CHECK(str_eq(ev.open.subprotocol, "chat"));
    CHECK(ev.response.status == 101);
    CHECK(has_header(ev.response.headers, ev.response.header_count, "Set-Cookie", "id=1"));
    CHECK(wsm_conn_state(client) == WSM_STATE_OPEN);

    /* Messages, both ways, with the server echoing without a copy. */
    FAILS(WSM_ERR_INVALID_UTF8, wsm_send(client, WSM_TEXT, "\xc3\x28", 2));
    OK(wsm_send(client, WSM_TEXT, "h\xc3\xa9llo", 6));
    char big[5000];
    memset(big, 'z', sizeof big);
    OK(wsm_send(client, WSM_BINARY, big, sizeof big));
    OK(wsm_send(client, WSM_BINARY, NULL, 0));
    pump(client, server, 1000);
    ev = next(server);
    CHECK(ev.kind == WSM_EVENT_MESSAGE && ev.payload.kind == WSM_TEXT);
    CHECK(ev.payload.len == 6 && memcmp(ev.payload.data, "h\xc3\xa9llo", 6) == 0);
    OK(wsm_send(server, ev.payload.kind, ev.payload.data, ev.payload.len));
    ev = next(server);
    CHECK(ev.kind == WSM_EVENT_MESSAGE && ev.payload.kind == WSM_BINARY);
    CHECK(ev.payload.len == sizeof big && ev.payload.data[4999] == 'z');
    OK(wsm_send(server, ev.payload.kind, ev.payload.data + 1000, 10)); /* a slice */
    ev = next(server);
    CHECK(ev.kind == WSM_EVENT_MESSAGE && ev.payload.len == 0 && ev.payload.data != NULL);
    CHECK(next(server).kind == WSM_EVENT_NONE);

    /* Vectored output. */
    wsm_slice slices[8];
    size_t count;
    OK(wsm_output_vectored(server, slices, 8, &count));
    CHECK(count >= 1);
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        total += slices[i].len;
    }
    CHECK(total == wsm_output_len(server));
    pump(server, client, 3);
    ev = next(client);
    CHECK(ev.kind == WSM_EVENT_MESSAGE && ev.payload.len == 6);
    ev = next(client);
    CHECK(ev.kind == WSM_EVENT_MESSAGE && ev.payload.len == 10);
    CHECK(next(client).kind == WSM_EVENT_NONE);

    /* Fragments: order, kind and UTF-8 across them. */
    OK(wsm_send_fragment(client, WSM_TEXT, "x", 1, false));
    FAILS(WSM_ERR_FRAGMENT_ORDER, wsm_send(client, WSM_TEXT, "y", 1));
    FAILS(WSM_ERR_FRAGMENT_KIND, wsm_send_fragment(client, WSM_BINARY, "x", 1, false));
    OK(wsm_send_fragment(client, WSM_TEXT, "\xc3", 1, false)); /* a split code point */
    OK(wsm_ping(client, "mid", 3));                           /* between fragments */
    FAILS(WSM_ERR_INVALID_UTF8, wsm_send_fragment(client, WSM_TEXT, "(", 1, true));
    OK(wsm_send_fragment(client, WSM_TEXT, "\xa9", 1, true));
    pump(client, server, 64);
    ev = next(server);
    CHECK(ev.kind == WSM_EVENT_PING && ev.payload.len == 3);
    ev = next(server);
    CHECK(ev.kind == WSM_EVENT_MESSAGE && ev.payload.len == 3);
    CHECK(memcmp(ev.payload.data, "x\xc3\xa9", 3) == 0);

    /* Control frames. */
    char long_pong[126] = {0};
    FAILS(WSM_ERR_CONTROL_PAYLOAD_TOO_LONG, wsm_pong(server, long_pong, sizeof long_pong));
    OK(wsm_pong(server, "unsolicited", 11));
    pump(server, client, 64);
    ev = next(client);
    CHECK(ev.kind == WSM_EVENT_PONG && ev.payload.len == 3); /* the automatic one */
    ev = next(client);
    CHECK(ev.kind == WSM_EVENT_PONG && ev.payload.len == 11);

    /* The closing handshake, started by the client. */
    char long_reason[200];
    memset(long_reason, 'r', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = '\0';
    FAILS(WSM_ERR_CONTROL_PAYLOAD_TOO_LONG, wsm_close(client, 1000, long_reason));
    FAILS(WSM_ERR_INVALID_CLOSE_CODE, wsm_close(client, 999, "no"));
    OK(wsm_close(client, 4000, "bye"));
    CHECK(wsm_conn_state(client) == WSM_STATE_CLOSING);
    FAILS(WSM_ERR_CLOSING, wsm_send(client, WSM_TEXT, "late", 4));
    FAILS(WSM_ERR_CLOSING, wsm_close(client, 1000, NULL));
    pump(client, server, 64);
    ev = next(server);
    CHECK(ev.kind == WSM_EVENT_CLOSED);
    CHECK(ev.closed.code == 4000 && str_eq(ev.closed.reason, "bye"));
    CHECK(ev.closed.clean && !ev.closed.initiated_locally);
    CHECK(ev.closed.sent_code == 4000 && str_eq(ev.closed.sent_reason, ""));
    CHECK(next(server).kind == WSM_EVENT_NONE);
    FAILS(WSM_ERR_CLOSED, wsm_send(server, WSM_TEXT, "late", 4));
    FAILS(WSM_ERR_CLOSED, wsm_close(server, 1000, NULL));
    CHECK(!wsm_wants_shutdown(server)); /* the echo is not written yet */
    pump(server, client, 64);
    CHECK(wsm_wants_shutdown(server)); /* a server closes TCP first */
    CHECK(!wsm_is_finished(server));

    ev = next(client);
    CHECK(ev.kind == WSM_EVENT_CLOSED && ev.closed.clean && ev.closed.initiated_locally);
    CHECK(ev.closed.code == 4000);
    CHECK(!wsm_is_finished(client)); /* waits for the server's half-close */
    OK(wsm_feed_eof(client));
    CHECK(next(client).kind == WSM_EVENT_NONE);
    CHECK(wsm_is_finished(client));
    OK(wsm_feed_eof(server));
    CHECK(wsm_is_finished(server));
    wsm_conn_free(client);
    wsm_conn_free(server);
}

/* A server that rejects: the client gets the whole answer. */
static void rejection(void) {
    wsm_conn *client, *server;
    OK(wsm_client_new(NULL, "ws://example.com/", NULL, 0, NULL, 0, &client));
    OK(wsm_server_new(NULL, &server));
    pump(client, server, 1 << 20);
    CHECK(next(server).kind == WSM_EVENT_REQUEST);
    wsm_header where[] = {{"Location", "/elsewhere"}};
    OK(wsm_reject(server, 302, where, 1, "moved", 5));
    wsm_event ev = next(server);
    CHECK(ev.kind == WSM_EVENT_CLOSED && ev.closed.code == 1006);
    pump(server, client, 1 << 20);
    CHECK(wsm_wants_shutdown(server));
    ev = next(client);
    CHECK(ev.kind == WSM_EVENT_ERROR && ev.error.code == WSM_ERR_REJECTED);
    CHECK(ev.response.status == 302);
    CHECK(ev.response.body_len == 5 && memcmp(ev.response.body, "moved", 5) == 0);
    CHECK(has_header(ev.response.headers, ev.response.header_count, "Location", "/elsewhere"));
    CHECK(next(client).kind == WSM_EVENT_CLOSED);
    CHECK(wsm_is_finished(client));
    wsm_conn_free(client);
    wsm_conn_free(server);
}

/* Hostile input: an unmasked frame from a client fails the connection
 * with 1002; a bad request line is answered with 400. */
static void hostile_peers(void) {
    wsm_conn *server;
    OK(wsm_upgraded_server_new(NULL, NULL, NULL, &server));
    size_t taken;
    OK(wsm_feed(server, "\x81\x02hi", 4, &taken));
    wsm_event ev = next(server);
    CHECK(ev.kind == WSM_EVENT_ERROR);
    CHECK(ev.error.code == WSM_ERR_PROTOCOL_UNMASKED_FRAME && ev.error.close_code == 1002);
    CHECK(ev.error.message.ptr != NULL && ev.error.message.len > 0);
    ev = next(server);
    CHECK(ev.kind == WSM_EVENT_CLOSED && ev.closed.initiated_locally && ev.closed.code == 1006);
    CHECK(ev.closed.sent_code == 1002);
    wsm_conn_free(server);

    OK(wsm_server_new(NULL, &server));
    OK(wsm_feed(server, "POST / HTTP/1.1\r\nHost: x\r\n\r\n", 28, &taken));
    ev = next(server);
    CHECK(ev.kind == WSM_EVENT_ERROR && ev.error.code == WSM_ERR_METHOD_NOT_GET);
    CHECK(ev.error.http_status == 400);
    CHECK(next(server).kind == WSM_EVENT_CLOSED);
    const uint8_t *data;
    size_t len;
    OK(wsm_output(server, &data, &len));
    CHECK(len > 12 && memcmp(data, "HTTP/1.1 400", 12) == 0);
    OK(wsm_transport_error(server)); /* the peer is gone: output dropped */
    CHECK(wsm_output_len(server) == 0);
    CHECK(next(server).kind == WSM_EVENT_NONE); /* already closed: no second CLOSED */
    CHECK(wsm_is_finished(server));
    wsm_conn_free(server);
}

/* Timers: a handshake that never comes, and abort. */
static void timers(void) {
    const uint64_t second = 1000000000u;
    wsm_conn *server;
    OK(wsm_server_new(NULL, &server));
    CHECK(wsm_poll_timeout(server) == 0); /* "tell me the time" */
    OK(wsm_handle_timeout(server, 5 * second));
    CHECK(wsm_poll_timeout(server) == 15 * second);
    OK(wsm_handle_timeout(server, 15 * second));
    wsm_event ev = next(server);
    CHECK(ev.kind == WSM_EVENT_ERROR && ev.error.code == WSM_ERR_TIMEOUT_HANDSHAKE);
    CHECK(next(server).kind == WSM_EVENT_CLOSED);
    CHECK(wsm_is_finished(server));
    CHECK(wsm_poll_timeout(server) == WSM_NO_DEADLINE);
    wsm_conn_free(server);

    OK(wsm_upgraded_server_new(NULL, NULL, NULL, &server));
    OK(wsm_send(server, WSM_TEXT, "pending", 7));
    OK(wsm_abort(server));
    CHECK(wsm_output_len(server) == 0 && wsm_is_finished(server) == false);
    ev = next(server);
    CHECK(ev.kind == WSM_EVENT_CLOSED && ev.closed.initiated_locally && !ev.closed.clean);
    CHECK(wsm_is_finished(server));
    OK(wsm_abort(server)); /* harmless again */
    wsm_conn_free(server);
}

/* Back-pressure: a full output buffer refuses sends until written. */
static void output_full(void) {
    wsm_config config;
    OK(wsm_config_default(&config));
    config.max_output_buffer = 100;
    wsm_conn *server;
    OK(wsm_upgraded_server_new(&config, NULL, NULL, &server));
    char chunk[60] = {0};
    OK(wsm_send(server, WSM_BINARY, chunk, sizeof chunk));
    FAILS(WSM_ERR_OUTPUT_FULL, wsm_send(server, WSM_BINARY, chunk, sizeof chunk));
    char huge[200] = {0};
    FAILS(WSM_ERR_MESSAGE_TOO_LARGE, wsm_send(server, WSM_BINARY, huge, sizeof huge));
    OK(wsm_consume_output(server, wsm_output_len(server)));
    OK(wsm_send(server, WSM_BINARY, chunk, sizeof chunk));
    wsm_conn_free(server);
}

int main(void) {
    library_functions();
    configs();
    null_handles();
    bad_arguments();
    clients();
    session();
    rejection();
    hostile_peers();
    timers();
    output_full();
    printf("api_test: %d checks passed\n", checks);
    return 0;
}
