#!/usr/bin/env bash
# AgingPipeline tests: installs Azurite when missing, builds the solution, runs every test project.
# The integration tests start their own Azurite instances on free loopback ports and stop them.
#   ./test.sh                      build the solution, run every tests/*/*.csproj
#   ./test.sh tests/X/X.csproj …   build and run only those test projects
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
LOCAL="$ROOT/.local"
AZURITE_VERSION="3.35.0"
RESULTS="$ROOT/artifacts/test-results"
mkdir -p "$LOCAL" "$RESULTS"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# Azurite's install (mostly waiting on the registry) runs while the build (all CPU) does; the tests wait for it.
npm_install=""
if [[ ! -x "$LOCAL/npm/node_modules/.bin/azurite" ]]; then
  echo "==> Installing Azurite $AZURITE_VERSION into .local/npm (alongside the build; output in .local/npm-install.log)"
  npm install --prefix "$LOCAL/npm" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >"$LOCAL/npm-install.log" 2>&1 &
  npm_install=$!
  trap 'kill "$npm_install" 2>/dev/null || true' EXIT
fi

shopt -s nullglob
if (($#)); then
  projects=("$@")
  for project in "${projects[@]}"; do
    echo "==> Building $project"
    dotnet build "$project" --nologo -v quiet
  done
else
  projects=(tests/*/*.csproj)
  echo "==> Building AgingPipeline.sln"
  dotnet build AgingPipeline.sln --nologo -v quiet
fi

# --- Browser tests (tests/AgingPipeline.BrowserTests): Debian's Chromium, installed when missing; never a
# browser downloaded by Playwright. ---
if [[ -n "$npm_install" ]]; then
  if ! wait "$npm_install"; then
    cat "$LOCAL/npm-install.log" >&2
    echo "Installing Azurite $AZURITE_VERSION with npm failed (output above); the tests need it." >&2
    exit 1
  fi
  cat "$LOCAL/npm-install.log"
fi

if [[ " ${projects[*]} " == *AgingPipeline.BrowserTests* ]]; then
  tests/AgingPipeline.BrowserTests/ensure-chromium.sh
fi
# --- end of browser tests block ---

passed=0 failed=0 skipped=0 status=0
for project in "${projects[@]}"; do
  name="$(basename "$project" .csproj)"
  echo "==> dotnet test $name"
  log="$RESULTS/$name.log"
  if ! dotnet test "$project" --no-build --nologo --logger "trx;LogFileName=$name.trx" --results-directory "$RESULTS" 2>&1 | tee "$log"; then
    status=1
  fi
  # "Passed!  - Failed:     0, Passed:    45, Skipped:     0, Total:    45, Duration: …"
  if summary="$(grep -E 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | tail -n 1)"; then
    failed=$((failed + $(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$summary")))
    passed=$((passed + $(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$summary")))
    skipped=$((skipped + $(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$summary")))
  else
    echo "No test summary for $name: it did not run." >&2
    status=1
  fi
done

# --- Model toolchain smoke test (render → 2 training steps → export → ONNX checks); never a real training.
# Uses Debian's Python with python3-torch/python3-onnx; training/setup.sh installs them when running as root. ---
if ((!$#)); then
  echo "==> model toolchain smoke test"
  if training/setup.sh; then
    if /usr/bin/python3 -m unittest discover -s training/tests -p 'test_*.py' -v 2>&1 | tee "$RESULTS/model-toolchain.log"; then
      passed=$((passed + $(grep -cE ' \.\.\. ok$' "$RESULTS/model-toolchain.log")))
    else
      failed=$((failed + 1))
      status=1
    fi
  else
    echo "Model toolchain packages are missing (see the line above); its smoke test did not run." >&2
    status=1
  fi
fi

if ((passed == 0)); then
  echo "No test ran." >&2
  status=1
fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
