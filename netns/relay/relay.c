/*
 * hull-relay: carries a published port's traffic from 127.0.0.1 to the same port on one
 * of the host's non-loopback addresses, where hull's nftables output chain DNATs it to a
 * container. The kernel cannot DNAT a 127.0.0.1 connection to another host without
 * net.ipv4.conf.*.route_localnet=1 (CVE-2020-8558), so this one hop runs in userspace.
 *
 * It never learns endpoints: load balancing and membership stay in the kernel's rules.
 *
 *   hull-relay GO_FD FD:t:ADDR:PORT [FD:u:ADDR:PORT ...]
 *
 * hull binds the listening sockets itself (so a taken port is its error, reported at
 * once) and passes them as FDs. The relay then blocks on GO_FD: one byte means hull has
 * recorded our pid and we are on; EOF means hull died first, and we leave, so a crash of
 * hull between fork and bookkeeping leaves no orphan relay behind.
 *
 * TCP: the main process accepts; a child per connection connects to the target and, with
 * a grandchild, splices one direction each through a pipe (splice(2): the bytes never
 * cross into userspace). UDP: the main process keeps a small table of flows, one
 * connected upstream socket per client address, idle ones expire.
 * Children die with their parent (PR_SET_PDEATHSIG), so killing the relay ends its
 * connections too.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXL 64	   /* listeners */
#define MAXF 256   /* UDP flows */
#define IDLE 60	   /* seconds a UDP flow lives without traffic */

struct listener {
	int fd, udp;
	struct sockaddr_in to;
};

struct flow {
	int fd, l; /* upstream socket (connected), index of its listener */
	struct sockaddr_in from;
	time_t last;
};

static struct listener ls[MAXL];
static struct flow fs[MAXF];
static int nls;

static time_t now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

static void die(const char *s)
{
	write(2, "hull-relay: ", 12);
	write(2, s, strlen(s));
	write(2, "\n", 1);
	_exit(2);
}

/* pump moves one direction until EOF or error, then half-closes the other side: the other
 * direction goes on (a client that half-closes after its request still gets the answer). */
static void pump(int from, int to)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		_exit(1);
	for (;;) {
		ssize_t n = splice(from, NULL, p[1], NULL, 1 << 16, SPLICE_F_MOVE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		while (n > 0) {
			ssize_t m = splice(p[0], NULL, to, NULL, n, SPLICE_F_MOVE);
			if (m < 0 && errno == EINTR)
				continue;
			if (m <= 0)
				_exit(1);
			n -= m;
		}
	}
	shutdown(to, SHUT_WR);
	shutdown(from, SHUT_RD);
}

static void conn(int c, struct sockaddr_in *to)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (int l = 0; l < nls; l++) /* the port stays the relay's alone */
		close(ls[l].fd);
	for (int i = 0; i < MAXF; i++)
		if (fs[i].fd > 0)
			close(fs[i].fd);
	int u = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (u < 0 || connect(u, (struct sockaddr *)to, sizeof *to) < 0)
		_exit(1); /* closing c resets the client: nothing listens behind the port */
	pid_t pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pump(u, c);
		_exit(0);
	}
	pump(c, u);
	/* The child dies with us (PDEATHSIG): wait until the answer direction is done too. With
	 * SIGCHLD ignored, waitpid returns (ECHILD) once the child has ended. */
	waitpid(pid, NULL, 0);
	_exit(0);
}

static void udp_in(int l)
{
	char buf[65536];
	struct sockaddr_in from;
	socklen_t fl = sizeof from;
	ssize_t n = recvfrom(ls[l].fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	if (n < 0)
		return;
	int i, free = -1, old = 0;
	for (i = 0; i < MAXF; i++) {
		if (fs[i].fd <= 0) {
			if (free < 0)
				free = i;
			continue;
		}
		if (fs[i].l == l && fs[i].from.sin_port == from.sin_port && fs[i].from.sin_addr.s_addr == from.sin_addr.s_addr)
			break;
		if (fs[i].last < fs[old].last || fs[old].fd <= 0)
			old = i;
	}
	if (i == MAXF) { /* a new flow; when the table is full the oldest gives way */
		i = free >= 0 ? free : old;
		if (fs[i].fd > 0)
			close(fs[i].fd);
		fs[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fs[i].fd < 0 || connect(fs[i].fd, (struct sockaddr *)&ls[l].to, sizeof ls[l].to) < 0) {
			if (fs[i].fd >= 0)
				close(fs[i].fd);
			fs[i].fd = 0;
			return;
		}
		fs[i].l = l;
		fs[i].from = from;
	}
	fs[i].last = now();
	send(fs[i].fd, buf, n, MSG_DONTWAIT);
}

static void udp_out(int i)
{
	char buf[65536];
	ssize_t n = recv(fs[i].fd, buf, sizeof buf, MSG_DONTWAIT);
	if (n < 0)
		return;
	fs[i].last = now();
	sendto(ls[fs[i].l].fd, buf, n, MSG_DONTWAIT, (struct sockaddr *)&fs[i].from, sizeof fs[i].from);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		die("usage: hull-relay GO_FD FD:t|u:ADDR:PORT...");
	for (int a = 2; a < argc && nls < MAXL; a++) {
		char *s = argv[a], *c1 = strchr(s, ':'), *c3 = strrchr(s, ':');
		if (!c1 || c3 == c1 || (c1[1] != 't' && c1[1] != 'u') || c1[2] != ':')
			die("bad listener spec");
		*c3 = 0;
		struct listener *l = &ls[nls++];
		l->fd = atoi(s);
		l->udp = c1[1] == 'u';
		l->to.sin_family = AF_INET;
		l->to.sin_port = htons(atoi(c3 + 1));
		if (inet_pton(AF_INET, c1 + 3, &l->to.sin_addr) != 1)
			die("bad address");
	}
	char go;
	if (read(atoi(argv[1]), &go, 1) != 1)
		return 0; /* hull never confirmed: leave nothing behind */
	close(atoi(argv[1]));
	signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
	signal(SIGPIPE, SIG_IGN);

	struct pollfd p[MAXL + MAXF];
	int who[MAXL + MAXF];
	for (;;) {
		int n = 0;
		for (int l = 0; l < nls; l++) {
			p[n] = (struct pollfd){.fd = ls[l].fd, .events = POLLIN};
			who[n++] = l;
		}
		time_t t = now();
		for (int i = 0; i < MAXF; i++) {
			if (fs[i].fd <= 0)
				continue;
			if (t - fs[i].last > IDLE) {
				close(fs[i].fd);
				fs[i].fd = 0;
				continue;
			}
			p[n] = (struct pollfd){.fd = fs[i].fd, .events = POLLIN};
			who[n++] = MAXL + i;
		}
		if (poll(p, n, 10000) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (int k = 0; k < n; k++) {
			if (!p[k].revents)
				continue;
			if (who[k] >= MAXL) {
				udp_out(who[k] - MAXL);
				continue;
			}
			struct listener *l = &ls[who[k]];
			if (l->udp) {
				udp_in(who[k]);
				continue;
			}
			int c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			pid_t pid = fork();
			if (pid == 0)
				conn(c, &l->to);
			close(c);
		}
	}
}
