# The three doors' local one: `make run` and `make test` set themselves up (a .venv with pinned packages).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
INPUT  ?=
OUTPUT ?= out/run
ARGS   ?=
# make test: pytest-xdist workers; the tests sharing the Spark session, the Airflow DB or the Slurm stay on one
TEST_WORKERS ?= 2
SPARK_MASTER_URL ?= spark://127.0.0.1:7077
# make cluster-up: WORKERS standalone workers of WORKER_CORES cores and WORKER_MEMORY each
WORKERS       ?= 2
WORKER_CORES  ?= 1
WORKER_MEMORY ?= 2g
# make train: PRESET (debug, 1.3B, 13B, 13B-zero2), FLAVOR (default: the preset's), MANIFEST, TRAIN_OUT, NPROC
PRESET    ?= debug
FLAVOR    ?=
MANIFEST  ?=
TRAIN_OUT ?= out/train
NPROC     ?= 1
# make sft: multi-task fine-tuning of INIT (a Hugging Face GPT-NeoX folder or a run folder) on an SFT MANIFEST
INIT      ?=
SFT_OUT   ?= out/sft

.PHONY: help setup run test bench bench-quality bench-syntax bench-privacy report dist cluster-up cluster-down submit java-check \
	sandbox-check clean lint train sft bench-train-gpu bench-train-13b-probe test-airflow bench-privacy-formats bench-decontam \
	bench-scale

help:
	@echo "make run [INPUT=path] [OUTPUT=dir] [ARGS='--set k=v']   the pipeline on local[*] (default: embedded corpus)"
	@echo "make test                                              the whole test suite"
	@echo "make bench [ARGS="--corpus name=dir"]         ingest+filter throughput vs a plain Python baseline"
	@echo "make bench-quality                                   quality stage vs compile(), lizard, bare parse"
	@echo "make bench-scale [ARGS='--limit-mb 20']              every data stage on half + all of the real corpus: s, MB/s, RSS"
	@echo "make bench-syntax                                    syntax check vs each language's own parser, broken copies"
	@echo "make bench-privacy                                   secrets planted in real files: recall, lookalikes, MB/s"
	@echo "make bench-privacy-formats                           recall per provider on 51 published token formats"
	@echo "make bench-decontam                                  decontamination collateral on clean real Python files"
	@echo "make report [OUTPUT=dir]                              rebuild a run's data portrait and screenshot it"
	@echo "make dist                                              dist/pipeline.zip, dist/run_pipeline.py, dist/pipeline_env.tar.gz"
	@echo "make cluster-up [WORKERS=2 WORKER_CORES=1 WORKER_MEMORY=2g] / cluster-down   Spark standalone on 127.0.0.1"
	@echo "make submit INPUT=... OUTPUT=...                        spark-submit the pipeline and its packed env to SPARK_MASTER_URL"
	@echo "make slurm-up / slurm-down                             a one-node Slurm on 127.0.0.1 (root; SLURM_CONF=/tmp/codefuse-slurm/slurm.conf)"
	@echo "make train MANIFEST=.../manifest.json [PRESET=debug] [FLAVOR=..] [NPROC=1] [TRAIN_OUT=out/train] [ARGS='--set k=v']"
	@echo "                                                      DeepSpeed training on the token shards (resumes automatically)"
	@echo "make sft MANIFEST=.../manifest.json INIT=hf_or_run_dir [NPROC=1] [SFT_OUT=out/sft] [ARGS='--set sft.lora.rank=16']"
	@echo "                                                      multi-task fine-tuning (preset sft: balanced loss, small LR)"
	@echo "make test-airflow                                       only the DAG tests (make test runs them too)"
	@echo "make airflow / airflow-stop                             Airflow standalone UI on :8080 (admin password file printed)"
	@echo "make airflow-live-check                                 trigger the data DAG over REST, screenshot its grid"
	@echo "make bench-train-gpu                                    the trainer on one GPU: 1.3B, seq 4096, fp16 + bf16"
	@echo "make bench-train-13b-probe                              one GPU at 13B layer shapes (6 layers): MFU, kernel, memory"
	@echo "make eval MODEL=dir [ARGS='--preset sample --limit 20']  pass@k of a checkpoint on HumanEval, sandboxed"
	@echo "make bench-eval                                         sandboxed vs plain execution, samples per second"
	@echo "make quantize MODEL=dir MANIFEST=held-out/manifest.json OUT=dir [ARGS='--passk-limit 20']"
	@echo "                                                      int4 GPTQ (W4A16, lm_head kept): size, perplexity before/after"
	@echo "make serve MODEL=dir [PORT=8000] [HOST=127.0.0.1] [ARGS=..]  OpenAI-compatible server over an HF folder"
	@echo "make bench-serve                                        requests/s and tokens/s at 1, 4, 16 clients (CPU, debug)"
	@echo "make bench-serve-gpu FULL=dir INT4=dir                 one GPU: full vs int4 generation tokens/s"

$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is needed, found " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[spark,dev,train,airflow,eval,deploy,serve]'
	$(BIN)/python scripts/check_install.py
	touch $(STAMP)

setup: $(STAMP) java-check sandbox-check

java-check:
	@bash scripts/check_java.sh

# bubblewrap for the evaluation sandbox: installed here when root with apt-get, else the one command is printed
sandbox-check: $(STAMP)
	@$(BIN)/python scripts/check_sandbox.py

# Raw code to a loadable model: the stages, a tokenizer, token shards, then a short CPU training of the debug flavor
# (loss printed as it falls), its Hugging Face export in $(OUTPUT)/train/hf, and sandboxed HumanEval pass@1 of that
# model on the first RUN_EVAL_LIMIT problems (about 0 for a 30-step model: the point is that the whole path runs).
# ARGS go to the pipeline commands, RUN_TRAIN_ARGS to the trainer; SEQ_LEN is the demo's sequence length (the 13B
# recipe uses 4096).
SEQ_LEN        ?= 512
RUN_TRAIN_ARGS ?=
RUN_EVAL_LIMIT ?= 20
run: setup
	$(BIN)/python -m pipeline run $(if $(INPUT),--input $(INPUT)) --output $(OUTPUT) $(ARGS)
	$(BIN)/python -m pipeline tokenizer-train --output $(OUTPUT) $(ARGS)
	$(BIN)/python -m pipeline tokenize --output $(OUTPUT) --set tokenize.seq_len=$(SEQ_LEN) $(ARGS)
	$(BIN)/python -m train --preset debug --set data.manifest=$(OUTPUT)/tokens/manifest.json \
	  --set run.output=$(OUTPUT)/train --set logging.every_steps=5 $(RUN_TRAIN_ARGS)
	$(BIN)/python -m evaluation --model $(OUTPUT)/train/hf --limit $(RUN_EVAL_LIMIT) --max-new-tokens 128 \
	  --no-progress --skip-without-sandbox --out $(OUTPUT)/train/eval

test: setup
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder $(ARGS)

# One process: plain python (a world of one); several: the deepspeed launcher, which appends --local_rank.
TRAIN_ARGS = --preset $(PRESET) $(if $(FLAVOR),--set model.flavor=$(FLAVOR)) --set data.manifest=$(MANIFEST) \
	--set run.output=$(TRAIN_OUT) $(ARGS)
train: setup
	@test -n "$(MANIFEST)" || { echo "make train needs MANIFEST=path/to/manifest.json (the tokenize stage's output)"; exit 2; }
ifeq ($(NPROC),1)
	$(BIN)/python -m train $(TRAIN_ARGS)
else
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/deepspeed --num_gpus $(NPROC) --module train $(TRAIN_ARGS)
endif

SFT_ARGS = --preset sft --set sft.init_from=$(INIT) --set data.manifest=$(MANIFEST) --set run.output=$(SFT_OUT) $(ARGS)
sft: setup
	@test -n "$(MANIFEST)" -a -n "$(INIT)" || { echo "make sft needs MANIFEST=path/to/sft/manifest.json and INIT=pretrained model folder (Hugging Face or run folder)"; exit 2; }
ifeq ($(NPROC),1)
	$(BIN)/python -m train $(SFT_ARGS)
else
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/deepspeed --num_gpus $(NPROC) --module train $(SFT_ARGS)
endif

bench-train-gpu: setup
	PYTHON=$(CURDIR)/$(BIN)/python bash bench/train_gpu_check.sh

bench-train-13b-probe: setup
	PYTHON=$(CURDIR)/$(BIN)/python bash bench/train_gpu_13b_probe.sh

bench: setup
	$(BIN)/python -m bench.ingest_filter $(ARGS)

bench-quality: setup
	$(BIN)/python -m bench.quality_validation $(ARGS)

# Every data stage (ingest .. resample, sft) on local[2] over half and all of the make_corpus.sh code corpus:
# per stage seconds, MB/s, driver and worker peak RSS, tree-sitter parses; exits 2 naming the build command if absent
bench-scale: setup
	$(BIN)/python -m bench.scale $(ARGS)

# The syntax check against each language's own compiler or parser on real files (the make_corpus.sh corpus and
# installed sources) and seeded breakages. The TypeScript and PostgreSQL parsers are fetched into out/ (npm, pip
# --target), not into the venv; a tool that is missing leaves its language judged by certain breakages only.
SYNTAX_TOOLS := out/.bench-syntax-tools
bench-syntax: setup
	@mkdir -p $(SYNTAX_TOOLS)
	@test -d $(SYNTAX_TOOLS)/node_modules/typescript || ! command -v npm >/dev/null || \
	  npm install --silent --no-audit --no-fund --prefix $(SYNTAX_TOOLS) typescript@5.6.3 || true
	@test -d $(SYNTAX_TOOLS)/py/pglast || $(BIN)/python -m pip install --quiet --target $(SYNTAX_TOOLS)/py pglast==8.7 || true
	TYPESCRIPT_DIR=$(SYNTAX_TOOLS)/node_modules/typescript PYTHONPATH=$(SYNTAX_TOOLS)/py \
	  $(BIN)/python -m bench.syntax_validation $(ARGS)

bench-privacy: setup
	$(BIN)/python -m bench.privacy_eval $(ARGS)

# Recall per provider on credentials written from the providers' published formats (independent of our detectors)
bench-privacy-formats: setup
	$(BIN)/python -m bench.privacy_formats $(ARGS)

# Decontamination collateral: share of clean real Python files (stdlib, site-packages) removed
bench-decontam: setup
	$(BIN)/python -m bench.decontam_collateral $(ARGS)

report: setup
	$(BIN)/python -m pipeline report --output $(OUTPUT) --screenshot $(OUTPUT)/report.png

# our code (zip, rebuilt each time: under a second) and the executors' Python (a packed venv of the runtime pins,
# cached by their hash: a minute or two the first time, instant after)
dist: setup
	$(BIN)/python scripts/make_dist.py dist
	$(BIN)/python scripts/pack_env.py --out dist/pipeline_env.tar.gz

cluster-up: setup
	PATH=$(CURDIR)/$(BIN):$$PATH SPARK_WORKERS=$(WORKERS) SPARK_WORKER_CORES=$(WORKER_CORES) \
	  SPARK_WORKER_MEMORY=$(WORKER_MEMORY) bash scripts/spark_cluster.sh up

cluster-down:
	PATH=$(CURDIR)/$(BIN):$$PATH bash scripts/spark_cluster.sh down

.PHONY: slurm-up slurm-down
slurm-up:
	bash scripts/slurm_local.sh up

slurm-down:
	bash scripts/slurm_local.sh down

# executors run ./environment/bin/python from the archive; the driver (client mode) keeps this venv's Python
submit: dist
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/spark-submit --master $(SPARK_MASTER_URL) \
	  --archives dist/pipeline_env.tar.gz#environment --conf spark.pyspark.python=./environment/bin/python \
	  --conf spark.pyspark.driver.python=$(CURDIR)/$(BIN)/python \
	  --py-files dist/pipeline.zip dist/run_pipeline.py run $(if $(INPUT),--input $(INPUT)) --output $(OUTPUT) $(ARGS)

clean:
	rm -rf out dist .pytest_cache build *.egg-info

lint: setup
	$(BIN)/ruff check common orchestration pipeline schemas model train tests bench scripts dags evaluation deploy

test-airflow: setup
	$(BIN)/python -m pytest tests/dags tests/orchestration tests/schemas/test_spark_types.py $(ARGS)

# pass@k of any folder transformers loads (the trainer writes one to $(TRAIN_OUT)/hf); results in $(EVAL_OUT).
.PHONY: eval bench-eval
MODEL    ?=
EVAL_OUT ?= out/eval
eval: setup
	@test -n "$(MODEL)" || { echo "make eval needs MODEL=path/to/hf_folder (e.g. out/run/train/hf)"; exit 2; }
	$(BIN)/python -m evaluation --model $(MODEL) --out $(EVAL_OUT) $(ARGS)

bench-eval: setup
	$(BIN)/python -m bench.eval_sandbox_throughput $(ARGS)

.PHONY: airflow airflow-stop airflow-live-check
# Airflow 3 standalone on this repo (out/airflow, port 8080: AIRFLOW_HOME_DIR, AIRFLOW_PORT); the data DAG's defaults
# read the embedded corpus and write under out/airflow-runs
airflow: setup
	VENV=$(CURDIR)/$(VENV) bash scripts/airflow_local.sh start

airflow-stop:
	VENV=$(CURDIR)/$(VENV) bash scripts/airflow_local.sh stop

# standalone on a free port with a throwaway home: trigger codefuse_data over REST on 10 files, screenshot the grid
airflow-live-check: setup
	$(BIN)/python scripts/airflow_live_check.py $(ARGS)

# int4 GPTQ (W4A16, llm-compressor; lm_head kept) of a GPT-NeoX export, calibrated on held-out token rows (MANIFEST: a
# tokenize run over data the model did not train on); size and perplexity before/after printed and written to
# $(OUT)/quantize_report.json; ARGS='--passk-limit N' adds sandboxed pass@1 before/after (see deploy/README.md).
.PHONY: quantize
OUT ?= out/quantized
quantize: setup
	@test -n "$(MODEL)" || { echo "make quantize needs MODEL=path/to/hf_folder (e.g. out/run/train/hf)"; exit 2; }
	@test -n "$(MANIFEST)" || { echo "make quantize needs MANIFEST=path/to/held-out/manifest.json"; exit 2; }
	$(BIN)/python -m deploy quantize --model $(MODEL) --manifest $(MANIFEST) --out $(OUT) $(ARGS)

# GPTQ vs round-to-nearest perplexity on the debug model trained on stdlib code, the 350M shape's size (~10 min on CPU)
.PHONY: bench-quantize
bench-quantize: setup
	$(BIN)/python -m bench.quantize_int4 $(ARGS)
# The OpenAI-compatible server (deploy/README.md, "Serving"): vLLM where installed, else transformers serve behind
# deploy/guard.py. MODEL: a Hugging Face folder (train/export.py's, or python -m deploy quantize's).
.PHONY: serve bench-serve bench-serve-gpu
PORT ?= 8000
HOST ?= 127.0.0.1
serve: setup
	@test -n "$(MODEL)" || { echo "make serve needs MODEL=path/to/hf_folder (e.g. out/run/train/hf)"; exit 2; }
	$(BIN)/python -m deploy serve --model $(MODEL) --port $(PORT) --host $(HOST) $(ARGS)

bench-serve: setup
	$(BIN)/python -m bench.serve_throughput $(ARGS)

FULL ?=
INT4 ?=
bench-serve-gpu: setup
	PYTHON=$(CURDIR)/$(BIN)/python bash bench/serve_gpu_check.sh $(FULL) $(INT4)
