# rlworks — the two set-up commands are `make demo` and `make test`; both create .venv when it is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS ?= dev,atari,video,box2d
DEMO_DIR ?= runs/demo

.PHONY: help install demo test lint typecheck unit test-slow bench bench-learning clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install rlworks with the pinned versions

demo: install  ## train DQN on CartPole to the target, evaluate it, plot the curve, record a GIF
	rm -rf $(DEMO_DIR)
	$(BIN)/rlworks train dqn CartPole-v1 --seed 4 --target-return 475 --run-dir $(DEMO_DIR)
	$(BIN)/rlworks eval $(DEMO_DIR) --episodes 20 --seed 123
	$(BIN)/rlworks plot $(DEMO_DIR) --out $(DEMO_DIR)/curve.png
	$(BIN)/rlworks record $(DEMO_DIR) --out $(DEMO_DIR)/cartpole.gif
	@echo "demo: curve at $(DEMO_DIR)/curve.png, animation at $(DEMO_DIR)/cartpole.gif"

lint: install  ## ruff lint and format check
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks

typecheck: install  ## mypy (strict) on the package
	$(BIN)/mypy

unit: install  ## the test suite without the slow learning runs
	$(BIN)/pytest -m "not slow" -q

test: lint typecheck unit  ## lint + type checks + tests (what CI runs)

test-slow: install  ## the long learning runs
	$(BIN)/pytest -m slow -q

bench: install  ## speed benchmarks, rlworks beside Stable-Baselines3 (writes benchmarks/results/, docs/benchmarks.md)
	$(BIN)/python benchmarks/buffers.py
	$(BIN)/python benchmarks/denormals.py
	$(BIN)/python benchmarks/dqn_cartpole.py
	$(BIN)/python benchmarks/dqn_book.py
	$(BIN)/python benchmarks/collect.py
	OPENBLAS_NUM_THREADS=1 $(BIN)/python benchmarks/planning.py
	$(BIN)/python benchmarks/tabular.py
	$(BIN)/python benchmarks/reinforce.py
	$(BIN)/rlworks bench ppo-cartpole
	$(BIN)/python benchmarks/ppo_startup_floor.py
	$(BIN)/rlworks bench sac-pendulum
	$(BIN)/rlworks bench dqn-breakout

bench-learning: install  ## long learning benchmarks (LunarLander: REINFORCE ~30 min, DQN ~30 min, SAC up to ~2 h (3 seeds, 2 at a time, ~95 steps/s each); curiosity ~10 min on 2 cores)
	$(BIN)/python benchmarks/lunarlander.py reinforce
	$(BIN)/python benchmarks/lunarlander.py dqn
	$(BIN)/python benchmarks/lunarlander.py sac --env LunarLanderContinuous-v3
	$(BIN)/python benchmarks/curiosity_mountaincar.py

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
