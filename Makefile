.PHONY: run test lint screenshots
run:  ## run the service on its embedded defaults (web + Celery worker + beat)
	scripts/run
test:  ## run the whole test suite
	scripts/test
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy securitymaterial oauthflows api smclient connectivity
screenshots:  ## refresh the README screenshots in docs/
	SCREENSHOT_DIR=docs .venv/bin/pytest tests/e2e -k "deploys_an_artifact or authorizes_end_to_end and Body"
