package main

// orchestratorVerbs are hull's own commands beyond runc's: networks, images and the supervisor.
// The full hull runs them (orchestrator_full.go); the lean one, `make build`'s bin/hull, which
// links only the runtime so that runc's verbs start fast, hands them to the full hull it
// carries (lean.go).
var orchestratorVerbs = map[string]string{
	"network": "manage hull networks: create, ls, inspect, rm (hull's own verb)",
	"image":   "manage images: pull, import, ls, inspect, tag, rm, prune (hull's own verb)",
	"pull":    "short for image pull",
	"images":  "short for image ls",
	"daemon":  "run the supervisor: keeps compose services' replicas running",
	"up":      "bring up a compose file's services (runs a daemon if none is running)",
	"down":    "stop and remove a compose project's replicas",
	"service": "services of the supervisor: ls, ps, logs, inspect, restart, scale, rollback, history",
}

func init() {
	for name, summary := range orchestratorVerbs {
		commands[name] = command{summary, orchestratorCommand(name)}
	}
}
