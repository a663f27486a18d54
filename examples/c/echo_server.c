/*
 * A WebSocket echo server in C, on wsmachine's C ABI: plain POSIX sockets
 * and poll(), any number of connections on one thread. Every message goes
 * back as it came.
 *
 *   cargo build --release -p wsmachine-ffi
 *   cc -std=c11 -O2 -I wsmachine-ffi/include examples/c/echo_server.c \
 *      target/release/libwsmachine_ffi.a -lpthread -ldl -lm -o echo_server
 *   ./echo_server 9001        # ws://127.0.0.1:9001 (port 0: any free port)
 *
 * SIGINT or SIGTERM closes every connection with 1001 (going away), waits
 * until each is finished, frees everything and exits.
 *
 * Each connection is driven in the library's polling order (see
 * docs/c-api.md): after any input or action, 1. poll events until none,
 * 2. write output until none or the socket would block, 3. half-close when
 * wsm_wants_shutdown, 4. close the socket when wsm_is_finished, 5. wait for
 * readability (wsm_wants_read), writability (wsm_wants_write) or the next
 * deadline (wsm_poll_timeout).
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wsmachine.h"

struct peer {
    int fd;
    wsm_conn *ws;
    bool shut;          /* the socket's write side is shut down */
    bool echo_pending;  /* `event` is a message waiting for output room */
    wsm_event event;    /* the event being handled; valid until the next poll */
};

static struct peer *peers;
static size_t peer_count, peer_room;
static volatile sig_atomic_t stopping;

/* Every connection reads into this one buffer and feeds what it read. */
static unsigned char input[64 * 1024];

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void log_error(const struct peer *p, const char *what, int code) {
    fprintf(stderr, "fd %d: %s: %s (%d): %s\n", p->fd, what, wsm_error_name(code), code,
            wsm_last_error_message());
}

/* Sends the current message back. When the output buffer is full (the
 * client reads slowly), keep the event and stop polling until the output
 * drains: the connection then stops reading, and TCP slows the client. */
static void echo(struct peer *p) {
    const wsm_payload_info *m = &p->event.payload;
    int rc = wsm_send(p->ws, m->kind, m->data, m->len);
    p->echo_pending = rc == WSM_ERR_OUTPUT_FULL;
    if (rc != WSM_OK && rc != WSM_ERR_OUTPUT_FULL && rc != WSM_ERR_CLOSING &&
        rc != WSM_ERR_CLOSED) {
        log_error(p, "echo", rc);
    }
}

static void handle_event(struct peer *p) {
    const wsm_event *ev = &p->event;
    switch (ev->kind) {
    case WSM_EVENT_REQUEST: {
        /* Echo speaks whatever subprotocol the client likes best. */
        const char *subprotocol =
            ev->request.subprotocol_count > 0 ? ev->request.subprotocols[0].ptr : NULL;
        int rc = wsm_accept(p->ws, subprotocol, NULL, 0, 0);
        if (rc != WSM_OK) {
            log_error(p, "accept", rc);
        }
        break;
    }
    case WSM_EVENT_MESSAGE:
        echo(p);
        break;
    case WSM_EVENT_ERROR:
        fprintf(stderr, "fd %d: connection failed: %s (%d)\n", p->fd, ev->error.message.ptr,
                ev->error.code);
        break;
    default:
        break; /* pings are answered by the library; CLOSED comes last */
    }
}

/* Step 1: events, until none (or until a pending echo waits for room). */
static void poll_events(struct peer *p) {
    if (p->echo_pending) {
        echo(p);
    }
    while (!p->echo_pending) {
        if (wsm_poll_event(p->ws, &p->event) != WSM_OK || p->event.kind == WSM_EVENT_NONE) {
            return;
        }
        handle_event(p);
    }
}

/* Step 2: write until nothing is left or the socket would block. Returns
 * false if the socket failed (new events are then waiting). */
static bool flush(struct peer *p) {
    for (;;) {
        const uint8_t *data;
        size_t len;
        wsm_output(p->ws, &data, &len);
        if (len == 0) {
            return true;
        }
        ssize_t n = write(p->fd, data, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return true;
        }
        if (n < 0) {
            wsm_transport_error(p->ws);
            return false;
        }
        wsm_consume_output(p->ws, (size_t)n);
    }
}

/* Steps 1 to 4; returns true when the connection is finished. */
static bool drive(struct peer *p) {
    for (;;) {
        poll_events(p);
        if (!flush(p)) {
            continue; /* the transport error queued events */
        }
        if (p->echo_pending && !wsm_wants_write(p->ws)) {
            continue; /* everything was written: the echo fits now */
        }
        break;
    }
    if (!p->shut && wsm_wants_shutdown(p->ws)) {
        shutdown(p->fd, SHUT_WR);
        p->shut = true;
    }
    return wsm_is_finished(p->ws);
}

/* Step 5, reading: at most what the connection takes, so all of it is. */
static void read_input(struct peer *p) {
    size_t room = wsm_input_room(p->ws);
    if (room > sizeof input) {
        room = sizeof input;
    }
    ssize_t n = read(p->fd, input, room);
    if (n > 0) {
        size_t taken;
        wsm_feed(p->ws, input, (size_t)n, &taken);
    } else if (n == 0) {
        wsm_feed_eof(p->ws);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        wsm_transport_error(p->ws);
    }
}

static void set_nonblocking(int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void add_peer(int fd, const wsm_config *config) {
    wsm_conn *ws;
    int rc = wsm_server_new(config, &ws);
    if (rc != WSM_OK) {
        fprintf(stderr, "wsm_server_new: %s\n", wsm_last_error_message());
        close(fd);
        return;
    }
    if (peer_count == peer_room) {
        size_t room = peer_room ? 2 * peer_room : 16;
        struct peer *grown = realloc(peers, room * sizeof *peers);
        if (grown == NULL) {
            wsm_conn_free(ws);
            close(fd);
            return;
        }
        peers = grown;
        peer_room = room;
    }
    set_nonblocking(fd);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    peers[peer_count++] = (struct peer){.fd = fd, .ws = ws};
}

static void remove_peer(size_t i) {
    close(peers[i].fd);
    wsm_conn_free(peers[i].ws);
    peers[i] = peers[--peer_count];
}

static int listen_on(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 128) != 0) {
        perror("listen");
        exit(1);
    }
    socklen_t len = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    printf("echo server listening on ws://127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    set_nonblocking(fd);
    return fd;
}

static void on_signal(int sig) {
    (void)sig;
    stopping = 1;
}

int main(int argc, char **argv) {
    int listener = listen_on(argc > 1 ? atoi(argv[1]) : 9001);
    signal(SIGPIPE, SIG_IGN); /* a write to a closed socket is an error, not a signal */
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    wsm_config config;
    wsm_config_default(&config); /* change limits and timers here */

    struct pollfd *fds = NULL;
    for (;;) {
        if (stopping && listener >= 0) {
            close(listener);
            listener = -1;
            for (size_t i = 0; i < peer_count; i++) {
                wsm_close(peers[i].ws, 1001, "server shutting down");
            }
        }
        /* Steps 1-4 for every connection; drop the finished ones. */
        for (size_t i = 0; i < peer_count;) {
            if (drive(&peers[i])) {
                remove_peer(i);
            } else {
                i++;
            }
        }
        if (listener < 0 && peer_count == 0) {
            break;
        }

        /* Step 5: wait for the sockets and the earliest deadline. */
        struct pollfd *grown = realloc(fds, (peer_count + 1) * sizeof *fds);
        if (grown == NULL) {
            break;
        }
        fds = grown;
        fds[0] = (struct pollfd){.fd = listener, .events = POLLIN};
        uint64_t deadline = WSM_NO_DEADLINE;
        for (size_t i = 0; i < peer_count; i++) {
            wsm_conn *ws = peers[i].ws;
            short events = (short)((wsm_wants_read(ws) ? POLLIN : 0) |
                                   (wsm_wants_write(ws) ? POLLOUT : 0));
            fds[i + 1] = (struct pollfd){.fd = peers[i].fd, .events = events};
            uint64_t d = wsm_poll_timeout(ws);
            if (d < deadline) {
                deadline = d;
            }
        }
        int timeout_ms = -1;
        if (deadline != WSM_NO_DEADLINE) {
            uint64_t now = now_ns();
            uint64_t wait = deadline > now ? (deadline - now + 999999) / 1000000 : 0;
            timeout_ms = wait > 60000 ? 60000 : (int)wait;
        }
        size_t polled = peer_count; /* new peers are not in `fds` */
        if (poll(fds, polled + 1, timeout_ms) < 0 && errno != EINTR) {
            perror("poll");
            break;
        }

        uint64_t now = now_ns();
        for (size_t i = 0; i < polled; i++) {
            struct peer *p = &peers[i];
            short ready = fds[i + 1].revents;
            if ((ready & (POLLIN | POLLHUP | POLLERR)) && wsm_wants_read(p->ws)) {
                read_input(p);
            } else if (ready & (POLLHUP | POLLERR)) {
                wsm_transport_error(p->ws); /* gone while we were not reading */
            }
            if (wsm_poll_timeout(p->ws) <= now) {
                wsm_handle_timeout(p->ws, now);
            }
        }
        if (listener >= 0 && (fds[0].revents & POLLIN)) {
            int fd;
            while ((fd = accept(listener, NULL, NULL)) >= 0) {
                add_peer(fd, &config);
            }
        }
    }
    free(fds);
    free(peers);
    return 0;
}
