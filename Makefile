# kcconform: see README.md for every setting.
SHELL := /bin/bash
REPORTS ?= reports
GINKGO := go tool ginkgo
PROCS ?= 2
GINKGO_FLAGS := -r --procs=$(PROCS) --randomize-all --fail-on-pending --fail-on-empty --keep-going \
	--poll-progress-after=120s --timeout=40m --output-dir=$(REPORTS)
export KC_REPORT_DIR := $(abspath $(REPORTS))

.PHONY: conformance test unit e2e vet bench fuzz clean-server clean

## conformance: the main job - the offline suite against the default target, then the verdict table.
conformance:
	@mkdir -p $(REPORTS)
	@set +e; $(GINKGO) $(GINKGO_FLAGS) --json-report=conformance.json --junit-report=conformance.xml ./suites/offline; \
	  status=$$?; go run ./scripts/verdict $(REPORTS)/conformance.json; vstatus=$$?; \
	  if [ $$status -ne 0 ] || [ $$vstatus -ne 0 ]; then exit 1; fi

## test: vet, unit tests of pkg/, then every e2e suite.
test: vet unit e2e

vet:
	gofmt -l . | (! grep .) || (echo "gofmt needed on the files above"; exit 1)
	go vet ./...

unit:
	go test -count=1 ./pkg/... ./scripts/...

e2e:
	@mkdir -p $(REPORTS)
	$(GINKGO) $(GINKGO_FLAGS) --json-report=e2e.json --junit-report=e2e.xml ./suites
	go run ./scripts/verdict $(REPORTS)/e2e.json

bench:
	go test -run '^$$' -bench . -benchmem ./pkg/...

clean:
	rm -rf $(REPORTS)
