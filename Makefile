# Build, test and demo of the scanning station. Every target installs what it
# needs first (`deps`), so a fresh Debian 12 machine needs only `make demo`
# or `make test`, run as root.

SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
GO ?= go

# Debian packages: OpenCV for gocv, libusb for gousb, SANE's scanimage and
# its test backend, sane-airscan as the eSCL client of the scan agent's
# test, qpdf and poppler to check PDFs, libtiff-tools for G4
# TIFF, zbar-tools as the benchmark baseline, age to check packages decrypt
# with the stock tool, DejaVu for printed text and
# handwriting fonts for simulated and training digits, Chromium for the
# browser tests of the web UI, PostgreSQL for receivers that share their
# state (its tests start their own throwaway cluster).
APT_PACKAGES := build-essential pkg-config libopencv-dev libusb-1.0-0-dev \
	sane-utils sane-airscan qpdf poppler-utils libtiff-tools zbar-tools img2pdf age \
	fonts-dejavu-core fonts-dkg-handwriting fonts-breip fonts-bwht \
	fonts-femkeklaver fonts-humor-sans fonts-tlwg-purisa-ttf fonts-sjfonts \
	chromium strace postgresql

# SeaweedFS, the real S3 server the receiver's tests run (blob store and
# unfinished uploads of receivers sharing a bucket), built from its Go
# module into a cache outside the repository, once per version. Its go.mod
# has replace directives, so it is built as its own main module, in the
# module cache, not with go install.
SEAWEEDFS_VERSION := v0.0.0-20261109003541-7506e5f91cd6
WEED := $(HOME)/.cache/giascan/weed-$(SEAWEEDFS_VERSION)
export GIASCAN_WEED := $(WEED)

.PHONY: deps build test demo bench clean weed

deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install$$missing" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@command -v $(GO) >/dev/null || { echo "make deps: Go is not installed (expected in /usr/local/go)" >&2; exit 1; }
	@$(GO) mod download

weed: $(WEED)

$(WEED):
	@mkdir -p $(dir $@)
	@echo "make weed: building SeaweedFS $(SEAWEEDFS_VERSION) (once; several minutes)"
	@src=$$(cd / && GOFLAGS= $(GO) mod download -json github.com/seaweedfs/seaweedfs@$(SEAWEEDFS_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	test -n "$$src" || { echo "make weed: the module github.com/seaweedfs/seaweedfs@$(SEAWEEDFS_VERSION) could not be downloaded" >&2; exit 1; }; \
	cd "$$src" && GOFLAGS="-buildvcs=false -mod=readonly" $(GO) build -o $@.tmp ./weed && mv $@.tmp $@

build: deps
	$(GO) build -o bin/station ./cmd/station
	$(GO) build -o bin/receiver ./cmd/receiver

test: deps weed
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

demo: build
	./bin/station demo --data demo-data --serve 127.0.0.1:8080

bench: deps weed
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 60m ./...

clean:
	rm -rf bin demo-data test-output
