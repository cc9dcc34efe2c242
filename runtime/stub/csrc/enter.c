// enter.c: the stub's "enter" mode, included by stub.c (one translation unit,
// so everything stays static and the build stays one gcc call). hull starts the
// stub this way to join a user (and time) namespace, which a multi-threaded Go
// process cannot, then clone the container's init into new namespaces owned by
// it; see ../doc.go and runtime/doc.go.

// num parses a decimal number from the command line; what says which.
static u64 num(const char *s, const char *what)
{
	u64 v = 0;
	if (!*s)
		die("usage", 0, 0, what, 127);
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1UL << 40)
			die("usage", 0, 0, what, 127);
		v = v * 10 + (u64)(*s - '0');
	}
	return v;
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

enum {
	CLONE_NEWTIME = 0x80, CLONE_NEWNS = 0x20000, CLONE_NEWCGROUP = 0x2000000,
	CLONE_NEWUTS = 0x4000000, CLONE_NEWIPC = 0x8000000, CLONE_NEWUSER = 0x10000000,
	CLONE_NEWPID = 0x20000000, CLONE_NEWNET = 0x40000000,
};

static const char *nsname(long type)
{
	switch (type) {
	case CLONE_NEWUSER: return "user namespace";
	case CLONE_NEWTIME: return "time namespace";
	case CLONE_NEWNS: return "mount namespace";
	case CLONE_NEWPID: return "pid namespace";
	case CLONE_NEWNET: return "network namespace";
	case CLONE_NEWIPC: return "ipc namespace";
	case CLONE_NEWUTS: return "uts namespace";
	case CLONE_NEWCGROUP: return "cgroup namespace";
	}
	return "namespace";
}

enum { MAX_NS = 8 };

// join enters the namespaces whose fds are given, in that order (hull puts a
// user namespace first), closes the fds and returns the types joined. The
// kernel lets only a single-threaded process setns(2) into a user or time
// namespace, which is why this is C: the Go side joins the other kinds.
static long join(int n, char **fds)
{
	long fd[MAX_NS], type[MAX_NS], joined = 0;
	if (n > MAX_NS)
		die("usage", 0, 0, "too many namespace fds", 127);
	for (int i = 0; i < n; i++) {
		fd[i] = (long)num(fds[i], "namespace fd is not a number");
		type[i] = sys(SYS_ioctl, fd[i], NS_GET_NSTYPE, 0);
		if (type[i] < 0)
			die("namespace fd", fds[i], -type[i], 0, 127);
		joined |= type[i];
	}
	// Drop the host's supplementary groups while we still may: inside, a
	// namespace whose setgroups file says "deny" would refuse it, and the
	// host's groups, unmapped there, would stay with the process.
	if (joined & CLONE_NEWUSER)
		check(sys(SYS_setgroups, 0, 0, 0), "setgroups");
	for (int i = 0; i < n; i++) {
		long r = sys(SYS_setns, fd[i], type[i], 0);
		if (r < 0)
			die("setns", nsname(type[i]), -r, 0, 127);
		sys(SYS_close, fd[i], 0, 0);
	}
	return joined;
}

struct iovec {
	const void *base;
	u64 len;
};
struct msghdr {
	void *name;
	u32 namelen;
	struct iovec *iov;
	u64 iovlen;
	void *control;
	u64 controllen;
	int flags;
};
struct cmsg_fd { // a cmsghdr carrying one fd: CMSG_SPACE(sizeof(int)) bytes
	u64 len;
	int level, type;
	int fd, pad;
};

// sendfd sends one byte, "0", and fd with it (SCM_RIGHTS).
static long sendfd(int sock, int fd)
{
	struct cmsg_fd c;
	c.len = 20; // CMSG_LEN(sizeof(int))
	c.level = SOL_SOCKET;
	c.type = SCM_RIGHTS;
	c.fd = fd;
	c.pad = 0;
	struct iovec io;
	io.base = "0";
	io.len = 1;
	struct msghdr m;
	m.name = 0;
	m.namelen = 0;
	m.iov = &io;
	m.iovlen = 1;
	m.control = &c;
	m.controllen = sizeof c;
	m.flags = 0;
	long r;
	do
		r = sys(SYS_sendmsg, sock, &m, MSG_NOSIGNAL);
	while (r == -EINTR);
	return r;
}

enum { SYS_kill = 62, SIGKILL = 9 };

// enter starts hull's Go init inside namespaces a Go program cannot join (see
// ../doc.go). hull starts it from a thread that has joined the other kinds
// already; it joins the ones on its command line (a user namespace first),
// becomes root of a joined user namespace, and clones the init with the new
// namespaces' flags, so those are owned by the joined user namespace. The
// clone is a child of hull (CLONE_PARENT), not ours: hull waits for it and
// gets its exit status. hull gets a pidfd of it over the sync socket, fd 3, in
// one message: "0" with the pidfd, or "hull: <step>: <reason>" if we failed:
// until the clone, fd 2 is the sync socket, so die() reports there (and the
// stub needs no writable data segment).
// fds 0-4 are the init's (stdio, sync socket, console socket); the ones above
// are ours and do not survive its execve.
static void enter(int argc, char **argv)
{
	long stderr = sys(SYS_fcntl, 2, F_DUPFD_CLOEXEC, 5);
	if (stderr < 0 || sys(SYS_dup3, 3, 2, 0) < 0)
		die("usage", 0, 0, "no stderr or no sync socket", 127);
	if (argc < 4)
		die("usage", 0, 0, "hull-stub enter <clone-flags> <exe-fd> [<ns-fd>...]", 127);
	u64 flags = num(argv[2], "clone flags are not a number");
	long all = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWCGROUP;
	if (flags & ~(u64)all)
		die("usage", 0, 0, "clone flags other than new mount, uts, ipc, network, pid, cgroup namespaces", 127);
	long exe = (long)num(argv[3], "exe fd is not a number");

	if (join(argc - 4, argv + 4) & CLONE_NEWUSER) {
		// Our uid and gid are the host's, which the namespace may not map, and
		// execve keeps capabilities only for its root: become that root, as
		// runc's nsexec does.
		check(sys(SYS_setresgid, 0, 0, 0), "become root of the user namespace: setresgid");
		check(sys(SYS_setresuid, 0, 0, 0), "become root of the user namespace: setresuid");
	}
	// CLOSE_RANGE_CLOEXEC needs Linux 5.11; before it, only exe must not leak.
	if (sys(SYS_close_range, 5, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		check(sys(SYS_fcntl, exe, F_SETFD, FD_CLOEXEC), "exe fd");

	int pidfd = -1;
	long pid = sys6(SYS_clone, (long)flags | CLONE_PARENT | CLONE_PIDFD | SIGCHLD, 0, (long)&pidfd, 0, 0, 0);
	check(pid, "clone");
	if (pid == 0) {
		// The init, born in the new namespaces, with its stderr back. Its
		// failures go there: the sync socket is the Go init's from here on.
		check(sys(SYS_dup3, stderr, 2, 0), "restore stderr");
		check(sys(SYS_setsid, 0, 0, 0), "setsid");
		static char *const av[] = {"hull", "init", 0};
		static char *const ev[] = {0};
		long err = -sys6(SYS_execveat, exe, (long)"", (long)av, (long)ev, AT_EMPTY_PATH, 0);
		die("exec hull init", 0, err, 0, 127);
	}
	long r = sendfd(3, pidfd);
	if (r < 0) {
		sys(SYS_kill, pid, SIGKILL, 0); // hull cannot know it: do not leave it behind
		die("send pidfd", 0, -r, 0, 127);
	}
	for (;;)
		sys(SYS_exit_group, 0, 0, 0);
}
