# kcconform: see README.md for every setting.
SHELL := /bin/bash
REPORTS ?= reports
PROCS ?= 2
# The versions of make test's matrix; the first is also where e2e runs the hand-made client again.
MATRIX_VERSIONS ?= 26.5.6 26.7.3
GINKGO := bin/ginkgo
GINKGO_FLAGS := -r --procs=$(PROCS) --randomize-all --fail-on-pending --fail-on-empty --keep-going \
	--poll-progress-after=120s --timeout=40m --output-dir=$(REPORTS)
export KC_REPORT_DIR := $(abspath $(REPORTS))
BUILD_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(BUILD_VERSION)

.PHONY: deps build image conformance test vet unit e2e e2e-cluster e2e-container e2e-deployment compose-check matrix-report upgrade cluster cluster-upgrade matrix versions bisect behaviour docs bench bench-scale bench-compare fuzz clean-server release actionlint clean

## conformance: the main job - the offline suite against the default target (container where a
## Docker API answers, else process), then the verdict. ARGS passes flags to kcconform.
conformance:
	@bash scripts/install-deps.sh --for "$${KC_TARGET:-process}" >&2
	@$(MAKE) -s build
	@set -e; if [ "$${KC_TARGET:-}" = container ]; then ce="$$(bash scripts/container-env.sh)" || exit $$?; eval "$$ce"; fi; \
	  exec bin/kcconform --report-dir $(REPORTS) $(ARGS)

## test: every check, phase by phase, with the per-phase wall times at the end (scripts/test.sh).
test:
	@REPORTS=$(REPORTS) exec bash scripts/test.sh

## deps: install what the machine lacks for every target (idempotent; quiet when nothing is missing).
deps:
	@bash scripts/install-deps.sh --for all >&2

## build: bin/kcconform, one static executable holding every suite, and bin/ginkgo for make test.
build:
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/kcconform ./cmd/kcconform
	go build -o $(GINKGO) github.com/onsi/ginkgo/v2/ginkgo

## image: kcconform's container image, localhost/kcconform:dev (FROM scratch: the static binary and
## the machine's CA bundle), built with Podman or Docker; the image of deploy/'s Job and Helm chart.
image: build
	@bash scripts/build-command-image.sh

vet:
	gofmt -l . | (! grep .) || (echo "gofmt needed on the files above"; exit 1)
	go vet ./...
	go mod tidy -diff
	@# No function that nothing (not even a test) reaches.
	go run golang.org/x/tools/cmd/deadcode@v0.52.0 -test ./... | (! grep .) || (echo "dead code above"; exit 1)

# ExampleRun and TestRunImportsRealm need a container engine: they run in e2e-container.
# Unit tests and fuzzing handle fake credentials: they record no fingerprints.
unit:
	go test -count=1 -skip '^(ExampleRun|TestRunImportsRealm)$$' ./pkg/... ./scripts/... ./cmd/... ./deploy/...

## e2e: every suite on the process target, Ginkgo's processes in parallel. The load suite runs with
## short steps here, to prove it works; make bench-compare is where it measures.
e2e:
	@mkdir -p $(REPORTS)
	KC_TARGET=process KC_LOAD_RATES=$${KC_LOAD_RATES:-20,40} KC_LOAD_STEP=$${KC_LOAD_STEP:-2s} $(GINKGO) $(GINKGO_FLAGS) --skip-package=cluster,deployment \
	  --json-report=e2e.json --junit-report=e2e.xml ./suites
	bin/kcconform verdict $(REPORTS)/e2e.json
	@# A client set up by hand, and a realm exported from such a server as KC_FIXTURE, pass on the
	@# older version too, where introspection needs no audience.
	KC_TARGET=process KC_VERSION=$(firstword $(MATRIX_VERSIONS)) $(GINKGO) --fail-on-empty --output-dir=$(REPORTS) \
	  --json-report=e2e-handmade-$(firstword $(MATRIX_VERSIONS)).json --focus 'a client set up by hand passes|partial export as KC_FIXTURE' ./suites/selftest
	bin/kcconform verdict $(REPORTS)/e2e-handmade-$(firstword $(MATRIX_VERSIONS)).json

## e2e-cluster: the cluster suite on the process target (its own phase of make test: it starts a
## cluster of KC_CLUSTER_NODES nodes, and two more nodes that do not form one).
e2e-cluster:
	@mkdir -p $(REPORTS)
	KC_TARGET=process $(GINKGO) $(GINKGO_FLAGS) --json-report=e2e-cluster.json --junit-report=e2e-cluster.xml ./suites/cluster
	bin/kcconform verdict $(REPORTS)/e2e-cluster.json

## e2e-container: the container module's tests, then the offline, restart and upgrade suites on the
## container target, then the clean-up and no-pull checks.
e2e-container:
	@mkdir -p $(REPORTS)
	@set -e; ce="$$(bash scripts/container-env.sh)" || exit $$?; eval "$$ce"; \
	  echo "== container target: $$KC_IMAGE via $${DOCKER_HOST:-the default Docker socket}"; \
	  go test -count=1 -run '^(ExampleRun|TestRunImportsRealm)$$' -v ./pkg/kccontainer; \
	  $(GINKGO) $(GINKGO_FLAGS) --json-report=e2e-container.json --junit-report=e2e-container.xml \
	    ./suites/offline ./suites/restart ./suites/upgrade; \
	  bin/kcconform verdict $(REPORTS)/e2e-container.json; \
	  bash scripts/check-container-run.sh

## e2e-deployment: before, watch and after against a deployment kcconform did not start:
## scripts/deployment.sh's cluster upgraded rolling (26.7.0 -> 26.7.3, the binary) and recreated
## (26.5.6 -> 26.7.3, before and after in kcconform's image under Podman).
e2e-deployment: build
	@mkdir -p $(REPORTS)
	@set -e; bash scripts/install-deps.sh --for process >&2; bash scripts/podman-setup.sh >/dev/null; \
	  export KC_BINARY_IMAGE="$$(bash scripts/build-command-image.sh)"; echo "== kcconform's image: $$KC_BINARY_IMAGE"; \
	  $(GINKGO) $(GINKGO_FLAGS) --json-report=e2e-deployment.json --junit-report=e2e-deployment.xml ./suites/deployment; \
	  bin/kcconform verdict $(REPORTS)/e2e-deployment.json

## compose-check: docker-compose.yml up for real (with the gateway profile), the README's runs and
## curl commands against it, then down -v (scripts/check-compose.sh).
compose-check:
	@set -e; ce="$$(bash scripts/container-env.sh)" || exit $$?; eval "$$ce"; exec bash scripts/check-compose.sh

## docs: what the documentation holds from the code: docs/settings.md from pkg/settings's table
## (make unit fails when it drifts).
docs:
	go run ./scripts/docgen -out docs

## behaviour: the offline and revocation suites on the newest patch of every served minor from 22.0
## on (and ALSO, default 26.7.0), bisecting every row that changes between two of them; writes
## docs/behaviour-by-release.md, .html and .json (about 45 minutes; frees what it fetched).
behaviour: build
	@bash scripts/install-deps.sh --for process >&2
	go run ./scripts/behaviour -binary bin/kcconform -out docs -also "$(or $(ALSO),26.7.0)" $(if $(VERSIONS),-versions "$(VERSIONS)")

## matrix-report: a two-version matrix, its HTML report checked in headless Chromium (screenshot kept).
matrix-report: build
	@set -e; v=($(MATRIX_VERSIONS)); \
	  bin/kcconform matrix -reports $(REPORTS)/matrix $(MATRIX_VERSIONS); \
	  go run ./scripts/htmlcheck -columns "$${v[0]},$${v[1]},$${v[0]}->$${v[1]}" $(REPORTS)/matrix/matrix.html

## upgrade: an offline token issued by FROM refreshes after upgrading to TO on PostgreSQL (through the
## releases VIA names, comma-separated, each started and stopped on the database in turn), on TARGET
## (process, the default, or container: images of every version built where no registry serves them).
upgrade: build
	@if [ -z "$(FROM)" ] || [ -z "$(TO)" ]; then echo "usage: make upgrade FROM=26.4.7 [VIA=26.5.6] TO=26.7.3 [TARGET=container]"; exit 2; fi
	@bash scripts/install-deps.sh --for $(or $(TARGET),process) >&2
	@set -e; if [ "$(TARGET)" = container ]; then \
	    ce="$$(KC_VERSION=$(TO) KC_UPGRADE_FROM=$(FROM) KC_UPGRADE_VIA="$(VIA)" bash scripts/container-env.sh)" || exit $$?; eval "$$ce"; fi; \
	  exec bin/kcconform --suite upgrade --target $(or $(TARGET),process) --upgrade-from $(FROM) --upgrade-to $(TO) \
	    $(if $(VIA),--upgrade-via "$(VIA)") --report-dir $(REPORTS)

## cluster: the cluster suite: NODES Keycloak nodes (default 3) of VERSION (default the default version)
## on one PostgreSQL behind HAProxy, on TARGET (process, the default, or container).
cluster: build
	@bash scripts/install-deps.sh --for $(or $(TARGET),process) >&2
	@set -e; $(if $(VERSION),export KC_VERSION=$(VERSION);) \
	  if [ "$(TARGET)" = container ]; then ce="$$(bash scripts/container-env.sh)" || exit $$?; eval "$$ce"; fi; \
	  exec bin/kcconform --suite cluster --target $(or $(TARGET),process) $(if $(NODES),--cluster-nodes $(NODES)) \
	  --report-dir $(REPORTS)

## cluster-upgrade: the cluster suite on FROM, then its nodes upgraded to TO under load: node by node
## where `kc.sh update-compatibility check` allows it, else all at once (process target).
cluster-upgrade: build
	@if [ -z "$(FROM)" ] || [ -z "$(TO)" ]; then echo "usage: make cluster-upgrade FROM=26.7.0 TO=26.7.3 [NODES=3]"; exit 2; fi
	@bash scripts/install-deps.sh --for process >&2
	exec bin/kcconform --suite cluster --target process --keycloak-version $(FROM) --cluster-upgrade-to $(TO) \
	  $(if $(NODES),--cluster-nodes $(NODES)) --report-dir $(REPORTS)

## versions: the Keycloak releases the Maven repository serves from 22.0 on (its metadata), which are
## pinned with a SHA-512 and which are cached here.
versions: build
	@bin/kcconform versions

## bisect: the first release the Maven repository serves between GOOD and BAD whose answer to PROMISE
## (a key of kcconform --list; default: the first promise that differs) differs from GOOD's, both answers
## side by side; FIXTURE is the realm (KC_FIXTURE), e.g. fixtures/realms/offline-no-audience.json.
## METRIC=p50|p95 bisects a latency instead (the load suite twice a release; GRANT, RATE choose which):
## a release differs when its ratio to GOOD's is shown at 99% (bench-compare's bootstrap interval).
bisect: build
	@if [ -z "$(GOOD)" ] || [ -z "$(BAD)" ]; then echo "usage: make bisect GOOD=24.0.5 BAD=26.7.3 [PROMISE=introspection] [FIXTURE=realm.json] | [METRIC=p50|p95 [GRANT=…] [RATE=…]]"; exit 2; fi
	@bash scripts/install-deps.sh --for process >&2
	$(if $(FIXTURE),KC_FIXTURE=$(abspath $(FIXTURE))) bin/kcconform bisect -good $(GOOD) -bad $(BAD) \
	  $(if $(PROMISE),-promise $(PROMISE)) $(if $(METRIC),-metric $(METRIC)) $(if $(GRANT),-grant $(GRANT)) \
	  $(if $(RATE),-rate $(RATE)) -reports $(REPORTS)/bisect

## matrix: the offline suite per version and the upgrade between consecutive versions, and the cluster
## suite upgraded along each CLUSTER path (FROM->TO, comma-separated), as one table.
matrix: build
	@if [ -z "$(VERSIONS)" ]; then echo 'usage: make matrix VERSIONS="26.5.6 26.7.3" [CLUSTER="26.7.0->26.7.3"]'; exit 2; fi
	@bash scripts/install-deps.sh --for process >&2
	bin/kcconform matrix -reports $(REPORTS)/matrix $(if $(CLUSTER),-cluster "$(CLUSTER)") $(VERSIONS)

## clean-server: remove what earlier runs left on an external server (realms named kcconform-*).
clean-server: build
	bin/kcconform clean-server $(if $(RUN),-run $(RUN))

## fuzz: the fuzz targets of the token-response parser, the JWT claim decoding and redaction, side by
## side (one worker each), each target's output shown when all have ended. The budget is a count of
## inputs, not a duration: Go 1.26's fuzz coordinator can report a duration's own deadline as a failure
## (golang/go#75804, fixed in 1.27; it failed CI once here, with no crasher written).
FUZZTIME ?= 60000x
FUZZ_TARGETS := FuzzParse:./pkg/tokenflow FuzzDecodeJWT:./pkg/tokenflow FuzzRedact:./pkg/redact
fuzz:
	@mkdir -p $(REPORTS)
	@rc=0; declare -A pid; \
	  for t in $(FUZZ_TARGETS); do \
	    go test -run '^$$' -fuzz "^$${t%%:*}\$$" -fuzztime $(FUZZTIME) -parallel 1 "$${t#*:}" \
	      > $(REPORTS)/fuzz-$${t%%:*}.log 2>&1 & pid[$${t%%:*}]=$$!; \
	  done; \
	  for t in "$${!pid[@]}"; do \
	    if wait "$${pid[$$t]}" && ! grep -q 'no fuzz tests to fuzz' $(REPORTS)/fuzz-$$t.log; then echo "fuzz $$t: ok"; \
	    else rc=1; echo "fuzz $$t: FAILED (or no such target)"; fi; \
	    cat $(REPORTS)/fuzz-$$t.log; \
	  done; exit $$rc

## release: static kcconform archives for linux/amd64 and linux/arm64, with SHA256SUMS, in dist/.
release:
	@rm -rf dist && mkdir -p dist
	@set -e; for arch in amd64 arm64; do \
	  d=dist/kcconform-$(BUILD_VERSION)-linux-$$arch; mkdir -p $$d; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch go build -trimpath -ldflags '$(LDFLAGS)' -o $$d/kcconform ./cmd/kcconform; \
	  cp README.md $$d/; tar -C dist -czf $$d.tar.gz $$(basename $$d); rm -rf $$d; \
	done; cd dist && sha256sum *.tar.gz > SHA256SUMS && cat SHA256SUMS

## actionlint: check the CI workflow.
actionlint:
	go run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 .github/workflows/*.yml

## bench: micro-benchmarks of the library, then scripts/bench against real servers (boot per target and
## mode, conformance wall time against its boot, the harness's flows against raw HTTP, 1 and 2
## processes): reports/bench.json and a table. It fails if the flows cost over 10% more than raw HTTP.
bench: build
	go test -run '^$$' -bench . -benchmem ./pkg/...
	@bash scripts/install-deps.sh --for process >&2
	@set -e; ce="$$(bash scripts/container-env.sh)" || exit $$?; eval "$$ce"; go run ./scripts/bench -reports $(REPORTS)

## bench-scale: N offline sessions (default "1000 10000") made by real grants on PostgreSQL, for each
## upgrade path FROM (default "24.0.5 25.0.6") to 26.7.3: seeding rate beside raw vegeta's, restart and
## upgrade to ready, a sample of 1000 stored tokens refreshed after each (none may be refused), peak RSS,
## database size and session rows; reports/bench-scale/scale.md (with each cost's exponent) and scale.png.
## HEAP=2g sets the JVM's -Xmx (24.0.5's default 512m ends near 10^5 sessions); ROLLING="" skips the cluster.
bench-scale: build
	@bash scripts/install-deps.sh --for process >&2
	go run ./scripts/bench -reports $(REPORTS) -scale "$(or $(N),1000 10000)" $(if $(FROM),-scale-from "$(FROM)") $(if $(HEAP),-scale-heap "$(HEAP)") $(if $(filter undefined,$(origin ROLLING)),,-scale-rolling "$(ROLLING)")

## bench-compare: the load suite against two versions, alternately, until every p50 latency ratio is
## shown at LEVEL (default 0.99; bootstrap over runs, then requests) or MAX_RUNS (default 5) runs each,
## with the other metrics against the run-to-run spread, and a plot (reports/bench-compare/).
bench-compare: build
	@if [ -z "$(FROM)" ] || [ -z "$(TO)" ]; then echo "usage: make bench-compare FROM=26.5.6 TO=26.7.3 [MAX_RUNS=5] [LEVEL=0.99]"; exit 2; fi
	@bash scripts/install-deps.sh --for process >&2
	bin/kcconform bench-compare -from $(FROM) -to $(TO) $(if $(MAX_RUNS),-max-runs $(MAX_RUNS)) $(if $(LEVEL),-level $(LEVEL)) -reports $(REPORTS)/bench-compare

clean:
	rm -rf $(REPORTS) bin
