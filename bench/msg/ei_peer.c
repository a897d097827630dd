/* The erl_interface peer of the messaging benchmark: a C node built from the installed OTP's
 * erl_interface that serves `echo` and `sink` with the semantics of `edist serve` (README.md,
 * "edist serve contract"), the reference C implementation the benchmark compares edist with.
 *
 *   edist_bench_ei_peer NAME@HOST COOKIE
 *
 * Registers with the EPMD at $ERL_EPMD_PORT (as erl_interface reads it), prints
 * `ready NAME@HOST` once it listens, and serves one connection at a time (the driver's) until
 * it is killed. It is written the way an erl_interface user would write it: one thread, the
 * blocking ei_xreceive_msg loop, replies copied from the received bytes without re-encoding. */
#include <arpa/inet.h>
#include <ei.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The sink's state between messages: counting when `left` > 0. */
struct sink_state {
  erlang_pid to;
  long wanted;
  long left;
};

static void send_done(int fd, erlang_pid* to, long n) {
  ei_x_buff out;
  ei_x_new_with_version(&out);
  ei_x_encode_tuple_header(&out, 2);
  ei_x_encode_atom(&out, "done");
  ei_x_encode_long(&out, n);
  ei_send(fd, to, out.buff, out.index);
  ei_x_free(&out);
}

/* {Pid, Msg} -> Pid ! {echo, Msg}, Msg copied as received. */
static void serve_echo(int fd, const char* buf, ei_x_buff* out) {
  int index = 0, version = 0, arity = 0;
  erlang_pid pid;
  if (ei_decode_version(buf, &index, &version) < 0) return;
  if (ei_decode_tuple_header(buf, &index, &arity) < 0 || arity != 2) return;
  if (ei_decode_pid(buf, &index, &pid) < 0) return;
  const int msg_start = index;
  if (ei_skip_term(buf, &index) < 0) return;
  out->index = 0;
  ei_x_encode_version(out);
  ei_x_encode_tuple_header(out, 2);
  ei_x_encode_atom(out, "echo");
  ei_x_append_buf(out, buf + msg_start, index - msg_start);
  ei_send(fd, &pid, out->buff, out->index);
}

/* {count, Pid, N}, then N messages of any shape, then Pid ! {done, N}. */
static void serve_sink(int fd, const char* buf, struct sink_state* s) {
  if (s->left > 0) {
    if (--s->left == 0) send_done(fd, &s->to, s->wanted);
    return;
  }
  int index = 0, version = 0, arity = 0;
  char tag[MAXATOMLEN_UTF8];
  long n = 0;
  if (ei_decode_version(buf, &index, &version) < 0) return;
  if (ei_decode_tuple_header(buf, &index, &arity) < 0 || arity != 3) return;
  if (ei_decode_atom(buf, &index, tag) < 0 || strcmp(tag, "count") != 0) return;
  if (ei_decode_pid(buf, &index, &s->to) < 0) return;
  if (ei_decode_long(buf, &index, &n) < 0 || n < 0) return;
  if (n == 0) {
    send_done(fd, &s->to, 0);
    return;
  }
  s->wanted = n;
  s->left = n;
}

int main(int argc, char** argv) {
  if (argc != 3 || strchr(argv[1], '@') == NULL) {
    fprintf(stderr, "usage: %s NAME@HOST COOKIE\n", argv[0]);
    return 2;
  }
  char alive[256], host[256];
  const char* at = strchr(argv[1], '@');
  snprintf(alive, sizeof alive, "%.*s", (int)(at - argv[1]), argv[1]);
  snprintf(host, sizeof host, "%s", at + 1);

  ei_init();
  ei_cnode node;
  struct in_addr loopback;
  loopback.s_addr = htonl(INADDR_LOOPBACK);
  if (ei_connect_xinit(&node, host, alive, argv[1], &loopback, argv[2], 0) < 0) {
    fprintf(stderr, "ei_connect_xinit failed\n");
    return 1;
  }
  int port = 0;
  const int listen_fd = ei_listen(&node, &port, 5);
  if (listen_fd < 0) {
    fprintf(stderr, "ei_listen failed\n");
    return 1;
  }
  if (ei_publish(&node, port) < 0) {
    fprintf(stderr, "ei_publish failed (is EPMD running at $ERL_EPMD_PORT?)\n");
    return 1;
  }
  printf("ready %s\n", argv[1]);
  fflush(stdout);

  ei_x_buff in, out;
  ei_x_new(&in);
  ei_x_new(&out);
  for (;;) {
    ErlConnect peer;
    const int fd = ei_accept(&node, listen_fd, &peer);
    if (fd < 0) continue;
    struct sink_state sink = {.wanted = 0, .left = 0};
    for (;;) {
      erlang_msg msg;
      const int got = ei_xreceive_msg(fd, &msg, &in);
      if (got == ERL_TICK) continue;
      if (got == ERL_ERROR) break;
      if (msg.msgtype != ERL_REG_SEND) continue;
      if (strcmp(msg.toname, "echo") == 0)
        serve_echo(fd, in.buff, &out);
      else if (strcmp(msg.toname, "sink") == 0)
        serve_sink(fd, in.buff, &sink);
    }
    close(fd);
  }
}
