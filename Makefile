# kcconform: see README.md for every setting.
SHELL := /bin/bash
REPORTS ?= reports
GINKGO := go tool ginkgo
PROCS ?= 2
GINKGO_FLAGS := -r --procs=$(PROCS) --randomize-all --fail-on-pending --fail-on-empty --keep-going \
	--poll-progress-after=120s --timeout=40m --output-dir=$(REPORTS)
export KC_REPORT_DIR := $(abspath $(REPORTS))
# The upgrade suite's default older version (suites/upgrade, DefaultFrom).
UPGRADE_FROM := $(shell sed -n 's/^const DefaultFrom = "\(.*\)"/\1/p' suites/upgrade/upgrade_test.go)

.PHONY: deps conformance test test-all unit e2e e2e-container upgrade matrix vet bench fuzz clean-server clean

## conformance: the main job - the offline suite against the default target, then the verdict table.
## The default target is container where a Docker API answers, else process.
conformance: deps
	@mkdir -p $(REPORTS)
	@set -e; if [ -z "$${KC_TARGET:-}" ]; then kcenv=$$(bash scripts/container-env.sh --detect); eval "$$kcenv"; \
	  elif [ "$$KC_TARGET" = container ]; then kcenv=$$(bash scripts/container-env.sh); eval "$$kcenv"; fi; \
	  set +e; $(GINKGO) $(GINKGO_FLAGS) --json-report=conformance.json --junit-report=conformance.xml ./suites/offline; \
	  status=$$?; go run ./scripts/verdict $(REPORTS)/conformance.json; vstatus=$$?; \
	  if [ $$status -ne 0 ] || [ $$vstatus -ne 0 ]; then exit 1; fi

## test: vet, unit tests, fuzzing, every e2e suite on the process target, then the
## offline suite, ExampleRun and the clean-up checks on the container target. The
## whole output and reports/ are then scanned for the run's own credentials.
test: deps
	@mkdir -p $(REPORTS)
	@fp=$$(mktemp -d); set -o pipefail; \
	  KC_LEAK_FINGERPRINTS=$$fp $(MAKE) --no-print-directory test-all 2>&1 | tee $(REPORTS)/test-output.log; status=$$?; \
	  go run ./scripts/leakscan -fingerprints $$fp $(REPORTS) || status=1; \
	  rm -rf $$fp; exit $$status

test-all: vet unit fuzz e2e e2e-container

## deps: install what the machine lacks (idempotent; quiet when nothing is missing).
deps:
	@bash scripts/install-deps.sh >&2

vet:
	gofmt -l . | (! grep .) || (echo "gofmt needed on the files above"; exit 1)
	go vet ./...

# ExampleRun and TestRunImportsRealm need a container engine: they run in e2e-container.
# Unit tests and fuzzing handle fake credentials: they record no fingerprints.
unit:
	env -u KC_LEAK_FINGERPRINTS go test -count=1 -skip '^(ExampleRun|TestRunImportsRealm)$$' ./pkg/... ./scripts/...

e2e:
	@mkdir -p $(REPORTS)
	KC_TARGET=process $(GINKGO) $(GINKGO_FLAGS) --json-report=e2e.json --junit-report=e2e.xml ./suites
	go run ./scripts/verdict -summary $(REPORTS)/e2e.json

e2e-container:
	@mkdir -p $(REPORTS)
	@set -e; kcenv=$$(KC_IMAGE_VERSIONS=$(UPGRADE_FROM) bash scripts/container-env.sh); eval "$$kcenv"; \
	  echo "== container target: $$KC_IMAGE via $${DOCKER_HOST:-the default Docker socket}"; \
	  go test -count=1 -run '^(ExampleRun|TestRunImportsRealm)$$' -v ./pkg/kccontainer; \
	  $(GINKGO) $(GINKGO_FLAGS) --json-report=e2e-container.json --junit-report=e2e-container.xml \
	    ./suites/offline ./suites/restart ./suites/upgrade; \
	  go run ./scripts/verdict -summary $(REPORTS)/e2e-container.json; \
	  bash scripts/check-container-run.sh

## upgrade: an offline token issued by FROM refreshes after upgrading to TO on PostgreSQL.
upgrade: deps
	@if [ -z "$(FROM)" ] || [ -z "$(TO)" ]; then echo "usage: make upgrade FROM=26.4.7 TO=26.7.3"; exit 2; fi
	@mkdir -p $(REPORTS)
	@set +e; KC_TARGET=process KC_UPGRADE_FROM=$(FROM) KC_UPGRADE_TO=$(TO) $(GINKGO) $(GINKGO_FLAGS) \
	  --label-filter='upgrade && !selfcheck' --json-report=upgrade.json --junit-report=upgrade.xml ./suites/upgrade; \
	  status=$$?; go run ./scripts/verdict -summary $(REPORTS)/upgrade.json; vstatus=$$?; \
	  if [ $$status -ne 0 ] || [ $$vstatus -ne 0 ]; then exit 1; fi

## matrix: the offline suite per version and the upgrade between consecutive versions, as one table.
matrix: deps
	@if [ -z "$(VERSIONS)" ]; then echo 'usage: make matrix VERSIONS="26.5.6 26.7.3"'; exit 2; fi
	go run ./scripts/matrix -reports $(REPORTS)/matrix $(VERSIONS)

## clean-server: remove what earlier runs left on an external server (realms named kcconform-*).
clean-server:
	go run ./scripts/clean-server

## fuzz: the fuzz targets of the token-response parser and the JWT claim decoding, FUZZTIME each.
FUZZTIME ?= 20s
fuzz:
	env -u KC_LEAK_FINGERPRINTS go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) -parallel 1 ./pkg/tokenflow
	env -u KC_LEAK_FINGERPRINTS go test -run '^$$' -fuzz '^FuzzDecodeJWT$$' -fuzztime $(FUZZTIME) -parallel 1 ./pkg/tokenflow

bench:
	go test -run '^$$' -bench . -benchmem ./pkg/...

clean:
	rm -rf $(REPORTS)
