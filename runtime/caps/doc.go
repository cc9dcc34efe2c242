// Package caps maps capability names, as the runtime spec spells them (CAP_NET_ADMIN),
// to the bits the kernel uses, and back.
//
// # What the kernel provides
//
// capabilities(7) splits root's power into about 41 bits. Each thread carries five sets:
//
//	effective    what the kernel checks right now
//	permitted    the ceiling for effective and inheritable; a bit dropped here is gone
//	inheritable  what may survive execve into a program whose file caps allow it
//	bounding     the ceiling for what execve can ever grant (prctl PR_CAPBSET_DROP)
//	ambient      kept across execve of ordinary, non-setuid programs (PR_CAP_AMBIENT)
//
// capget(2)/capset(2) read and write effective, permitted and inheritable as two 32-bit
// words each (_LINUX_CAPABILITY_VERSION_3); bounding and ambient are changed one bit at
// a time with prctl(2). /proc/sys/kernel/cap_last_cap holds the highest bit the running
// kernel knows; asking capset for a higher one fails with EINVAL.
//
// # How hull uses it
//
// The runtime parses process.capabilities into five masks with Parse, drops bits above
// LastCap (the spec: values that "cannot be granted … MUST be logged as a warning" and
// runtimes "SHOULD NOT fail"), then sets them in the container's init: bounding first,
// then capset, then ambient. Parse rejects names hull does not know, which are typos,
// not capabilities of a newer kernel: the table covers every capability up to
// CAP_CHECKPOINT_RESTORE (40), the last one as of Linux 6.18. DockerDefault is the set
// `hull spec` writes.
//
// # Try it by hand
//
//	grep Cap /proc/self/status && capsh --decode=00000000a80425fb   # Docker's default set
//
// # Not covered
//
// Setting the sets themselves (runtime's container side does that), file capabilities
// (security.capability xattrs) and capabilities in user namespaces beyond what the
// kernel does on its own.
//
// Next stop: runtime, which puts namespaces, cgroups, rootfs, seccomp and capabilities
// together into one container.
package caps
