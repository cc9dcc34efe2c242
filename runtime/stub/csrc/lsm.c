// lsm.c: the LSM labels (AppArmor profile, SELinux label) the stub writes for
// the user's program, included by stub.c (one translation unit); see ../doc.go.

// isproc says whether fd is on a procfs: an LSM label written anywhere else
// would be lost without an error, and the process would run unconfined.
static int isproc(long fd)
{
	u64 st[16]; // struct statfs: f_type comes first
	return sys(SYS_fstatfs, fd, st, 0) == 0 && st[0] == PROC_SUPER_MAGIC;
}

// openattrs opens the LSM attribute files (AppArmor's or SELinux's "exec"
// label, see ../doc.go) while the stub still holds CAP_SYS_ADMIN, through a
// private copy of the /proc mount: open_tree(OPEN_TREE_CLONE) without
// AT_RECURSIVE copies that one mount and nothing mounted over its files, so a
// process of the container that bind-mounted something over
// /proc/self/attr/... (runc's CVE-2025-52881) cannot divert the write. Kernels
// before 5.2 lack open_tree: there the container's /proc is used as it is.
static void openattrs(const struct prog *pr, long *fd)
{
	if (!pr->nattr)
		return;
	long root = sys(SYS_open_tree, AT_FDCWD, "/proc", OPEN_TREE_CLONE | O_CLOEXEC);
	if (root == -ENOSYS)
		root = sys(SYS_open, "/proc", O_DIRECTORY | O_CLOEXEC, 0);
	check(root, "open /proc for the LSM label");
	if (!isproc(root))
		die("open /proc for the LSM label", 0, 0, "not a procfs", 127);
	for (u32 i = 0; i < pr->nattr; i++) {
		const char *file = pr->attr[2 * i];
		fd[i] = sys6(SYS_openat, root, (long)file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0, 0, 0);
		if (fd[i] < 0)
			die("open LSM label file", file, -fd[i], 0, 127);
		if (!isproc(fd[i]))
			die("open LSM label file", file, 0, "not on a procfs", 127);
	}
	sys(SYS_close, root, 0, 0);
}

// writeattrs writes the labels: the kernel applies them at our execve, so the
// user's program, and nothing before it, runs under them.
static void writeattrs(const struct prog *pr, const long *fd)
{
	for (u32 i = 0; i < pr->nattr; i++) {
		const char *v = pr->attr[2 * i + 1];
		u64 n = slen(v);
		long r = sys(SYS_write, fd[i], v, n);
		if (r < 0)
			die("set LSM label", v, -r, 0, 127);
		if ((u64)r != n)
			die("set LSM label", v, 0, "short write", 127);
		sys(SYS_close, fd[i], 0, 0);
	}
}

struct cap_header {
	u32 version;
	int pid;
};
struct cap_data {
	u32 effective, permitted, inheritable;
};
