// Package namespaces is the first stop of hull's tour: how a process gets its own view of the system.
//
// # What the kernel provides
//
// A namespace wraps one global resource so that the processes inside see their own copy
// (namespaces(7)). Linux has eight kinds, each with a CLONE_NEW* flag and a file under /proc/<pid>/ns:
//
//	pid     CLONE_NEWPID     the process becomes pid 1 of a new pid tree         pid_namespaces(7)
//	mount   CLONE_NEWNS      its own mount table                                 mount_namespaces(7)
//	uts     CLONE_NEWUTS     its own hostname and domainname                     uts_namespaces(7)
//	ipc     CLONE_NEWIPC     its own System V IPC and POSIX message queues      ipc_namespaces(7)
//	network CLONE_NEWNET     its own interfaces, routes, firewall               network_namespaces(7)
//	user    CLONE_NEWUSER    its own uid/gid numbers, mapped onto the host's    user_namespaces(7)
//	cgroup  CLONE_NEWCGROUP  its own root of the cgroup tree                    cgroup_namespaces(7)
//	time    CLONE_NEWTIME    its own offsets for the monotonic and boot clocks  time_namespaces(7)
//
// Three system calls work with them: clone(2) creates a child in new namespaces, unshare(2) moves the
// caller (or, for pid and time, its future children) into new ones, and setns(2) joins an existing one
// through a file descriptor of /proc/<pid>/ns/<kind> or of a bind mount of it.
//
// # How hull uses it
//
// The OCI spec lists namespaces in linux.namespaces: an entry without a path means "create a new one",
// an entry with a path means "join this one", and a kind that is absent is inherited from the runtime.
// CloneFlags turns the new ones into clone flags; hull's create passes them to clone(2) when it starts
// the container's init, so the init is born inside them. Joining is done by Join on a locked OS thread
// of the parent just before that clone, because a Go program has many threads and the kernel lets one
// thread change its own namespaces: the clone made from that thread inherits them. Three kinds need care:
// a mount namespace can be joined only by a thread that does not share its filesystem context, so Join
// first calls unshare(CLONE_FS); a user or time namespace can be joined only by a single-threaded
// process, which a Go program never is, so ToJoin leaves them out and ToJoinAlone lists them for hull's
// C stub, which joins them from fds that Open has checked (runtime/stub).
//
// IDMappings turns the spec's uidMappings and gidMappings into the form clone wants; the kernel requires
// /proc/<pid>/uid_map to be written once, by a process with privilege over the new namespace, before the
// child does anything that needs an id.
//
// # Try it by hand
//
//	unshare --pid --fork --mount-proc --uts --ipc --net sh -c 'hostname box; ps; ip link; ls -l /proc/self/ns'
//
// # Not covered
//
// Time namespace offsets are written only for a new namespace (the kernel allows them only before the
// first process enters it).
//
// Next stop: package cgroups, which limits what the processes in these namespaces may use.
package namespaces
