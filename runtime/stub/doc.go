// Package stub is the last thing hull's Go init does: it replaces itself with
// a tiny C program, the stub, which holds the container in "created" and then
// becomes the container's process.
//
// # Why a C stub
//
// Between "hull create" and "hull start" the container's process must exist
// (its namespaces, cgroup and pid are the container) yet must not have run any
// of the user's code. The OCI spec: "the user-specified program MUST NOT be
// run" until start. Something has to sit there and wait. A Go binary waiting
// costs about 0.85 MB PSS (runtime, heap arenas, threads); this stub is a few
// KB of static code with no libc, so a waiting container costs about 20 kB
// (crun, the C runtime, is at about 0.32 MB). See TestExecFifo for the number
// on your machine.
//
// # Why a sealed memfd
//
// The stub runs from a memfd, not a file: memfd_create(2), write the embedded
// stub.bin, seal it with F_ADD_SEALS (F_SEAL_SHRINK|GROW|WRITE|SEAL, see
// memfd_create(2) and fcntl(2) "File Sealing"), then execveat(2) with
// AT_EMPTY_PATH. So /proc/<pid>/exe of a container that is waiting is that
// sealed memfd, never the hull binary on the host: CVE-2019-5736 was a
// container process opening /proc/self/exe, which pointed at runc, and
// rewriting it. The stub's own argv is just "hull-stub <fd>"; what it will
// execute arrives through a second sealed memfd (the program, see Encode and
// the layout in format.go), so the user's argv and environment do not show in
// the stub's /proc/<pid>/cmdline and environ.
//
// # The wait
//
// The Go init opens the exec fifo O_PATH before pivot_root and passes its fd
// as Program.FifoFD. The stub reopens it O_WRONLY through /proc/self/fd/<N>,
// which blocks in the kernel (wchan "wait_for_partner") until "hull start"
// opens the fifo for reading; it then writes "0" and closes both fds. This
// is runc's exec.fifo handshake. The stub waits before changing identity:
// reopening through /proc checks the fifo's mode against the caller, so the
// fifo need not admit the container's user, and the user's seccomp filter
// need not allow the handshake.
//
// # The identity transition, in order
//
// Then, in runc's order (finalizeNamespace and friends), because each step
// needs a privilege a later step gives up:
//
//  1. seccomp filter, if any and no_new_privs is off: loading it without
//     no_new_privs needs CAP_SYS_ADMIN, which is about to go.
//  2. PR_CAPBSET_DROP each capability outside the bounding set (needs
//     CAP_SETPCAP). Ones already gone are skipped.
//  3. PR_SET_KEEPCAPS 1, setgroups, setresgid, setresuid, PR_SET_KEEPCAPS 0:
//     leaving uid 0 clears the permitted set unless keepcaps is on
//     (capabilities(7), "Effect of user ID changes on capabilities").
//     SkipSetgroups is for user namespaces whose /proc/<pid>/setgroups is
//     "deny"; KeepIdentity skips the whole step.
//  4. capset(2) version 3: effective, permitted, inheritable.
//  5. clear the ambient set and raise the requested ambient capabilities
//     (each must be permitted and inheritable, which Encode checks): how a
//     non-root process keeps capabilities across execve.
//  6. the LSM labels (Program.Attrs: "exec <profile>" to AppArmor's
//     /proc/thread-self/attr/apparmor/exec, an SELinux context to
//     attr/exec). The kernel applies such a label at the process's next
//     execve, so the stub writes it, not the Go init, whose next execve is
//     the stub's own: the user's program is the first to run under it.
//     Before no_new_privs, under which AppArmor refuses a confined caller's
//     profile change. The files are opened before step 1, while the stub
//     holds CAP_SYS_ADMIN, through open_tree(2) OPEN_TREE_CLONE of /proc: a
//     private copy of that one mount without whatever is mounted over its
//     files, so a container process cannot divert the write with a bind
//     mount over /proc/self/attr (runc's CVE-2025-52881); both fds are
//     checked to be on a procfs (fstatfs).
//  7. PR_SET_NO_NEW_PRIVS, then the seccomp filter if it was not loaded in 1,
//     as late as possible so it need not allow the syscalls above. (A filter
//     loaded in 1 must allow write(2) for step 6.)
//  8. unblock all signals and execve(2) Program.Path.
//
// # Joining user and time namespaces
//
// The kernel lets only a single-threaded process setns(2) into a user or time
// namespace, and a Go program never is one; the stub is. Namespace fds after
// the program fd ("hull-stub <program-fd> <ns-fd>...", see Argv) are joined
// first, in order (a user namespace first, after dropping the host's
// supplementary groups, which a namespace whose setgroups is "deny" would
// leave with the process). hull exec passes the container's user and time
// namespaces this way; the init passes its new time namespace.
//
// A second entry point, enter mode ("hull-stub enter <clone-flags> <exe-fd>
// <ns-fd>...", see EnterArgv), starts hull's Go init inside a user namespace
// that the spec names by path: it joins the namespaces, becomes root of the
// joined user namespace (setresgid, setresuid 0), clones with the new
// namespaces' flags plus CLONE_PARENT (the init is the caller's child, not
// ours) and CLONE_PIDFD, and the child execveat()s exe-fd as "hull init". The
// pidfd goes back over fd 3, the sync socket, as one byte "0" with
// SCM_RIGHTS; a failure before the clone goes there too as the stub's error
// line (ReceiveEntered reads either). fds 0-4 are the init's; from
// EnterFirstFD up they are the stub's and closed at the init's execve.
//
// A third, await mode ("hull-stub await <sync-fd> <cgroupns> <tasks-fd>...",
// see AwaitArgv, csrc/await.c), makes the stub the container's first process
// from the clone on, when hull sets the container up from a thread of its own
// (runtime's "direct way"): it marks every fd above stdio close-on-exec
// (close_range, CLOSE_RANGE_CLOEXEC), sets a parent-death signal, writes "0"
// to each cgroup v1 tasks fd (moving itself, without the kernel's global
// lock), unshares a cgroup namespace if asked, and says "p" on the sync
// socket. Then it blocks in recvmsg until hull, having built its root, sends
// the program: four bytes of umask and, with SCM_RIGHTS, the program's memfd,
// an fd of the working directory and, for a terminal, the pty's slave
// (SendProgram). It sets the umask, fchdir()s, makes the slave its stdio and
// controlling terminal (TIOCSCTTY: it leads its own session), clears the parent-death signal (the thread that cloned it is about
// to end), closes the socket, whose EOF tells hull the container is created,
// and goes on as above. Until then its fd 2 is the sync socket, so hull reads
// any failure as the stub's error line.
//
// A failure in the stub prints one line, "hull: <step>: <reason>", to fd 2
// and exits 127, or 126 when execve reports EACCES or ENOEXEC, the exit codes
// a shell uses for "not found" and "not executable".
//
// # Try it
//
// With a container created and not started:
//
//	p=$(pgrep -nx memfd:hull-stub); cat /proc/$p/wchan; echo; readlink /proc/$p/exe; tr '\0' ' ' </proc/$p/cmdline; echo; grep -E '^(Rss|Pss):' /proc/$p/smaps_rollup; ls -l /proc/$p/fd
//
// # Building the stub
//
// csrc/stub.c (which includes lsm.c, the labels, enter.c and await.c, the two other modes: one
// translation unit) is built by build.sh (or make, or go generate) with gcc,
// -nostdlib and its own _start and raw syscalls, into stub.bin, which is
// committed and embedded. The build is byte-for-byte reproducible; stub.stamp
// records its inputs and TestStubBinIsFresh fails when stub.bin is stale.
//
// # Not covered
//
//   - Architectures other than x86_64: stub.c has an #error and Exec returns
//     an error. Another arch needs its syscall instruction and numbers.
//   - RLIMIT_NOFILE: Go raises its soft limit at startup and syscall.Exec
//     puts it back, but Exec uses execveat and cannot reach Go's saved
//     value, so the container inherits the raised soft limit unless the
//     runtime sets RLIMIT_NOFILE itself.
//   - Closing inherited fds: every fd the caller has without O_CLOEXEC
//     reaches the container; the runtime must mark them (runc's
//     CloseExecFrom) except the ones it means to pass.
//   - Rlimits, oom_score_adj (the runtime sets them on the stub's pid), a
//     parent-death signal after the program is released (setresuid resets it),
//     cwd and umask outside await mode (the init's own, inherited), and
//     SECCOMP_FILTER_FLAG_NEW_LISTENER (the listener fd would need a way out).
//   - Whether a module is enabled and which attr file it reads: the runtime
//     decides (runtime/initproc/labels.go) and names the file in Program.Attrs.
//   - Path is executed as given: resolve it against the container's PATH
//     first.
//
// Next stop: the runtime package, whose container-side init calls Exec.
package stub
