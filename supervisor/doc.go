// Package supervisor keeps the declared replicas of compose services running on this host, and
// survives its own crash. It is the last stop of the tour.
//
// # What the kernel provides
//
// The containers are made in-process by package runtime, so each container's init is the
// daemon's child: a pidfd (pidfd_open(2)) becomes readable when it ends, and wait4(2) then gives
// its exit code or signal. The pidfds are non-blocking and sit in Go's netpoller (epoll), so
// watching a thousand replicas costs no thread each. When the daemon dies, the inits are
// reparented (to PID 1) and keep running: their stdout and stderr are files (O_APPEND), never
// pipes to the daemon. A restarted daemon can still watch them through pidfds, but it is not
// their parent: their exit status is then unknowable, and recorded as such; the memory cgroup's
// oom_kill count still tells an OOM kill apart. No process is kept per container (no shim,
// no conmon): the host-side cost of a replica is its share of the daemon (≈ 17 kB measured).
//
// # How it works
//
//	compose.yaml ── Load (compose-go, allowlist of attributes) ──▶ Project ──▶ Apply ──▶ Store (bbolt)
//	                                                                           │
//	exit (pidfd) · health change · backoff timer · ticker · API ──▶ enqueue(service)
//	                                                                           │
//	worker per service:  observe (lock) ──▶ Diff(View) → Plan (pure) ──▶ apply: stop / delete / start
//
// Diff (diff.go) is a pure function of the desired service and the observed replicas: tests are
// tables. afterExit (replica.go) is the restart policy and exponential backoff; Health.Next
// (health.go) is the probe state machine. A service is never reconciled by two workers at once
// (the work queue in supervisor.go). Every stop is graceful: the replica leaves load balancing
// (Balancer.SetEndpoints: no new connection, its open ones kept) and is drained (x-hull drain,
// 1s with ports) before stop_signal, and gets SIGKILL after stop_grace_period. A replica that
// dies or fails its health check leaves the balancer, its flows forgotten, in the goroutine that
// noticed, before the exit or failure is recorded: once ps shows it, no connection goes to it.
//
// Traffic: rollout.go rolls a changed service out per update_config (start-first with ports,
// new replicas ready before old ones leave; automatic rollback; 10 revisions of history);
// scale.go changes replica counts, and autoscale.go does from the replicas' cgroup CPU time
// (x-hull autoscale: up at once, down only after the window's highest recommendation drops);
// placement.go admits replicas by reservations and max_replicas_per_node, leaving the rest
// pending with the reason; cpuset.go pins replicas to CPUs (x-hull placement: spread over CPUs
// and NUMA nodes, or binpack) through linux.resources.cpu.cpus; discovery.go writes every
// service's virtual IP (netns spreads it like a published port) into the replicas' /etc/hosts.
//
// Before asking the runtime for a container, its record is written to the store; each container
// also carries annotations (project, service, slot, generation, revision). So a daemon killed
// at any point finds, on restart (adopt.go), every replica it had: it adopts the running ones,
// removes half-made ones, records the unknowable exits of those that ended meanwhile and lets the
// restart policy act, and never starts a duplicate: a slot's generation only grows.
//
// What the supervisor needs from the outside is six small interfaces (interfaces.go): Runtime,
// Images, Balancer, Networks, Hosts, Store (and Meter, which the Runtime may also be). Only cmd/hull wires the real ones (package hostrt); the
// tests use fakes and a fake clock.
//
// # Try it
//
//	hull up -d -f compose.yaml && hull service ps web && kill -9 <pid> && hull events
//
// # Not covered yet
//
// Placement constraints and deploy.placement spread preferences (kept, not acted on: they are
// about labels of several nodes; within the node x-hull placement spreads); moving running
// replicas when cpusets become uneven (placement acts at start); autoscaling on memory or
// requests; the autoscaler's windows across a daemon restart; scale-down by health (the
// highest slots, the newest, go); names of other projects' services; one node.
package supervisor
