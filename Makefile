# herald: the two commands a new machine needs are `make run` and `make test`.
BUILD     ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS      ?= $(shell nproc)


.PHONY: all setup build run test unit integration asan fuzz format clean

all: build

setup:
	@scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Starts herald in the foreground with its embedded SQLite store in ./herald-data.
run: build
	@scripts/run.sh $(BUILD)/herald

# Every test: unit and integration tests, the unit tests again under ASan+UBSan, and a short
# smoke run of each fuzz target.
test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory asan fuzz

unit: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

integration: build
	@cd $(BUILD) && ctest --output-on-failure -L integration

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
