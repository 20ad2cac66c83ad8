# imapd-maildir developer entry points.
#   make serve    serve Examples/ on 127.0.0.1:1143 (alice/alice-demo, bob/bob-demo)
#   make test     install missing test tools, build, unit tests, interop tests
#   make interop  only the interop tests, against the current build
#                 (IMAPD_TARGET=dovecot make interop: the same tests against Dovecot)
#   make format   swift format the sources and tests in place

SWIFT ?= swift

.PHONY: serve build test unit interop format

serve:
	$(SWIFT) run imapd-maildir --config Examples/imapd-maildir.conf

build:
	$(SWIFT) build

test:
	contrib/install-test-deps
	$(SWIFT) build
	$(SWIFT) test
	contrib/interop/run.sh

unit:
	$(SWIFT) test

interop:
	contrib/interop/run.sh

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests
