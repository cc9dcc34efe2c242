# hull — see `make help`.
GO      ?= go
BIN     := bin/hull
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# Debian packages the tests, the demo and the benchmarks use.
APT_PKGS := busybox-static runc crun hyperfine gcc make util-linux iproute2 containerd docker.io podman conmon \
	qemu-system-x86 cpio kmod nftables containernetworking-plugins \
	docker-registry skopeo umoci wrk haproxy apparmor

.PHONY: demo-runtime build stub test test-integration conformance bench lint vmtest tour lessons clean help deps demo check

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 20

# Three links, each of what it needs only (a Go program pays at start-up for every package it
# links): the container's init (cmd/hull-init), the full hull (everything, with the init
# embedded: runtime/initbin, tag hullinit), and bin/hull, the lean hull (tag hulllean: runc's
# verbs only, both others embedded; it hands everything else to the full one, cmd/hull/lean.go).
# -overlay hands the compiler the embedded files, which are never in the source tree. A plain
# `go build ./cmd/hull` works too: it is the full hull, and its containers start `hull init`,
# hull's own binary, at ≈2 ms more CPU each. test/internal/hosttest builds the tests' hull with
# this target.
INIT_BIN ?= $(BIN)-init
FULL_BIN ?= $(BIN)-full
build: ## build bin/hull (static, no cgo): the lean runtime, the full hull and the init embedded
	@mkdir -p $(dir $(INIT_BIN))
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(INIT_BIN) ./cmd/hull-init
	@printf '{"Replace":{"%s":"%s"}}\n' '$(abspath runtime/initbin/hull-init)' '$(abspath $(INIT_BIN))' > $(INIT_BIN).overlay.json
	CGO_ENABLED=0 $(GO) build -trimpath -tags hullinit -overlay $(INIT_BIN).overlay.json \
		-ldflags '$(LDFLAGS) -X github.com/hullrt/hull/runtime/initbin.sum='"$$(sha256sum $(INIT_BIN) | cut -c1-16)" -o $(FULL_BIN) ./cmd/hull
	@printf '{"Replace":{"%s":"%s","%s":"%s"}}\n' '$(abspath runtime/initbin/hull-init)' '$(abspath $(INIT_BIN))' \
		'$(abspath cmd/hull/hull-full)' '$(abspath $(FULL_BIN))' > $(FULL_BIN).overlay.json
	CGO_ENABLED=0 $(GO) build -trimpath -tags 'hullinit hulllean' -overlay $(FULL_BIN).overlay.json \
		-ldflags '$(LDFLAGS) -X github.com/hullrt/hull/runtime/initbin.sum='"$$(sha256sum $(INIT_BIN) | cut -c1-16)"' -X main.fullSum='"$$(sha256sum $(FULL_BIN) | cut -c1-16)" -o $(BIN) ./cmd/hull

stub: ## rebuild runtime/stub/stub.bin from its C source (needs gcc)
	sh runtime/stub/build.sh

deps: ## install the Debian packages hull's demo and tests use (root)
	@if ! dpkg -s $(APT_PKGS) >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PKGS) >/dev/null; fi

demo: deps build ## install hull, bring up the example stack: 3 replicas behind port 8080 (root)
	sh test/demo.sh $(abspath $(BIN))

demo-runtime: deps build ## one container from a busybox bundle with hull's defaults, reporting what it sees (root)
	sh test/demo-runtime.sh $(abspath $(BIN))

# The lean build (tag hulllean, see build) compiles cmd/hull against an empty stand-in for the
# full hull it embeds.
LEAN_TAGGED = e=$$(mktemp); printf '{"Replace":{"%s":"%s"}}\n' '$(abspath cmd/hull/hull-full)' "$$e" > $$e.json; \
	$(GO) $(1) -tags hulllean -overlay $$e.json ./cmd/hull ./runtime/...; rc=$$?; rm -f $$e $$e.json; exit $$rc

test: ## unit tests, of the full and the lean build: no root needed
	$(GO) test ./...
	@$(call LEAN_TAGGED,test)

test-integration: build ## root tests: every package's integration tests and the end-to-end suite
	$(GO) test -tags integration -p 1 -count=1 ./...

conformance: build ## the OCI runtime-tools validation suite against hull (root)
	bash test/conformance/run.sh $(abspath $(BIN))

check: deps lint test test-integration conformance vmtest ## everything CI runs (root)

ROUNDS ?= 3
BENCH_SCRIPTS ?= $(sort $(wildcard test/bench/*.sh))
bench: deps build ## every benchmark vs its peers, ROUNDS rounds, then docs/benchmarks.md (root)
	@res=$$(mktemp -d /tmp/hull-bench.XXXXXX); set -e; \
	for i in $$(seq 1 $(ROUNDS)); do for s in $(BENCH_SCRIPTS); do \
		echo "==== round $$i/$(ROUNDS): $$s"; BENCH_ROUND=$$i BENCH_OUT=$$res/round-$$i.jsonl bash $$s $(abspath $(BIN)); done; done; \
	$(GO) run ./test/bench/report -out docs/benchmarks.md $$res/round-*.jsonl; \
	echo "report: docs/benchmarks.md (raw results in $$res)"

lint: ## gofmt, go vet with and without the integration tag
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	@$(call LEAN_TAGGED,vet)

vmtest: build ## the root suites in a qemu VM with pure cgroup v2 (CGROUP=v1: pure v1; see test/vm/run.sh)
	CGROUP=$(or $(CGROUP),v2) bash test/vm/run.sh

tour: ## print the guided tour: each package's doc in tour order
	@for p in namespaces cgroups cgroups/v1thread rootfs rootfs/image netns runtime runtime/initbin runtime/initproc runtime/stub runtime/seccomp runtime/caps runtime/specjson runtime/sysmon supervisor; do \
		[ -f $$p/doc.go ] || continue; echo "==== $$p"; $(GO) doc ./$$p | sed -n '/^package/,/^func\|^type\|^const\|^var/p' | grep -v '^func\|^type\|^const\|^var'; done

lessons: build ## run every lesson in docs/lessons (root); one: make lesson-01
	sh docs/lessons/run.sh all

lesson-%: build
	sh docs/lessons/run.sh $*

clean: ## remove build output
	rm -rf bin
