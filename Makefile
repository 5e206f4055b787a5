# Entry points for a fresh Debian 12 machine. Each target installs missing Debian packages
# (tools/bootstrap.sh), configures and builds what it needs, then runs.
#
#   make seeds       build Release in build/release and run `attnn seeds` (ARGS="--full" etc.)
#   make test        build Release and run every test: the C++ tests (ctest), then the Python
#                    package installed into build/venv and its tests (pytest)
#   make test-cpp    only the C++ tests;  make test-python  only the Python package and its tests
#   make python      pip install the Python package (attnn) into build/venv
#   make test-asan   build build/asan with AddressSanitizer + UBSan and run every test there
#   make bench       run `attnn bench gemm` (attnn vs oneDNN, fractions of the measured peak)
#   make info        run `attnn info` (device, SIMD path, measured peak and bandwidth)
#   make install PREFIX=/opt/attnn    install the library, headers, CMake package and CLI
#   make install-check                install into a temporary prefix and build a consumer
#   make clean       remove build/release, build/asan, build/python and build/venv

BUILD_DIR ?= build/release
ASAN_DIR ?= build/asan
JOBS ?= 2
PREFIX ?= /usr/local
CMAKE_ARGS ?=
ARGS ?=

ATTNN := $(BUILD_DIR)/tools/attnn
PYTHON ?= python3
VENV ?= build/venv

.PHONY: all deps build seeds test test-cpp test-python python test-asan bench info install install-check clean

all: build

deps:
	@tools/bootstrap.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

seeds: build
	$(ATTNN) seeds $(ARGS)

test: test-cpp test-python

test-cpp: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# The Python package: `pip install .` (scikit-build-core + nanobind, fetched from PyPI into an
# isolated build environment) builds the same C++ library into attnn._attnn, in build/python.
python: deps
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check ".[test]"

test-python: python
	cd tests/python && ../../$(VENV)/bin/python -m pytest -q

# RelWithDebInfo keeps the sanitized tests fast enough for two cores and the reports readable.
test-asan: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTNN_SANITIZE=ON -DATTNN_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(ASAN_DIR) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_DIR) --output-on-failure -j $(JOBS)

bench: build
	$(ATTNN) bench gemm $(ARGS)

info: build
	$(ATTNN) info $(ARGS)

install: build
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)

# The installed package works for a consumer: find_package(attnn) and link attnn::attnn.
install-check: build
	rm -rf $(BUILD_DIR)/install-check
	cmake --install $(BUILD_DIR) --prefix $(CURDIR)/$(BUILD_DIR)/install-check/prefix
	cmake -S tests/install_consumer -B $(BUILD_DIR)/install-check/build \
	  -DCMAKE_PREFIX_PATH=$(CURDIR)/$(BUILD_DIR)/install-check/prefix
	cmake --build $(BUILD_DIR)/install-check/build -j $(JOBS)
	$(BUILD_DIR)/install-check/build/attnn_install_consumer

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) build/python $(VENV)
