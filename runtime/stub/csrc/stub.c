// stub.c: the process that holds a hull container in "created", then becomes
// the container's process. See ../doc.go for the why, ../format.go for the layout of
// the program it reads.
//
// No libc: a libc's startup code and stdio would be most of the binary and most
// of the memory of a process that only blocks in open(2). So this file brings
// its own _start, raw syscalls and a few string helpers, and nothing else.
// Every failure writes "hull: <step>: <reason>" to fd 2 and exits 127 (126 when
// execve says the file is not executable), like a shell would.
//
// Three entry points, chosen by argv (see ../doc.go):
//   hull-stub <program-fd> [<ns-fd>...]                  join, wait, transition, execve
//   hull-stub enter <clone-flags> <exe-fd> [<ns-fd>...]  join, clone, execveat hull init
//   hull-stub await <sync-fd> <cgroupns> [<tasks-fd>...]
//                                                        join cgroups, receive the program, go on as the first
// Both exist because only a single-threaded process may setns(2) into a user
// or time namespace, and a Go program never is one.

#if !defined(__x86_64__)
#error "stub.c has raw syscalls for x86_64 only: add sys6() and the numbers below for this arch"
#endif

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long u64;

// x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl).
enum {
	SYS_write = 1,
	SYS_open = 2,
	SYS_close = 3,
	SYS_lseek = 8,
	SYS_mmap = 9,
	SYS_rt_sigprocmask = 14,
	SYS_ioctl = 16,
	SYS_sendmsg = 46,
	SYS_clone = 56,
	SYS_execve = 59,
	SYS_fcntl = 72,
	SYS_dup3 = 292,
	SYS_setsid = 112,
	SYS_setgroups = 116,
	SYS_setresuid = 117,
	SYS_setresgid = 119,
	SYS_capset = 126,
	SYS_prctl = 157,
	SYS_exit_group = 231,
	SYS_seccomp = 317,
	SYS_setns = 308,
	SYS_execveat = 322,
	SYS_fstatfs = 138,
	SYS_openat = 257,
	SYS_open_tree = 428,
	SYS_close_range = 436,
};

enum {
	EPERM = 1, EINTR = 4, ENOEXEC = 8, EACCES = 13, EINVAL = 22, ENOSYS = 38,
	O_WRONLY = 01, O_CLOEXEC = 02000000, O_DIRECTORY = 0200000, O_NOFOLLOW = 0400000,
	AT_FDCWD = -100, OPEN_TREE_CLONE = 1, PROC_SUPER_MAGIC = 0x9fa0,
	F_SETFD = 2, FD_CLOEXEC = 1, F_DUPFD_CLOEXEC = 1030, AT_EMPTY_PATH = 0x1000, CLOSE_RANGE_CLOEXEC = 4,
	SIGCHLD = 17, CLONE_PIDFD = 0x1000, CLONE_PARENT = 0x8000,
	NS_GET_NSTYPE = 0xb703, // _IO(0xb7, 0x3)
	SOL_SOCKET = 1, SCM_RIGHTS = 1, MSG_NOSIGNAL = 0x4000,
	SEEK_END = 2,
	PROT_READ = 1, PROT_WRITE = 2, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20,
	SIG_SETMASK = 2,
	PR_SET_KEEPCAPS = 8, PR_SET_SECCOMP = 22, PR_CAPBSET_READ = 23,
	PR_CAPBSET_DROP = 24, PR_SET_NO_NEW_PRIVS = 38, PR_CAP_AMBIENT = 47,
	PR_CAP_AMBIENT_RAISE = 2, PR_CAP_AMBIENT_CLEAR_ALL = 4,
	SECCOMP_MODE_FILTER = 2, SECCOMP_SET_MODE_FILTER = 1,
	LINUX_CAPABILITY_VERSION_3 = 0x20080522,
};

// The program header; keep in step with format.go.
enum {
	MAGIC = 0x4c4c5548, // "HULL"
	VERSION = 2,
	HEADER_SIZE = 96,
	MAX_ATTR = 2, // LSM attributes: AppArmor's and SELinux's exec label
	F_SKIP_SETGROUPS = 1,
	F_KEEP_IDENTITY = 2,
	F_NO_NEW_PRIVS = 4,
};

// sys6 returns the raw kernel result: -errno on failure.
static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#define sys(n, a, b, c) sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)

// Lower-case like Go's errors, so a log line reads the same from either side.
static const char *strerr(long e)
{
	switch (e) {
	case 1: return "operation not permitted";
	case 2: return "no such file or directory";
	case 7: return "argument list too long";
	case 8: return "exec format error";
	case 9: return "bad file descriptor";
	case 12: return "cannot allocate memory";
	case 13: return "permission denied";
	case 14: return "bad address";
	case 20: return "not a directory";
	case 22: return "invalid argument";
	case 25: return "inappropriate ioctl for device";
	case 26: return "text file busy";
	case 36: return "file name too long";
	case 38: return "function not implemented";
	case 40: return "too many levels of symbolic links";
	}
	return 0;
}

struct line {
	char buf[512];
	u32 n;
};

static void put(struct line *l, const char *s)
{
	while (*s && l->n < sizeof l->buf - 1)
		l->buf[l->n++] = *s++;
}

static void putnum(struct line *l, u64 v)
{
	char tmp[24];
	int i = sizeof tmp;
	tmp[--i] = 0;
	do {
		tmp[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	put(l, tmp + i);
}

// die reports "hull: <step>[ <arg>]: <why>" where why is err's text, or
// the literal reason when err is 0, and exits.
static __attribute__((noreturn)) void die(const char *step, const char *arg, long err, const char *reason, int code)
{
	struct line l;
	l.n = 0;
	put(&l, "hull: ");
	put(&l, step);
	if (arg) {
		put(&l, " ");
		put(&l, arg);
	}
	put(&l, ": ");
	if (err) {
		const char *s = strerr(err);
		if (s) {
			put(&l, s);
		} else {
			put(&l, "errno ");
			putnum(&l, err);
		}
	} else {
		put(&l, reason);
	}
	l.buf[l.n++] = '\n';
	sys(SYS_write, 2, l.buf, l.n);
	for (;;)
		sys(SYS_exit_group, code, 0, 0);
}

static long check(long ret, const char *step)
{
	if (ret < 0)
		die(step, 0, -ret, 0, 127);
	return ret;
}

static __attribute__((noreturn)) void bad(const char *reason)
{
	die("program", 0, 0, reason, 127);
}

static u32 le32(const u8 *p) { return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24; }
static u64 le64(const u8 *p) { return le32(p) | (u64)le32(p + 4) << 32; }

struct prog {
	u32 flags, uid, gid, last, ngids, argc, envc, sflags, nfilter, nattr;
	int fifo;
	u64 bnd, eff, prm, inh, amb;
	const u32 *gids;
	const char *path;
	char **argv, **envp;
	const u8 *filter;
	const char *attr[2 * MAX_ATTR]; // file under /proc, value; file, value
};

// parse validates the program in p[0:size] and points pr into it.
static void parse(const u8 *p, u64 size, struct prog *pr)
{
	if (size < HEADER_SIZE)
		bad("truncated header");
	if (le32(p) != MAGIC)
		bad("bad magic");
	if ((p[4] | p[5] << 8) != VERSION)
		bad("unknown version");
	pr->flags = p[6] | p[7] << 8;
	pr->fifo = (int)le32(p + 8);
	pr->uid = le32(p + 12);
	pr->gid = le32(p + 16);
	pr->last = le32(p + 20);
	pr->ngids = le32(p + 24);
	pr->argc = le32(p + 28);
	pr->envc = le32(p + 32);
	u32 strsize = le32(p + 36);
	pr->sflags = le32(p + 40);
	pr->nfilter = le32(p + 44);
	pr->bnd = le64(p + 48);
	pr->eff = le64(p + 56);
	pr->prm = le64(p + 64);
	pr->inh = le64(p + 72);
	pr->amb = le64(p + 80);
	pr->nattr = le32(p + 88);
	if (le32(p + 92) != 0)
		bad("reserved header bytes set");
	if (pr->nattr > MAX_ATTR)
		bad("too many LSM attributes");
	if (pr->last > 63)
		bad("cap_last_cap out of range");
	if (pr->nfilter > 4096) // BPF_MAXINSNS; sock_fprog.len is only 16 bits
		bad("seccomp filter too long");

	// Every count is a u32, so these sums cannot overflow a u64.
	u64 off = HEADER_SIZE + (u64)pr->ngids * 4;
	u64 strs = off;
	u64 end = strs + strsize;
	u64 filt = (end + 7) & ~7UL;
	if (filt + (u64)pr->nfilter * 8 != size)
		bad("size does not match counts");
	pr->gids = (const u32 *)(p + HEADER_SIZE);
	pr->filter = p + filt;

	u64 n = 1 + (u64)pr->argc + pr->envc + 2 * pr->nattr;
	if (n > strsize)
		bad("too few string bytes");
	char **vec = (char **)sys6(SYS_mmap, 0, (n + 2) * sizeof(char *), PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if ((long)vec < 0)
		die("mmap", 0, -(long)vec, 0, 127);

	// Strings: path, argv..., env..., then a file and a value per LSM attribute,
	// each NUL-terminated, filling strsize exactly.
	// vec gets argv, NULL, env, NULL (mmap'd memory is zero).
	const char *s = (const char *)p + strs;
	const char *e = (const char *)p + end;
	for (u64 i = 0; i < n; i++) {
		const char *start = s;
		while (s < e && *s)
			s++;
		if (s == e)
			bad("unterminated string");
		s++;
		if (i == 0)
			pr->path = start;
		else if (i <= pr->argc)
			vec[i - 1] = (char *)start;
		else if (i <= (u64)pr->argc + pr->envc)
			vec[i] = (char *)start;
		else
			pr->attr[i - 1 - pr->argc - pr->envc] = start;
	}
	if (s != e)
		bad("trailing string bytes");
	pr->argv = vec;
	pr->envp = vec + pr->argc + 1;
}

// waitfifo blocks until "hull start" opens the exec fifo for reading, then
// writes the byte it waits for. The fd is an O_PATH fd, which cannot be
// written; reopening it through /proc/self/fd gives a real open of the fifo.
static void waitfifo(int fd)
{
	struct line l;
	l.n = 0;
	put(&l, "/proc/self/fd/");
	putnum(&l, (u64)fd);
	l.buf[l.n] = 0;

	long w;
	do
		w = sys(SYS_open, l.buf, O_WRONLY | O_CLOEXEC, 0);
	while (w == -EINTR);
	check(w, "open exec fifo");
	long r;
	do
		r = sys(SYS_write, w, "0", 1);
	while (r == -EINTR);
	check(r, "write exec fifo");
	// w stays open: it is close-on-exec, so "hull start", which reads the fifo
	// to EOF, returns (and runs poststart hooks) only once execve succeeded.
	sys(SYS_close, fd, 0, 0);
}

struct sock_fprog {
	unsigned short len;
	const void *filter;
};

static void seccomp(const struct prog *pr)
{
	struct sock_fprog fp;
	fp.len = (unsigned short)pr->nfilter;
	fp.filter = pr->filter;
	long r = sys(SYS_seccomp, SECCOMP_SET_MODE_FILTER, pr->sflags, &fp);
	// seccomp(2) came in 3.17; prctl can load the same filter, but without flags.
	if (r == -ENOSYS && pr->sflags == 0)
		r = sys6(SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, (long)&fp, 0, 0, 0);
	check(r, "seccomp");
}

static u64 slen(const char *s)
{
	u64 n = 0;
	while (s[n])
		n++;
	return n;
}

#include "lsm.c"

// transition moves to the container's identity in runc's order. Each step
// needs a capability a later step gives up:
//   seccomp without no_new_privs needs CAP_SYS_ADMIN, so it goes first;
//   dropping from the bounding set needs CAP_SETPCAP;
//   setgroups/setresgid/setresuid need CAP_SETGID/CAP_SETUID, and a change
//   away from uid 0 clears the permitted set unless KEEPCAPS is on;
//   capset then sets the exact sets, and ambient caps need them in place;
//   the LSM labels are written before no_new_privs, which AppArmor lets
//   confined callers change profile under no more, and their files are
//   opened first of all, while a private /proc may still be mounted;
//   a seccomp filter under no_new_privs goes last so it need not allow the
//   syscalls above.
static void transition(const struct prog *pr)
{
	long attr[MAX_ATTR];
	openattrs(pr, attr);
	int nnp = pr->flags & F_NO_NEW_PRIVS;
	if (pr->nfilter && !nnp)
		seccomp(pr);

	for (u32 c = 0; c <= pr->last; c++) {
		if (pr->bnd >> c & 1)
			continue;
		// Dropping needs CAP_SETPCAP even if the cap is already gone, so
		// skip those: an unprivileged caller can still keep what it has.
		if (sys(SYS_prctl, PR_CAPBSET_READ, c, 0) == 0)
			continue;
		check(sys(SYS_prctl, PR_CAPBSET_DROP, c, 0), "drop bounding capability");
	}

	if (!(pr->flags & F_KEEP_IDENTITY)) {
		check(sys(SYS_prctl, PR_SET_KEEPCAPS, 1, 0), "prctl keepcaps");
		if (!(pr->flags & F_SKIP_SETGROUPS))
			check(sys(SYS_setgroups, pr->ngids, pr->gids, 0), "setgroups");
		check(sys(SYS_setresgid, pr->gid, pr->gid, pr->gid), "setresgid");
		check(sys(SYS_setresuid, pr->uid, pr->uid, pr->uid), "setresuid");
		check(sys(SYS_prctl, PR_SET_KEEPCAPS, 0, 0), "prctl keepcaps");
	}

	struct cap_header h;
	struct cap_data d[2];
	h.version = LINUX_CAPABILITY_VERSION_3;
	h.pid = 0;
	d[0].effective = (u32)pr->eff;
	d[0].permitted = (u32)pr->prm;
	d[0].inheritable = (u32)pr->inh;
	d[1].effective = (u32)(pr->eff >> 32);
	d[1].permitted = (u32)(pr->prm >> 32);
	d[1].inheritable = (u32)(pr->inh >> 32);
	check(sys(SYS_capset, &h, d, 0), "capset");

	// Start from an empty ambient set so nothing the Go init had leaks through.
	long r = sys(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0);
	if (r < 0 && !(r == -EINVAL && pr->amb == 0)) // EINVAL: kernel < 4.3
		check(r, "clear ambient capabilities");
	for (u32 c = 0; c <= pr->last; c++)
		if (pr->amb >> c & 1)
			check(sys6(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0, 0), "raise ambient capability");

	writeattrs(pr, attr);

	if (nnp) {
		check(sys6(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0), "prctl no_new_privs");
		if (pr->nfilter)
			seccomp(pr);
	}
}

#include "enter.c"
#include "await.c"

__attribute__((noreturn, used)) void stub_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	if (argc >= 2 && streq(argv[1], "enter"))
		enter((int)argc, argv);
	if (argc < 2)
		die("usage", 0, 0, "hull-stub <program-fd> [<ns-fd>...]", 127);

	long fd;
	if (streq(argv[1], "await")) {
		fd = await((int)argc, argv);
	} else {
		fd = (long)num(argv[1], "program fd is not a number");
		// Join the namespaces a multi-threaded process cannot (hull exec: the
		// container's user and time namespaces; the init: its new time namespace,
		// which kernels before 6.x do not switch to at execve).
		join((int)argc - 2, argv + 2);
	}

	long size = check(sys(SYS_lseek, fd, 0, SEEK_END), "program size");
	if (size < HEADER_SIZE)
		bad("truncated header");
	long p = sys6(SYS_mmap, 0, size, PROT_READ, MAP_PRIVATE, (long)fd, 0);
	check(p, "mmap program");
	// The mapping holds the pages; the fd would only leak into the container.
	sys(SYS_close, fd, 0, 0);

	struct prog pr;
	parse((const u8 *)p, (u64)size, &pr);

	if (pr.fifo >= 0)
		waitfifo(pr.fifo);
	transition(&pr);

	// The Go init's signal mask survives execve; the container starts with none blocked.
	u64 none = 0;
	sys6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, 8, 0, 0);

	long err = -sys(SYS_execve, pr.path, pr.argv, pr.envp);
	die("exec", pr.path, err, 0, err == EACCES || err == ENOEXEC ? 126 : 127);
}

// The kernel starts us with argc at (%rsp), then argv, NULL, envp, NULL, auxv.
__asm__(".text\n"
	".global _start\n"
	"_start:\n"
	"	xor %ebp, %ebp\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call stub_main\n"
	"	hlt\n");
