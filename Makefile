.PHONY: run test quick lint screenshots bench
run:  ## run the service on its embedded defaults (web + Celery worker + beat)
	scripts/run
test:  ## run the whole test suite
	scripts/test
quick:  ## the edit-test loop: lint, types and every test that starts no server, process or browser
	scripts/bootstrap test && $(MAKE) --no-print-directory lint && QUICK=1 .venv/bin/pytest -q -m "not slow"
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy config securitymaterial oauthproviders oauthflows api smclient connectivity monitoring bench
screenshots:  ## refresh the README screenshots in docs/
	SCREENSHOT_DIR=docs .venv/bin/pytest tests/e2e -k "deploys_an_artifact or authorizes_end_to_end and Body or timeline or owner_consents"
bench:  ## every benchmark at 100,000 artifacts; writes bench/results.md (PostgreSQL and Redis on 127.0.0.1)
	scripts/bootstrap test && .venv/bin/python -m bench.run --artifacts $${ARTIFACTS:-100000}
