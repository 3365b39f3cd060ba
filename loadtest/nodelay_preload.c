/*
 * LD_PRELOAD shim for experiments: sets TCP_NODELAY on every TCP connection the
 * process accepts (accept / accept4), leaving everything else alone.
 *
 *   gcc -O2 -shared -fPIC -o /tmp/nodelay_preload.so loadtest/nodelay_preload.c -ldl
 *   python3 loadtest/run.py ws_games --server-env LD_PRELOAD=/tmp/nodelay_preload.so
 *
 * run.py builds and uses it with --server-nodelay. It shows what the server's latency
 * would be if it set TCP_NODELAY on its accepted sockets itself (see PERFORMANCE.md).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void nodelay(int fd) {
    if (fd >= 0) {
        int one = 1;
        /* Fails harmlessly on non-TCP sockets. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
}

int accept(int fd, struct sockaddr *addr, socklen_t *len) {
    static int (*real)(int, struct sockaddr *, socklen_t *);
    if (!real) real = dlsym(RTLD_NEXT, "accept");
    int out = real(fd, addr, len);
    nodelay(out);
    return out;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    static int (*real)(int, struct sockaddr *, socklen_t *, int);
    if (!real) real = dlsym(RTLD_NEXT, "accept4");
    int out = real(fd, addr, len, flags);
    nodelay(out);
    return out;
}
