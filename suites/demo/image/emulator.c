/*
 * The demo candidate: a tiny "emulator" service with an HTTP contract that
 * consumers depend on. Built static so the image can be FROM scratch.
 *
 * Contract v1 (what consumers rely on):
 *   GET    /health        200 {"status":"ok"}
 *   POST   /items         201 {"id":"item-<n>","name":"<name>"}
 *   GET    /items/<id>    200 the item, or 404 {"error":"not found"}
 *   DELETE /items/<id>    204, or 404
 *   GET    /items         200 {"items":[...]}
 *
 * Built with -DCONTRACT_V2 it breaks that contract the way a careless
 * release would: creation answers 200 instead of 201 and IDs lose their
 * "item-" prefix.
 *
 * A fault knob for gate's own tests: EMULATOR_BREAK (set at build time with
 * --build-arg BREAK=...) = "writes" makes every POST /items answer 500,
 * "delete" makes every DELETE answer 500. Unset, the contract holds.
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_ITEMS 256

struct item {
  char id[32];
  char name[64];
  int live;
};

static struct item items[MAX_ITEMS];
static const char *broken = "";
static int next_id = 1;

static void on_term(int sig) {
  (void)sig;
  _exit(0);
}

static void reply(int fd, int status, const char *reason, const char *body) {
  char head[256];
  size_t len = body ? strlen(body) : 0;
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   status, reason, len);
  if (write(fd, head, (size_t)n) < 0) return;
  if (len && write(fd, body, len) < 0) return;
}

static struct item *find(const char *id) {
  for (int i = 0; i < MAX_ITEMS; i++)
    if (items[i].live && strcmp(items[i].id, id) == 0) return &items[i];
  return NULL;
}

/* Extracts "name":"..." from a small JSON body; good enough for a demo. */
static void json_name(const char *body, char *out, size_t size) {
  const char *key = strstr(body, "\"name\"");
  out[0] = 0;
  if (!key) return;
  const char *open = strchr(key + 6, '"');
  if (!open) return;
  const char *close = strchr(open + 1, '"');
  if (!close) return;
  size_t len = (size_t)(close - open - 1);
  if (len >= size) len = size - 1;
  memcpy(out, open + 1, len);
  out[len] = 0;
}

static void handle(int fd) {
  char req[8192];
  size_t used = 0;
  ssize_t n;
  /* Read until the end of headers and the announced body. */
  while (used < sizeof req - 1 && (n = read(fd, req + used, sizeof req - 1 - used)) > 0) {
    used += (size_t)n;
    req[used] = 0;
    char *end = strstr(req, "\r\n\r\n");
    if (!end) continue;
    const char *cl = strstr(req, "Content-Length:");
    size_t want = cl ? (size_t)atoi(cl + 15) : 0;
    if (used >= (size_t)(end + 4 - req) + want) break;
  }
  req[used] = 0;
  char method[8] = {0}, path[256] = {0};
  if (sscanf(req, "%7s %255s", method, path) != 2) {
    reply(fd, 400, "Bad Request", "{\"error\":\"bad request\"}");
    return;
  }
  char *body = strstr(req, "\r\n\r\n");
  body = body ? body + 4 : req + used;
  char buf[4096];

  if (strcmp(path, "/health") == 0 && strcmp(method, "GET") == 0) {
    reply(fd, 200, "OK", "{\"status\":\"ok\"}");
  } else if (strcmp(path, "/items") == 0 && strcmp(method, "POST") == 0) {
    if (strcmp(broken, "writes") == 0) {
      reply(fd, 500, "Internal Server Error", "{\"error\":\"write failed\"}");
      return;
    }
    int slot = -1;
    for (int i = 0; i < MAX_ITEMS; i++)
      if (!items[i].live) { slot = i; break; }
    if (slot < 0) { reply(fd, 507, "Insufficient Storage", "{\"error\":\"full\"}"); return; }
    struct item *it = &items[slot];
#ifdef CONTRACT_V2
    snprintf(it->id, sizeof it->id, "%d", next_id++);
#else
    snprintf(it->id, sizeof it->id, "item-%d", next_id++);
#endif
    json_name(body, it->name, sizeof it->name);
    it->live = 1;
    snprintf(buf, sizeof buf, "{\"id\":\"%s\",\"name\":\"%s\"}", it->id, it->name);
#ifdef CONTRACT_V2
    reply(fd, 200, "OK", buf);
#else
    reply(fd, 201, "Created", buf);
#endif
  } else if (strcmp(path, "/items") == 0 && strcmp(method, "GET") == 0) {
    size_t off = (size_t)snprintf(buf, sizeof buf, "{\"items\":[");
    int first = 1;
    for (int i = 0; i < MAX_ITEMS && off < sizeof buf - 128; i++) {
      if (!items[i].live) continue;
      off += (size_t)snprintf(buf + off, sizeof buf - off, "%s{\"id\":\"%s\",\"name\":\"%s\"}", first ? "" : ",",
                              items[i].id, items[i].name);
      first = 0;
    }
    snprintf(buf + off, sizeof buf - off, "]}");
    reply(fd, 200, "OK", buf);
  } else if (strncmp(path, "/items/", 7) == 0) {
    struct item *it = find(path + 7);
    if (!it) {
      reply(fd, 404, "Not Found", "{\"error\":\"not found\"}");
    } else if (strcmp(method, "GET") == 0) {
      snprintf(buf, sizeof buf, "{\"id\":\"%s\",\"name\":\"%s\"}", it->id, it->name);
      reply(fd, 200, "OK", buf);
    } else if (strcmp(method, "DELETE") == 0 && strcmp(broken, "delete") == 0) {
      reply(fd, 500, "Internal Server Error", "{\"error\":\"delete failed\"}");
    } else if (strcmp(method, "DELETE") == 0) {
      it->live = 0;
      reply(fd, 204, "No Content", NULL);
    } else {
      reply(fd, 405, "Method Not Allowed", "{\"error\":\"method not allowed\"}");
    }
  } else {
    reply(fd, 404, "Not Found", "{\"error\":\"no such route\"}");
  }
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 8080;
  if (getenv("EMULATOR_BREAK")) broken = getenv("EMULATOR_BREAK");
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  signal(SIGPIPE, SIG_IGN);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(s, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(s, 64) != 0) {
    perror("emulator: bind/listen");
    return 1;
  }
  fprintf(stderr, "emulator listening on :%d\n", port);
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    handle(c);
    close(c);
  }
}
