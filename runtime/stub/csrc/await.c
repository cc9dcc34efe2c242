// await.c: the stub's "await" mode, included by stub.c. hull starts the stub
// this way when it sets the container up from a thread of its own instead of
// a Go init (runtime/direct.go): the stub is the container's first process
// from the clone on, and waits here while that thread, in its namespaces,
// mounts and pivots its root. See ../doc.go.
//
//   hull-stub await <sync-fd> <cgroupns 0|1> [<tasks-fd>...]
//
// 1. Every cgroup v1 "tasks" fd gets "0": the stub moves itself into the
//    container's cgroups, which the kernel does without the lock that a
//    write of another process's pid takes (see cgroups.ThreadJoiner).
// 2. With cgroupns 1, unshare(CLONE_NEWCGROUP): rooted at the cgroup just
//    joined (and, on cgroup v2, the one clone3 put the stub in).
// 3. "p" on the sync socket: placed. hull's thread then joins our namespaces.
// 4. One message back: 4 bytes of umask (0xffffffff: leave it) with two or three
//    fds, the program (format.go), the working directory and, for a process with
//    a terminal, the pty's slave end, all opened by that thread inside the
//    finished root. The slave becomes stdin, stdout, stderr and our controlling
//    terminal (we lead our own session).
// 5. Clear the parent-death signal (the thread that cloned us ends soon),
//    restore stderr and close the sync socket: its EOF tells hull the
//    container is created. Then on as "hull-stub <program-fd>".
// Until 5, fd 2 is the sync socket, so die() reports to hull.

enum {
	SYS_read = 0, SYS_recvmsg = 47, SYS_fchdir = 81, SYS_umask = 95, SYS_unshare = 272,
	PR_SET_PDEATHSIG = 1, MSG_CMSG_CLOEXEC = 0x40000000, TIOCSCTTY = 0x540E,
};

struct cmsg_fds { // a cmsghdr with room for three fds: CMSG_SPACE(3 * sizeof(int)) bytes
	u64 len;
	int level, type;
	int fd[4];
};

static long await(int argc, char **argv)
{
	if (argc < 4)
		die("usage", 0, 0, "hull-stub await <sync-fd> <cgroupns> [<tasks-fd>...]", 127);
	long sync = (long)num(argv[2], "sync fd is not a number");
	int cgroupns = streq(argv[3], "1");
	long stderr = sys(SYS_fcntl, 2, F_DUPFD_CLOEXEC, 3);
	if (stderr < 0 || sys(SYS_dup3, sync, 2, O_CLOEXEC) < 0)
		die("usage", 0, 0, "no stderr or no sync socket", 127);
	// No fd above stdio may reach the user's process (CVE-2024-21626): not our own
	// executable, the sync socket or the cgroup files, and not any fd that hull
	// inherited without O_CLOEXEC from whoever started it. (hull takes this way only
	// where the kernel has CLOSE_RANGE_CLOEXEC, Linux 5.11.)
	check(sys(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC), "close_range");
	// If hull dies before the container is made, so do we (the sync socket's EOF
	// below covers the instant before this call).
	check(sys(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0), "set parent-death signal");

	for (int i = 4; i < argc; i++) {
		long fd = (long)num(argv[i], "tasks fd is not a number");
		long r;
		do
			r = sys(SYS_write, fd, "0", 1);
		while (r == -EINTR);
		check(r, "join cgroup: write 0 to tasks");
		sys(SYS_close, fd, 0, 0);
	}
	if (cgroupns)
		check(sys(SYS_unshare, CLONE_NEWCGROUP, 0, 0), "unshare cgroup namespace");
	check(sys(SYS_write, sync, "p", 1), "report placed");

	u32 mask = 0;
	struct cmsg_fds c;
	struct iovec io;
	io.base = &mask;
	io.len = sizeof mask;
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
		r = sys(SYS_recvmsg, sync, &m, MSG_CMSG_CLOEXEC);
	while (r == -EINTR);
	if (r == 0) // hull gave up (and kills us) or died
		for (;;)
			sys(SYS_exit_group, 1, 0, 0);
	check(r, "receive program");
	// CMSG_LEN of two fds is 24, of three 28.
	if (r != sizeof mask || m.controllen < 24 || c.level != SOL_SOCKET || c.type != SCM_RIGHTS || (c.len != 24 && c.len != 28))
		die("receive program", 0, 0, "malformed message", 127);
	if (c.len == 28) {
		for (int fd = 0; fd < 3; fd++)
			if (fd != 2) // fd 2 is the sync socket until we let go: see below
				check(sys(SYS_dup3, c.fd[2], fd, 0), "pty as stdio");
		check(sys(SYS_ioctl, c.fd[2], TIOCSCTTY, 0), "set controlling terminal");
		sys(SYS_close, stderr, 0, 0);
		stderr = c.fd[2]; // restored as fd 2 below, then closed
	}
	if (mask != 0xffffffffU)
		sys(SYS_umask, mask & 0777, 0, 0);
	check(sys(SYS_fchdir, c.fd[1], 0, 0), "chdir to cwd");
	sys(SYS_close, c.fd[1], 0, 0);

	check(sys(SYS_prctl, PR_SET_PDEATHSIG, 0, 0), "clear parent-death signal");
	check(sys(SYS_dup3, stderr, 2, 0), "restore stderr");
	sys(SYS_close, stderr, 0, 0);
	sys(SYS_close, sync, 0, 0);
	return c.fd[0];
}
