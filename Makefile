# The commands anyone runs, here and in CI. Each one installs what it needs first.
.PHONY: help bootstrap kafka-start kafka-stop test lint unit integration e2e demo bench clean

UV := python3 -m uv run --frozen
# pytest-xdist workers for the suites that wait on Kafka, the sandbox and child processes far
# more than they compute: 4 keep a 2-core machine busy. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 4
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadgroup

help:
	@echo "make demo    every flow built so far (Visma <-> Slack, Visma -> Twilio, Visma <-> Monday) on a local Kafka and the sandbox"
	@echo "make test    lint, type checks, import contracts and every test (starts Kafka)"
	@echo "make bench   processor vs bare loop (ratio), slack-sink pace and backlog, ingress rate and p99, mlc audit on 1,000,000 audit records"
	@echo "make kafka-start / kafka-stop   the local KRaft broker"

bootstrap:
	@scripts/bootstrap.sh

kafka-start: bootstrap
	@deploy/kafka/kafka.sh start

kafka-stop:
	@deploy/kafka/kafka.sh stop

lint: bootstrap
	$(UV) ruff check .
	$(UV) ruff format --check .
	$(UV) mypy libs services
	$(UV) lint-imports

test: lint kafka-start
	$(UV) pytest -q $(PYTEST_PARALLEL)

unit: bootstrap
	$(UV) pytest -q -m unit

integration: kafka-start
	$(UV) pytest -q -m "integration or e2e" $(PYTEST_PARALLEL)

demo: kafka-start
	$(UV) mlc demo $(DEMO_ARGS)

# Every benchmark runs even when an earlier one misses its target; the exit status says if any did.
bench: kafka-start
	@status=0; \
	$(UV) python -m benchmarks.throughput $(BENCH_ARGS) || status=1; \
	$(UV) python -m benchmarks.slack_sink || status=1; \
	$(UV) python -m benchmarks.ingress || status=1; \
	$(UV) python -m benchmarks.audit_lineage || status=1; \
	exit $$status

clean:
	deploy/kafka/kafka.sh reset
	rm -rf .state
