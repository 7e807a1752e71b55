# herald: the two commands a new machine needs are `make run` and `make test`.
BUILD     ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS      ?= $(shell nproc)


.PHONY: all setup build run test unit integration sanitize asan fuzz format clean

all: build

setup:
	@scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Starts herald in the foreground with its embedded SQLite store in ./herald-data.
run: build
	@scripts/run.sh $(BUILD)/herald

# Every test: unit and integration tests, then one clang build with ASan+UBSan that runs the
# unit tests again and gives each fuzz target a short smoke run (scripts/sanitize.sh).
test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory sanitize

sanitize: setup
	@JOBS=$(JOBS) scripts/sanitize.sh $(FUZZ_BUILD)

unit: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

integration: build
	@cd $(BUILD) && ctest --output-on-failure -L integration

# The unit tests under gcc's ASan+UBSan alone (make test uses the clang build above).
asan: setup
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DHERALD_SANITIZE=ON \
	  -DHERALD_BUILD_SERVER=ON -DCMAKE_CXX_FLAGS="-O1" >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS) --target herald_unit_tests
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

fuzz: setup
	@scripts/fuzz-smoke.sh $(FUZZ_BUILD)

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
