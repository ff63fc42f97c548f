# riskmap — two commands: `make demo` and `make test`. Both set up everything they need.
VENV    ?= .venv
PYTHON  ?= python3
BIN      = $(VENV)/bin
STAMP    = $(VENV)/.installed-stamp
# the C helpers: pseudonyms for a million identifiers in a fifth of a second, coordinates read
# as numbers, and the suppression's inner loops (riskmap does all three in Python where they
# cannot be built: scripts/build-native says so and goes on)
NATIVE   = riskmap/sources/libhmac_many.so riskmap/sources/libplain_numbers.so \
           riskmap/indicators/libsuppression.so

.PHONY: demo test unit lint bench browser pdflibs clean

# Python keeps the modules it compiles: where the environment sets PYTHONDONTWRITEBYTECODE, every
# process would compile every module it imports again (pip installs without compiling up front),
# about a second per process that imports riskmap's pipeline
unexport PYTHONDONTWRITEBYTECODE

# uv installs the same packages as pip from the same index in a quarter of the time (12 against
# 42 s on a fresh checkout, most of `make test`'s setup); pip is the fallback
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	( $(BIN)/python -m pip install --quiet uv \
	  && $(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]' ) \
	  || $(BIN)/python -m pip install --quiet --no-compile -e '.[dev]'
	touch $(STAMP)

$(NATIVE) &: riskmap/sources/hmac_many.c riskmap/sources/plain_numbers.c \
             riskmap/indicators/suppression.c scripts/build-native
	scripts/build-native

demo: $(STAMP) $(NATIVE) pdflibs
	$(BIN)/riskmap demo --out out/demo

browser:
	scripts/ensure-chromium

pdflibs:
	scripts/ensure-pdf-libs

lint: $(STAMP)
	$(BIN)/ruff check riskmap tests bench
	$(BIN)/mypy riskmap

# lint runs beside the tests: the suite waits on the shared demo run now and then, and mypy
# fills those gaps; make fails when either fails
test: $(STAMP) $(NATIVE) browser pdflibs
	$(MAKE) --no-print-directory -j2 lint unit

unit: $(STAMP) $(NATIVE)
	$(BIN)/pytest -q -n 2 --dist loadfile

# national.py: 1M/3M/10M establishments on all buurten (~20 min; sources kept in bench/.data);
# writes bench/results/national-*.json and the tables of docs/performance.md.
bench: $(STAMP) $(NATIVE) browser
	$(BIN)/pytest -q -m slow
	for b in scoring hotspots speed; do if [ -f bench/$$b.py ]; then $(BIN)/python bench/$$b.py || exit 1; fi; done
	$(BIN)/python bench/national.py

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache $(NATIVE)
