# homelab.k8s: one entry point for setup, tests and the local lab.
#   make test         every test layer; ends with "N passed, N failed"
#   make lab          4-node lab of systemd containers, then playbooks/site.yml
#   make lab-destroy  remove the lab
# Narrow a test run: make test LAYERS="unit molecule" SCENARIOS="base_hardening"

SHELL := /bin/bash
ROOT := $(CURDIR)
export PATH := $(ROOT)/.cache/bin:$(ROOT)/.venv/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(ROOT)/.cache/collections
export CONTAINERS_CONF := $(ROOT)/tests/podman/containers.conf
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0

.PHONY: setup host-packages venv collections images components crds seccomp test lab lab-destroy build clean

setup: host-packages venv collections images components crds seccomp

host-packages:
	@scripts/host-packages.sh

venv:
	@scripts/venv.sh

collections: venv
	@PYTHON=$(ROOT)/.venv/bin/python scripts/collections.sh

images: host-packages
	@scripts/build-images.sh

components:
	@scripts/components.sh

crds: components
	@scripts/crds.sh

seccomp:
	@scripts/seccomp-default.sh

test: setup
	@scripts/test.sh $(LAYERS)

lab: setup
	@scripts/lab.sh up

lab-destroy:
	@scripts/lab.sh down

build: venv
	@ansible-galaxy collection build --force --output-path $(ROOT)/tests/output

clean: lab-destroy
	rm -rf .venv .cache tests/output
